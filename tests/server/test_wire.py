"""The wire protocol over the ASGI app: encodings, envelope, status rules (docs/protocol.md)."""

from __future__ import annotations

import json
import re
import time

import pytest
from starlette.testclient import TestClient

from tests.conftest import MakeAccount
from tests.support.calls import signed_json

ENVELOPE_KEYS = {"status", "code", "message", "handle_time"}


def assert_failure(response, http_status: int, code: int, message: str | None = None) -> dict:
    assert response.status_code == http_status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["status"] == "failure"
    assert body["code"] == code
    assert re.fullmatch(r"\d+\.\d{4} seconds", body["handle_time"])
    if message is not None:
        assert message in body["message"], body["message"]
    return body


def assert_success(response) -> dict:
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success", body
    assert body["code"] == 200
    assert re.fullmatch(r"\d+\.\d{4} seconds", body["handle_time"])
    return body


@pytest.fixture
def creds(make_account: MakeAccount):
    return make_account(158, apps=("demo-origin",))


@pytest.mark.parametrize("path", ["/stable/", "/stable", "/dev/"])
def test_multipart_form_like_php_curl(api: TestClient, creds, path: str) -> None:
    text = signed_json(creds, "video.getapps")
    response = api.post(path, files={"json": (None, text)})
    assert assert_success(response)["data"][0]["name"] == "demo-origin"


def test_urlencoded_form_like_perl(api: TestClient, creds) -> None:
    response = api.post("/stable/", data={"json": signed_json(creds, "video.getapps")})
    assert_success(response)


def test_raw_json_body(api: TestClient, creds) -> None:
    response = api.post(
        "/stable/",
        content=signed_json(creds, "video.getapps"),
        headers={"content-type": "application/json"},
    )
    assert_success(response)


def test_signature_accepted_without_padding(api: TestClient, creds) -> None:
    request = json.loads(signed_json(creds, "video.getapps"))
    assert request["signature"].endswith("=")
    text = signed_json(creds, "video.getapps").replace('="}', '"}')
    assert_success(api.post("/stable/", data={"json": text}))


def test_python_style_separators_verify(api: TestClient, creds) -> None:
    # json.dumps default ", " / ": " separators: the signature member is cut out exactly.
    from streampanel.protocol.signing import sign

    request = {
        "command": "video.getapps",
        "api_key": creds.api_key,
        "timestamp": int(time.time()),
        "cdn": creds.cdn,
        "path": "a/b",
        "t": "é",
    }
    text = json.dumps(request, ensure_ascii=False)
    request["signature"] = sign(text.encode(), creds.secret)
    assert_success(
        api.post(
            "/stable/",
            content=json.dumps(request, ensure_ascii=False).encode(),
            headers={"content-type": "application/json"},
        )
    )


def test_signature_first_member_verifies(api: TestClient, creds) -> None:
    from streampanel.protocol.signing import sign

    body = (
        f'{{"command":"video.getapps","api_key":"{creds.api_key}",'
        f'"timestamp":{int(time.time())},"cdn":{creds.cdn}}}'
    )
    signature = sign(body.encode(), creds.secret)
    text = f'{{"signature":"{signature}",{body[1:]}'
    assert_success(api.post("/stable/", data={"json": text}))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_405_envelope(api: TestClient, method: str) -> None:
    response = api.request(method, "/stable/")
    assert_failure(response, 405, 405)
    assert response.headers["allow"] == "POST"


def test_unknown_path_is_404_envelope(api: TestClient) -> None:
    assert_failure(api.get("/nope"), 404, 404)


def test_body_over_limit_is_413(api: TestClient, creds) -> None:
    big = "x" * (1024 * 1024 + 10)
    text = signed_json(creds, "video.getapps", pad=big)
    assert_failure(api.post("/stable/", data={"json": text}), 413, 413)
    assert_failure(api.post("/stable/", files={"json": (None, text)}), 413, 413)
    assert_failure(
        api.post("/stable/", content=text, headers={"content-type": "application/json"}), 413, 413
    )


def test_body_just_under_limit_is_accepted(api: TestClient, creds) -> None:
    # Bigger than python-multipart's and Starlette's default part limits (1 MiB) would allow.
    text = signed_json(creds, "video.getapps", pad="x" * (1024 * 1024 - 300))
    assert len(text) <= 1024 * 1024
    assert_success(api.post("/stable/", files={"json": (None, text)}))
    assert_success(api.post("/stable/", data={"json": text}))


def test_unsupported_media_type_is_415(api: TestClient) -> None:
    response = api.post("/stable/", content=b"<xml/>", headers={"content-type": "text/xml"})
    assert_failure(response, 415, 415)


def test_form_without_json_field(api: TestClient) -> None:
    assert_failure(api.post("/stable/", data={"other": "1"}), 200, 400, "'json'")


def test_invalid_utf8_is_rejected_before_parsing(api: TestClient, creds) -> None:
    text = signed_json(creds, "video.getapps").encode()
    bad = text.replace(b'"video.getapps"', b'"video.getapps\xff"')
    for response in (
        api.post("/stable/", files={"json": (None, bad)}),
        api.post(
            "/stable/",
            content=b"json=" + bad.replace(b"\xff", b"%FF"),
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        api.post("/stable/", content=bad, headers={"content-type": "application/json"}),
    ):
        assert_failure(response, 200, 400, "UTF-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"command":"a","command":"b"}', "duplicate key 'command'"),
        ('{"a":{"x":1,"x":2}}', "duplicate key 'x'"),
        ("[1,2]", "must be an object"),
        ('"just a string"', "must be an object"),
        ("{not json", "not valid JSON"),
        ('{"a":NaN}', "not valid JSON"),
        ("", "not valid JSON"),
        ("[" * 100000, "nested too deeply"),
    ],
)
def test_malformed_json(api: TestClient, text: str, message: str) -> None:
    assert_failure(api.post("/stable/", data={"json": text}), 200, 400, message)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ({"command": None}, "Missing required parameter 'command'"),
        ({"cdn": None}, "Missing required parameter 'cdn'"),
        ({"api_key": None}, "Missing required parameter 'api_key'"),
        ({"timestamp": None}, "Missing required parameter 'timestamp'"),
        ({"signature": None}, "Missing required parameter 'signature'"),
        ({"command": 5}, "Invalid parameter 'command'"),
        ({"cdn": "15x"}, "Invalid parameter 'cdn': expected an integer CDN id"),
        ({"cdn": True}, "Invalid parameter 'cdn'"),
        ({"cdn": 1.5}, "Invalid parameter 'cdn'"),
        ({"timestamp": "yesterday"}, "Invalid parameter 'timestamp'"),
        ({"api_key": ["x"]}, "Invalid parameter 'api_key'"),
        ({"signature": 12}, "Invalid parameter 'signature'"),
    ],
)
def test_missing_or_mistyped_required_members(api: TestClient, creds, mutation, message) -> None:
    request = json.loads(signed_json(creds, "video.getapps"))
    for key, value in mutation.items():
        if value is None:
            del request[key]
        else:
            request[key] = value
    assert_failure(api.post("/stable/", data={"json": json.dumps(request)}), 200, 400, message)


def test_numeric_strings_for_cdn_and_timestamp(api: TestClient, creds) -> None:
    text = signed_json(creds, "video.getapps", timestamp=str(int(time.time())))
    request = json.loads(text)
    assert isinstance(request["timestamp"], str)
    assert_success(api.post("/stable/", data={"json": text}))


def test_authentication_failures_all_look_the_same(
    api: TestClient, creds, make_account: MakeAccount
) -> None:
    other = make_account(777, apps=("other-app",))
    wrong_secret = signed_json(creds.__class__(creds.cdn, creds.api_key, "0" * 64), "video.getapps")
    unknown_key = signed_json(creds.__class__(creds.cdn, "NOPE", creds.secret), "video.getapps")
    # A valid key and secret of account 777, claiming cdn 158.
    foreign = signed_json(other.__class__(creds.cdn, other.api_key, other.secret), "video.getapps")
    bodies = [
        assert_failure(api.post("/stable/", data={"json": t}), 200, 401)
        for t in (wrong_secret, unknown_key, foreign)
    ]
    assert {b["message"] for b in bodies} == {"Authentication failed"}


def test_stale_timestamp_refused(api: TestClient, creds) -> None:
    stale = signed_json(creds, "video.getapps", timestamp=int(time.time()) - 301)
    body = assert_failure(api.post("/stable/", data={"json": stale}), 200, 401)
    # The caller proved the secret, so the message says why.
    assert "timestamp" in body["message"]
    future = signed_json(creds, "video.getapps", timestamp=int(time.time()) + 400)
    assert_failure(api.post("/stable/", data={"json": future}), 200, 401)


def test_stale_timestamp_with_bad_signature_reveals_nothing(api: TestClient, creds) -> None:
    bad = creds.__class__(creds.cdn, creds.api_key, "f" * 64)
    stale = signed_json(bad, "video.getapps", timestamp=int(time.time()) - 1000)
    body = assert_failure(api.post("/stable/", data={"json": stale}), 200, 401)
    assert body["message"] == "Authentication failed"


def test_tampered_body_refused(api: TestClient, creds) -> None:
    text = signed_json(creds, "video.getapps").replace('"cdn":158', '"cdn":158,"x":1')
    assert_failure(api.post("/stable/", data={"json": text}), 200, 401)


def test_revoked_key_refused(api: TestClient, creds, runtime) -> None:
    from streampanel.store import accounts

    with runtime.engine.begin() as conn:
        assert accounts.revoke_api_key(conn, creds.api_key)
    text = signed_json(creds, "video.getapps")
    assert_failure(api.post("/stable/", data={"json": text}), 200, 401)


def test_unknown_command_after_authentication(api: TestClient, creds) -> None:
    text = signed_json(creds, "video.nosuch")
    assert_failure(
        api.post("/stable/", data={"json": text}), 200, 404, "Unknown command 'video.nosuch'"
    )


def test_unknown_members_are_ignored(api: TestClient, creds) -> None:
    text = signed_json(creds, "video.getapps", extra={"a": [1, 2]}, flag=True)
    assert_success(api.post("/stable/", data={"json": text}))


def test_healthz_and_metrics(api: TestClient, creds) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    api.post("/stable/", data={"json": signed_json(creds, "video.getapps")})
    metrics = api.get("/metrics").text
    assert 'streampanel_requests_total{code="200",command="video.getapps"}' in metrics
    assert "streampanel_request_seconds_bucket" in metrics


def test_an_unexpected_error_is_a_500_envelope_without_a_traceback(
    api: TestClient, creds, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("secret internals /srv/streampanel")

    monkeypatch.setattr(api.app.api.dispatcher, "prepare", explode)  # type: ignore[attr-defined]
    response = api.post("/stable/", data={"json": signed_json(creds, "video.getapps")})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["status"], body["code"], body["message"]) == ("failure", 500, "Internal error")
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_a_client_gone_before_its_body_arrived_gets_no_answer(api: TestClient) -> None:
    app = api.app
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/stable/", "headers": []}
    api.portal.call(app, scope, receive, send)  # type: ignore[union-attr]
    assert sent == []
