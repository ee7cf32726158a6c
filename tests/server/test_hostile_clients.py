"""What a client can make a real server (uvicorn, one process) hold or write, whatever it sends:
a chunked body far over the limit on every POST route keeps the server's memory flat and is
answered 413; unauthenticated requests with megabyte command names grow neither ``/metrics``
nor the log by more than a few KiB."""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from streampanel.runtime import Runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import issue_ingest_token
from tests.conftest import Credentials, MakeAccount, in_process_app, server_env
from tests.support.calls import signed_json
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
# Far over every route's limit (the largest, the agents' intake, is 16 MiB).
OVERSIZED = 200 * MIB
# What a route may hold while refusing it: its own limit, a copy, the interpreter's noise.
MEMORY_MARGIN = 64 * MIB
# Routes that read no body at all (nothing to bound) or refuse in their own protocol: a
# streaming server's notification (nginx-rtmp) is refused with 403.  Every other POST route
# answers an oversized body 413.
ANSWERS = {
    "/panel/logout": {303},
    "/panel/api/youtube-jobs": {200},
    "/sevu/rtmp/play": {403},
    "/sevu/rtmp/publish": {403},
}
FORM_ROUTES = {"/panel/login", "/sevu/rtmp/play", "/sevu/rtmp/publish"}


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile") / "server.log"


@pytest.fixture(scope="module")
def server(
    store_settings: Settings, session_runtime: Runtime, server_log: Path
) -> Iterator[LiveServer]:
    """A server of its own, logging at INFO (the access log), without background services."""
    env = {
        **server_env(store_settings),
        "STREAMPANEL_BACKGROUND_SERVICES": "false",
        "STREAMPANEL_LOG_LEVEL": "info",
    }
    live = LiveServer(env, server_log)
    live.start()
    yield live
    live.stop()


def _peak_rss(pid: int) -> int:
    """The process's peak resident size in bytes since the last reset."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    assert match is not None
    return int(match[1]) * 1024


def _reset_peak_rss(pid: int) -> None:
    # Linux: writing 5 to clear_refs resets VmHWM to the current resident size.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _post_routes(runtime: Runtime) -> list[str]:
    """Every POST path the app serves: the API endpoint's and each route's."""

    def walk(routes: list[BaseRoute], prefix: str) -> Iterator[str]:
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(list(route.routes or []), prefix + route.path)
            elif isinstance(route, Route) and "POST" in (route.methods or set()):
                yield prefix + route.path

    app = in_process_app(runtime)
    paths = ["/stable/", *walk(list(app.rest.routes), "")]
    assert not [p for p in paths if "{" in p], paths
    return paths


def _send_chunked(port: int, path: str, headers: dict[str, str], total: int) -> int | None:
    """POST ``total`` bytes in 1 MiB chunks, stopping as soon as the server answers; the
    status it answered (None if it closed without one)."""
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(head.encode("latin-1") + b"\r\n")
        chunk = b"%x\r\n" % MIB + b" " * MIB + b"\r\n"
        sent = 0
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += MIB
            if sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        sock.settimeout(30)
        answer = b""
        try:
            while b"\r\n" not in answer:
                received = sock.recv(65536)
                if not received:
                    break
                answer += received
        except ConnectionResetError:
            pass
    finally:
        sock.close()
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(match[1]) if match else None


def _panel_cookie(server: LiveServer, creds: Credentials) -> str:
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        form = client.get("/panel/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token is not None
        signed_in = client.post(
            "/panel/login",
            data={
                "cdn": str(creds.cdn),
                "api_key": creds.api_key,
                "secret": creds.secret,
                "login_token": token[1],
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def test_an_oversized_chunked_body_is_refused_on_every_post_route_with_memory_flat(
    server: LiveServer, runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live",))
    with write_transaction(runtime.engine) as conn:
        token = issue_ingest_token(conn, accounts.get_or_create_server(conn, "PAR", "Paris"))
    # Credentials everywhere, so a route refuses the body for its size, not for who sent it.
    credentials = {"Authorization": f"Bearer {token}", "Cookie": _panel_cookie(server, creds)}
    assert server.process is not None
    pid = server.process.pid
    routes = _post_routes(runtime)
    assert {"/stable/", "/viewers/push", "/panel/api/call", "/panel/login"} <= set(routes)
    results = {}
    for path in routes:
        kind = "application/x-www-form-urlencoded" if path in FORM_ROUTES else "application/json"
        _reset_peak_rss(pid)
        before = _peak_rss(pid)
        status = _send_chunked(server.port, path, {**credentials, "Content-Type": kind}, OVERSIZED)
        grown = _peak_rss(pid) - before
        results[path] = (status, grown // MIB)
        assert status in ANSWERS.get(path, {413}), (path, status)
        assert grown < MEMORY_MARGIN, (path, f"peak RSS grew by {grown // MIB} MiB")
    # The server is still there, answering.
    assert httpx.get(f"{server.url}/healthz").status_code == 200, results


def _post_json(server: LiveServer, text: str) -> httpx.Response:
    return httpx.post(
        server.api_url, content=text.encode(), headers={"content-type": "application/json"}
    )


def _metrics_size(server: LiveServer) -> int:
    return len(httpx.get(f"{server.url}/metrics").content)


def test_megabyte_command_names_grow_neither_metrics_nor_the_log(
    server: LiveServer, server_log: Path, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live",))
    log = server_log
    # A first request of each kind, so the series they belong to exist before measuring.
    _post_json(server, signed_json(creds, "no.such.command", secret="0" * 64))
    _post_json(server, signed_json(creds, "no.such.command"))
    time.sleep(0.2)
    metrics_before, log_before = _metrics_size(server), log.stat().st_size
    name = "c" * (MIB - 1024)  # the request's JSON within the 1 MiB limit
    for attempt in range(10):
        # Unauthenticated: half with a wrong secret, half with an unknown key.
        stranger = Credentials(creds.cdn, "NOSUCHKEY", creds.secret)
        text = signed_json(creds if attempt % 2 else stranger, name, secret="0" * 64)
        response = _post_json(server, text)
        assert response.json()["code"] == 401
        assert name[:1000] not in response.text
    # Signed, the unknown command is a 404 and one line naming it, cut.
    response = _post_json(server, signed_json(creds, name))
    assert response.json()["code"] == 404
    time.sleep(0.2)
    metrics_grown = _metrics_size(server) - metrics_before
    log_grown = log.stat().st_size - log_before
    assert metrics_grown < 2 * 1024, metrics_grown
    assert log_grown < 8 * 1024, log_grown
    assert log_grown > 0  # the requests were logged (at INFO), only bounded
    tail = log.read_text(errors="replace")[-log_grown:]
    assert "unknown command 'cccc" in tail and f"({len(name)} characters)" in tail
