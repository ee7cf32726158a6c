"""Property-based tests of the whole request path (HTTP body → envelope): random and mutated
bodies, encodings, field types, nesting depths and sizes never produce a 500, an answer that
is not the envelope, or a success without a valid signature."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from streampanel.commands import REGISTRY
from streampanel.protocol.signing import split_signature
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount, in_process_app
from tests.fuzz.conftest import CASES
from tests.support.calls import signed_json

FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data",
    "text/plain",
    "",
    "application/json; charset=latin-1",
]
ENVELOPE = {"status", "code", "message", "handle_time"}


@pytest.fixture
def fuzz_api(
    runtime: Runtime, make_account: MakeAccount
) -> Iterator[tuple[TestClient, Credentials]]:
    creds = make_account(158, apps=("demo-origin", "demo-live"), storage_users=("demo",))
    make_account(159, apps=("other-origin",), storage_users=("other",))
    # Fuzzing sends thousands of requests with one key: no rate limit here.
    app = in_process_app(runtime, rate_limit_per_second=0)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client, creds


def check_envelope(response: Any) -> dict[str, Any]:
    assert response.status_code in {200, 400, 404, 405, 413, 415, 429}, response.status_code
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert body["status"] in {"success", "failure"}
    assert body["code"] != 500, body
    if body["status"] == "failure":
        assert set(body) == ENVELOPE, body
    return body


def post(client: TestClient, content_type: str, body: bytes) -> dict[str, Any]:
    headers = {"content-type": content_type} if content_type else {}
    return check_envelope(client.post("/stable/", content=body, headers=headers))


def wrap(encoding: str, text: bytes) -> tuple[str, bytes]:
    if encoding == "json":
        return "application/json", text
    if encoding == "urlencoded":
        from urllib.parse import quote_from_bytes

        return "application/x-www-form-urlencoded", b"json=" + quote_from_bytes(text).encode()
    part = b'--B\r\nContent-Disposition: form-data; name="json"\r\n\r\n' + text + b"\r\n--B--\r\n"
    return "multipart/form-data; boundary=B", part


def signed(creds: Credentials, command: str, **params: Any) -> str:
    return signed_json(creds, command, **params)


# One signed original per key: replayed examples must see the same bytes.
ORIGINALS: dict[str, bytes] = {}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@FUZZ
@given(body=st.binary(max_size=2048), content_type=st.sampled_from(CONTENT_TYPES))
def test_random_bytes(fuzz_api, body: bytes, content_type: str) -> None:
    client, _ = fuzz_api
    CASES["random bytes"] += 1
    assert post(client, content_type, body)["status"] == "failure"


@FUZZ
@given(value=json_values, encoding=st.sampled_from(["json", "urlencoded", "multipart"]))
def test_random_json(fuzz_api, value: Any, encoding: str) -> None:
    client, _ = fuzz_api
    CASES["random JSON documents"] += 1
    assert post(client, *wrap(encoding, json.dumps(value).encode()))["status"] == "failure"


@FUZZ
@given(depth=st.integers(1, 5000), kind=st.sampled_from(["[", '{"a":']))
def test_nesting_depths(fuzz_api, depth: int, kind: str) -> None:
    client, creds = fuzz_api
    CASES["nesting depths"] += 1
    closing = "]" if kind == "[" else "}"
    nested = kind * depth + "1" + closing * depth
    text = signed(creds, "video.getapps").replace('"cdn"', f'"deep":{nested},"cdn"', 1)
    assert post(client, *wrap("json", text.encode()))["status"] == "failure"


@FUZZ
@given(
    command=st.sampled_from(sorted(REGISTRY)),
    params=st.dictionaries(
        st.sampled_from(
            [
                "app",
                "url",
                "starttime",
                "endtime",
                "cpu",
                "limit",
                "offset",
                "id",
                "path",
                "title",
                "tags",
                "visibility",
                "acl",
                "bucket",
                "metadata",
                "callback",
                "destination_path",
                "description",
                # sevu.*
                "key",
                "pass",
                "video",
                "ip",
                "uses",
                "expire",
                "expires",
                "success",
                "seek",
                "stream",
                "user",
                "streamuser_id",
                "record",
                "segment_type",
                "segment_value",
                "extra",
            ]
        ),
        json_values,
        max_size=6,
    ),
    encoding=st.sampled_from(["json", "urlencoded", "multipart"]),
)
def test_signed_requests_with_random_parameters(
    fuzz_api, command: str, params: dict, encoding: str
) -> None:
    client, creds = fuzz_api
    CASES["signed requests, random parameters"] += 1
    body = post(client, *wrap(encoding, signed(creds, command, **params).encode()))
    assert body["code"] in {200, 400, 403, 404, 409}, body


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "replace"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[position : position + draw(st.integers(1, 8))]
        elif data:
            data[position] = draw(st.sampled_from(b' ,:"\\{}[]0aA=/'))
    return bytes(data)


@FUZZ
@given(data=st.data(), encoding=st.sampled_from(["json", "urlencoded", "multipart"]))
def test_mutated_signed_requests_never_succeed_unless_equivalent(fuzz_api, data, encoding) -> None:
    client, creds = fuzz_api
    CASES["mutated signed requests"] += 1
    original = ORIGINALS.setdefault(
        creds.api_key, signed(creds, "video.getapps", note="café / ☕", n=[1, 2.5]).encode()
    )
    mutated = data.draw(mutations(original))
    body = post(client, *wrap(encoding, mutated))
    if body["status"] == "success":
        # Only a change to the signature member's own whitespace keeps the signed text.
        before, after = split_signature(original), split_signature(mutated)
        assert after.signed_text == before.signed_text
        assert after.signature.rstrip("=") == before.signature.rstrip("=")


@FUZZ
@given(
    size=st.integers(0, 3 * 1024 * 1024),
    encoding=st.sampled_from(["json", "urlencoded", "multipart"]),
)
def test_sizes(fuzz_api, size: int, encoding: str) -> None:
    client, creds = fuzz_api
    CASES["body sizes"] += 1
    text = signed(creds, "video.getapps", pad="x" * size).encode()
    body = post(client, *wrap(encoding, text))
    if len(text) > 1024 * 1024:
        assert body["code"] == 413
    else:
        assert body["status"] == "success"


@pytest.mark.parametrize("value", [10**20, -(10**20), "99999999999999999999", 253402300800])
def test_absurd_unix_seconds_are_a_400(fuzz_api, value: Any) -> None:
    client, creds = fuzz_api
    for command, params in (
        ("video.servers", {"app": "demo-origin", "starttime": value}),
        ("disk.usage", {"cpu": "", "starttime": value}),
        ("viewer.livedetailed", {"app": "demo-origin", "url": "*", "starttime": value}),
    ):
        body = post(client, *wrap("json", signed(creds, command, **params).encode()))
        assert body["code"] == 400, body
        assert "'starttime'" in body["message"]
