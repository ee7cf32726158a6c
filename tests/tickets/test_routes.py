"""The decision routes over real HTTP (uvicorn, both stores), as nginx and nginx-rtmp call
them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from streampanel.runtime import Runtime
from streampanel.tickets.links import LINK_PURPOSE, segment_token
from tests.conftest import Credentials, MakeAccount, in_process_app
from tests.support.calls import dispatch
from tests.support.server import LiveServer

VIEWER = "203.0.113.7"


@pytest.fixture
def creds(make_account: MakeAccount) -> Credentials:
    return make_account(158, apps=("live",))


def ticket(runtime: Runtime, creds: Credentials, **params: Any) -> str:
    values = {"app": "live", "video": "cam*", "pass": "pw", "ip": "0.0.0.0/0", "uses": 0}
    answer = dispatch(runtime, creds, "sevu.request", **{**values, **params})
    assert answer["status"] == "success", answer
    return str(answer["ticket"]["key"])


def hls_headers(uri: str, video: str = "cam", **extra: str) -> dict[str, str]:
    return {
        "X-Real-IP": VIEWER,
        "X-Original-URI": uri,
        "X-Sevu-App": "live",
        "X-Sevu-Video": video,
        **extra,
    }


def start(live: LiveServer, uri: str, **extra: str) -> httpx.Response:
    return httpx.get(
        f"{live.url}/sevu/hls/start", headers=hls_headers(uri, **extra), follow_redirects=False
    )


def check(live: LiveServer, uri: str, **extra: str) -> httpx.Response:
    return httpx.get(f"{live.url}/sevu/hls/check", headers=hls_headers(uri, **extra))


def test_an_hls_start_redirects_to_the_session(
    live_api: LiveServer, runtime: Runtime, creds: Credentials
) -> None:
    key = ticket(runtime, creds, uses=1)
    answer = start(live_api, f"/hls/live/cam/index.m3u8?key={key}&pass=pw")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith("/hls/live/cam/index.m3u8?s=")
    assert answer.headers["cache-control"] == "no-store"
    session = location.split("?s=", 1)[1]

    checked = check(
        live_api, f"/hls/live/cam/index.m3u8?s={session}", **{"X-Sevu-Segment-Seconds": "60"}
    )
    assert checked.status_code == 200
    query = dict(part.split("=", 1) for part in checked.headers["x-sevu-query"].split("&"))
    assert query["s"] == session
    expires = int(query["e"])
    assert time.time() + 50 < expires <= time.time() + 61
    secret = runtime.box.derive_key(LINK_PURPOSE).hex()
    assert query["t"] == segment_token(secret, expires, "live", "cam", VIEWER)

    # The one use is gone: a second start is refused, the session goes on.
    assert start(live_api, f"/hls/live/cam/index.m3u8?key={key}&pass=pw").status_code == 403
    assert check(live_api, f"/hls/live/cam/index.m3u8?s={session}").status_code == 200
    log = dispatch(runtime, creds, "sevu.errorlog", key=key)["data"]
    assert [(r["success"], r["reason"]) for r in log] == [(1, ""), (0, "Maximum uses reached")]


@pytest.mark.parametrize(
    "uri",
    [
        "/hls/live/cam/index.m3u8",
        "/hls/live/cam/index.m3u8?key=cam_.nosuch.1&pass=pw",
        "/hls/live/cam/index.m3u8?s=1.2.3.forged",
    ],
)
def test_refusals_are_403(
    live_api: LiveServer, runtime: Runtime, creds: Credentials, uri: str
) -> None:
    assert start(live_api, uri).status_code == 403
    assert check(live_api, uri).status_code == 403


def test_a_wrong_pass_and_a_session_from_elsewhere(
    live_api: LiveServer, runtime: Runtime, creds: Credentials
) -> None:
    key = ticket(runtime, creds)
    assert start(live_api, f"/hls/live/cam/index.m3u8?key={key}&pass=nope").status_code == 403
    location = start(live_api, f"/hls/live/cam/index.m3u8?key={key}&pass=pw").headers["location"]
    moved = hls_headers(location, **{"X-Real-IP": "198.51.100.1"})
    assert httpx.get(f"{live_api.url}/sevu/hls/check", headers=moved).status_code == 403


def test_a_redirect_never_leaves_the_server(
    live_api: LiveServer, runtime: Runtime, creds: Credentials
) -> None:
    key = ticket(runtime, creds)
    for path in ("//evil.example/x.m3u8", "/\\evil.example/x.m3u8", "relative.m3u8"):
        assert start(live_api, f"{path}?key={key}&pass=pw").status_code == 403


def test_rtmp_play_and_publish(live_api: LiveServer, runtime: Runtime, creds: Credentials) -> None:
    key = ticket(runtime, creds, uses=2)
    form = {"call": "play", "addr": VIEWER, "app": "live", "name": "cam", "key": key, "pass": "pw"}
    assert httpx.post(f"{live_api.url}/sevu/rtmp/play", data=form).status_code == 200
    # The ticket on the connection URL instead of the play name.
    on_connection = {
        "call": "play",
        "addr": VIEWER,
        "app": "live",
        "name": "cam",
        "tcurl": f"rtmp://127.0.0.1/live?key={key}&pass=pw",
    }
    assert httpx.post(f"{live_api.url}/sevu/rtmp/play", data=on_connection).status_code == 200
    assert httpx.post(f"{live_api.url}/sevu/rtmp/play", data=form).status_code == 403
    log = dispatch(runtime, creds, "sevu.errorlog", key=key)["data"]
    assert [(r["protocol"], r["success"]) for r in log] == [("rtmp", 1), ("rtmp", 1), ("rtmp", 0)]

    added = dispatch(
        runtime,
        creds,
        "sevu.addstreamuser",
        app="live",
        stream="cam",
        user="encoder",
        **{"pass": "s3cret"},
    )
    assert added["status"] == "success"
    publish = {"call": "publish", "addr": VIEWER, "app": "live", "name": "cam"}
    url = f"{live_api.url}/sevu/rtmp/publish"
    assert httpx.post(url, data={**publish, "user": "encoder", "pass": "s3cret"}).status_code == 200
    assert httpx.post(url, data={**publish, "user": "encoder", "pass": "wrong"}).status_code == 403
    assert httpx.post(url, data=publish).status_code == 403
    other_stream = {**publish, "name": "dog", "user": "encoder", "pass": "s3cret"}
    assert httpx.post(url, data=other_stream).status_code == 403


def test_callers_outside_the_trusted_servers_are_refused(
    runtime: Runtime, creds: Credentials
) -> None:
    # The in-process client's address is no IP of a streaming server.
    key = ticket(runtime, creds)
    with TestClient(in_process_app(runtime)) as client:
        answer = client.get(
            "/sevu/hls/start",
            headers=hls_headers(f"/hls/live/cam/index.m3u8?key={key}&pass=pw"),
            follow_redirects=False,
        )
        assert answer.status_code == 403
        form = {"addr": VIEWER, "app": "live", "name": "cam", "key": key, "pass": "pw"}
        assert client.post("/sevu/rtmp/play", data=form).status_code == 403
    # Nothing was decided: no use, no attempt.
    assert dispatch(runtime, creds, "sevu.status", key=key)["ticket"]["used"] == 0
    assert dispatch(runtime, creds, "sevu.errorlog", key=key)["data"] == []


def test_a_store_outage_is_a_503(runtime: Runtime) -> None:
    import asyncio

    from sqlalchemy import create_engine

    from streampanel.tickets.gate import TicketGate
    from streampanel.tickets.routes import HlsCheck, HlsStart, RtmpPlay, RtmpPublish
    from streampanel.tickets.routes import _TrustedServers as Trusted

    down = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    gate = TicketGate(runtime.settings, down, b"k" * 32, "secret")
    trusted = Trusted(["127.0.0.1/32"])
    session = gate.sessions.issue(1, int(time.time()) + 60, int(time.time()), VIEWER)
    requests = [
        (HlsStart(gate, trusted), "/hls/live/cam/index.m3u8?key=k&pass=p", b""),
        (HlsCheck(gate, trusted), f"/hls/live/cam/index.m3u8?s={session}", b""),
        (RtmpPlay(gate, trusted), "", b"addr=203.0.113.7&app=live&name=cam&key=k&pass=p"),
        (RtmpPublish(gate, trusted), "", b"addr=203.0.113.7&app=live&name=cam&user=u&pass=p"),
    ]

    async def status(app: Any, uri: str, body: bytes) -> int:
        headers = [(k.lower().encode(), v.encode()) for k, v in hls_headers(uri).items()]
        scope = {"type": "http", "client": ("127.0.0.1", 5000), "headers": headers}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])

    try:
        for app, uri, body in requests:
            assert asyncio.run(status(app, uri, body)) == 503, app
    finally:
        down.dispose()
