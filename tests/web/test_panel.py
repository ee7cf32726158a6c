"""/panel over the ASGI app: signing in, the session cookie, and the JSON calls answering
exactly what the API answers the same key (both stores)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store import uploads as upload_store
from streampanel.store.engine import write_transaction
from streampanel.web import session
from tests.conftest import Credentials, MakeAccount, in_process_app
from tests.support.calls import signed_json


def _client(runtime: Runtime, key_cache_seconds: float) -> TestClient:
    app = in_process_app(runtime, key_cache_seconds=key_cache_seconds)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def web(runtime: Runtime) -> Iterator[TestClient]:
    """The app with key lookups uncached: a revoked key fails on its next call."""
    with _client(runtime, 0) as client:
        yield client


@pytest.fixture
def creds(make_account: MakeAccount) -> Credentials:
    return make_account(158, apps=("demo-origin", "demo-live"), storage_users=("jb",))


def login(web: TestClient, cdn: Any, api_key: str, secret: str) -> httpx.Response:
    form = web.get("/panel/login")
    assert form.status_code == 200
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    return web.post(
        "/panel/login",
        data={"cdn": str(cdn), "api_key": api_key, "secret": secret, "login_token": token[1]},
    )


def panel_call(web: TestClient, command: str, **params: Any) -> httpx.Response:
    return web.post("/panel/api/call", json={"command": command, "params": params})


def call_with_cookie(web: TestClient, cookie: str, command: str = "video.getapps") -> int:
    """The status of a panel call carrying exactly this session cookie."""
    web.cookies.clear()
    return web.post(
        "/panel/api/call",
        json={"command": command, "params": {}},
        headers={"Cookie": f"{session.COOKIE}={cookie}"},
    ).status_code


def test_sign_in_sets_a_sealed_httponly_strict_cookie(web: TestClient, creds: Credentials) -> None:
    response = login(web, creds.cdn, creds.api_key, creds.secret)
    assert response.status_code == 303
    assert response.headers["location"] == "./"
    cookies = [h for h in response.headers.get_list("set-cookie") if h.startswith(session.COOKIE)]
    assert len(cookies) == 1
    cookie = cookies[0]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/panel/" in cookie
    # Sealed: neither the secret nor the key can be read from it.
    assert creds.secret not in cookie and creds.api_key not in cookie
    page = web.get("/panel/")
    assert page.status_code == 200
    assert "account <strong>158</strong>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: everything from /panel/assets/


@pytest.mark.parametrize(
    "change", [{"secret": "0" * 64}, {"cdn": 159}, {"api_key": "NOPE"}, {"cdn": "x"}]
)
def test_wrong_credentials_get_one_answer(
    web: TestClient, creds: Credentials, make_account: MakeAccount, change: dict[str, Any]
) -> None:
    make_account(159)
    values = {"cdn": creds.cdn, "api_key": creds.api_key, "secret": creds.secret, **change}
    response = login(web, **values)
    assert response.status_code == 401
    assert "Sign-in failed." in response.text
    assert session.COOKIE not in response.headers.get("set-cookie", "").split("=")[0]
    assert web.get("/panel/").status_code == 303


def test_sign_in_needs_the_form_token(web: TestClient, creds: Credentials) -> None:
    response = web.post(
        "/panel/login",
        data={"cdn": "158", "api_key": creds.api_key, "secret": creds.secret, "login_token": "x"},
    )
    assert response.status_code == 400
    assert web.get("/panel/").headers["location"] == "login"


def test_the_secret_is_never_in_a_url(web: TestClient) -> None:
    form = web.get("/panel/login").text
    assert '<form method="post" action="login"' in form
    assert 'type="password"' in form


def test_calls_answer_what_the_api_answers(web: TestClient, creds: Credentials) -> None:
    login(web, creds.cdn, creds.api_key, creds.secret)
    for command, params in [
        ("video.getapps", {}),
        ("video.servers", {"app": ["demo-origin", "demo-live"]}),
        ("disk.usage", {"cpu": "", "starttime": "2024-03-01"}),
        ("viewer.livedetailed", {"app": "demo-live", "url": "*"}),
        ("aws.status", {"limit": 5}),
        ("video.servers", {"app": "not-mine"}),
        ("disk.usage", {"cpu": ""}),
    ]:
        mine = panel_call(web, command, **params).json()
        api = web.post("/stable/", data={"json": signed_json(creds, command, **params)}).json()
        for body in (mine, api):
            body.pop("handle_time")
        assert mine == api, command


def test_the_panel_only_reads(web: TestClient, creds: Credentials) -> None:
    login(web, creds.cdn, creds.api_key, creds.secret)
    body = panel_call(web, "aws.upload", path="sestore1/jb/a.mp4").json()
    assert body["code"] == 403
    assert panel_call(web, "no.such").json()["code"] == 404


def test_calls_need_a_valid_session(web: TestClient, runtime: Runtime, creds: Credentials) -> None:
    assert panel_call(web, "video.getapps").status_code == 401
    login(web, creds.cdn, creds.api_key, creds.secret)
    assert panel_call(web, "video.getapps").json()["status"] == "success"
    # Not JSON: a cross-site form cannot post it without a CORS preflight.
    assert web.post("/panel/api/call", data={"command": "video.getapps"}).status_code == 400
    good = web.cookies[session.COOKIE]
    assert call_with_cookie(web, good) == 200
    assert call_with_cookie(web, good[:-8] + "AAAAAAAA") == 401
    assert call_with_cookie(web, "") == 401
    with write_transaction(runtime.engine) as conn:
        assert accounts.revoke_api_key(conn, creds.api_key)
    assert call_with_cookie(web, good) == 401


def test_sessions_expire(web: TestClient, runtime: Runtime, creds: Credentials) -> None:
    with runtime.engine.connect() as conn:
        key = accounts.find_active_key(conn, runtime.box, creds.api_key)
    assert key is not None
    assert call_with_cookie(web, session.issue(runtime.box, key, time.time(), -1)) == 401
    assert call_with_cookie(web, session.issue(runtime.box, key, time.time(), 60)) == 200


def test_sign_out_ends_the_session(web: TestClient, creds: Credentials) -> None:
    login(web, creds.cdn, creds.api_key, creds.secret)
    assert web.post("/panel/logout").status_code == 303
    assert panel_call(web, "video.getapps").status_code == 401


def test_youtube_jobs_are_the_accounts_own(
    web: TestClient, runtime: Runtime, creds: Credentials, make_account: MakeAccount
) -> None:
    other = make_account(159)
    with write_transaction(runtime.engine) as conn:
        ids = {
            cdn: upload_store.create_job(
                conn, {"kind": "youtube", "account_id": cdn, "path": "sestore1/jb/a.mp4"}
            )
            for cdn in (creds.cdn, other.cdn)
        }
    login(web, creds.cdn, creds.api_key, creds.secret)
    assert web.post("/panel/api/youtube-jobs", json={}).json()["data"] == [ids[creds.cdn]]
    record = panel_call(web, "youtube.status", id=ids[creds.cdn]).json()["data"]
    assert record["state"] == "queued"
    assert panel_call(web, "youtube.status", id=ids[other.cdn]).json()["code"] == 404


def test_assets_are_served_by_the_package(web: TestClient) -> None:
    for name, kind in [
        ("charts.js", "javascript"),
        ("panel.js", "javascript"),
        ("panel.css", "css"),
    ]:
        response = web.get(f"/panel/assets/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert "http" not in web.get("/panel/login").text.replace("http-equiv", "")


def test_session_lookups_are_cached_like_api_keys(runtime: Runtime, creds: Credentials) -> None:
    # As for API requests, a revoked key keeps working for at most key_cache_seconds.
    with _client(runtime, 60) as web:
        login(web, creds.cdn, creds.api_key, creds.secret)
        token = web.cookies[session.COOKIE]
        assert call_with_cookie(web, token) == 200
        with write_transaction(runtime.engine) as conn:
            assert accounts.revoke_api_key(conn, creds.api_key)
        assert call_with_cookie(web, token) == 200
        assert call_with_cookie(web, token[:-8] + "AAAAAAAA") == 401


def test_a_session_of_another_secret_is_refused(runtime: Runtime, creds: Credentials) -> None:
    with runtime.engine.connect() as conn:
        key = accounts.find_active_key(conn, runtime.box, creds.api_key)
    assert key is not None
    forged = session.issue(runtime.box, replace(key, secret="0" * 64), time.time(), 60)
    with _client(runtime, 0) as web:
        assert call_with_cookie(web, forged) == 401


def test_a_read_only_key_can_use_the_panel(web: TestClient, make_account: MakeAccount) -> None:
    reader = make_account(160, apps=("ro-live",), read_only=True)
    assert login(web, reader.cdn, reader.api_key, reader.secret).status_code == 303
    body = panel_call(web, "video.getapps").json()
    assert [a["name"] for a in body["data"]] == ["ro-live"]
