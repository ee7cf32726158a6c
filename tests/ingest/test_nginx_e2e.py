"""End to end with Debian's nginx: two nginx servers (one logging in UTC, one in +0545)
serve files of known sizes for two applications; a client fetches a known set (full files,
a range, a HEAD, a 404, an unknown application); both access logs go through the real
``streampanel ingest``; ``video.servers`` over HTTP equals, per server and day, the body
bytes nginx sent and the request counts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from streampanel.client import Client
from streampanel.settings import Settings
from tests.conftest import MakeAccount, server_env
from tests.support.postgres import free_port
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

FILES = {
    "alpha/index.m3u8": 321,
    "alpha/a1.ts": 1000,
    "alpha/a2.ts": 123_457,
    "beta/b1.mp4": 2 * 1024 * 1024 + 7,
    "beta/b2.ts": 5555,
}
NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  access_log {dir}/access.log combined;
  server {{
    listen 127.0.0.1:{port};
    root {www};
  }}
}}
"""


class Nginx:
    def __init__(self, name: str, base: Path, www: Path, tz: str):
        self.dir = base / name
        self.dir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.dir / "access.log"
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, dir=self.dir, port=self.port, www=www))
        with (self.dir / "stdout.log").open("wb") as out:
            self.process = subprocess.Popen(
                ["nginx", "-c", str(conf), "-p", str(self.dir)],
                env={"TZ": tz, "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin")},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError((self.dir / "error.log").read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def nginx_pair(tmp_path: Path) -> Iterator[tuple[Nginx, Nginx]]:
    if not shutil.which("nginx"):
        pytest.fail("needs Debian's nginx package")
    www = tmp_path / "www"
    for name, size in FILES.items():
        (www / name).parent.mkdir(parents=True, exist_ok=True)
        (www / name).write_bytes(os.urandom(size))
    servers = []
    try:
        servers.append(Nginx("EDGE-A", tmp_path, www, "UTC"))
        servers.append(Nginx("EDGE-B", tmp_path, www, "Asia/Kathmandu"))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def fetch(server: Nginx, plan: list[tuple[str, str, dict[str, str]]]) -> Counter[tuple[str, str]]:
    """Run the requests; returns (application, 'bytes'|'requests') -> what the client got."""
    got: Counter[tuple[str, str]] = Counter()
    with httpx.Client(base_url=server.url) as client:
        for method, path, headers in plan:
            response = client.request(method, path, headers=headers)
            app = path.split("/")[1]
            got[(app, "bytes")] += len(response.content)
            got[(app, "requests")] += 1
    return got


def ingest(settings: Settings, server: str, log: Path) -> str:
    command = [sys.executable, "-m", "streampanel", "ingest", "access-log", "--create-server"]
    result = subprocess.run(
        [*command, "--server", server, str(log)],
        env={**os.environ, **server_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_video_servers_equals_what_nginx_sent(
    live_api: LiveServer,
    make_account: MakeAccount,
    store_settings: Settings,
    nginx_pair: tuple[Nginx, Nginx],
) -> None:
    creds = make_account(158, apps=("alpha", "beta"))
    edge_a, edge_b = nginx_pair
    plan_a = (
        [("GET", "/alpha/a1.ts", {})] * 3
        + [("GET", "/alpha/a2.ts", {})] * 2
        + [("GET", "/beta/b1.mp4", {}), ("GET", "/beta/b1.mp4", {"Range": "bytes=0-999"})]
        + [("GET", "/alpha/missing.ts", {}), ("HEAD", "/alpha/index.m3u8", {})]
        + [("GET", "/gamma/unknown.ts", {})]
    )
    plan_b = [("GET", "/alpha/index.m3u8", {})] * 4 + [("GET", "/beta/b2.ts", {})] * 2
    expected = {"EDGE-A": fetch(edge_a, plan_a), "EDGE-B": fetch(edge_b, plan_b)}
    today = datetime.now(UTC).date().isoformat()
    for server, plan in ((edge_a, plan_a), (edge_b, plan_b)):
        deadline = time.monotonic() + 10
        while len(server.log.read_text().splitlines()) < len(plan):
            assert time.monotonic() < deadline, "nginx did not log every request"
            time.sleep(0.05)
    assert "+0545]" in edge_b.log.read_text()

    summary = ingest(store_settings, "EDGE-A", edge_a.log)
    assert "unattributed" in summary
    ingest(store_settings, "EDGE-B", edge_b.log)
    ingest(store_settings, "EDGE-B", edge_b.log)  # again: adds nothing

    with Client(live_api.api_url, creds.cdn, creds.api_key, creds.secret) as client:
        for apps in (["alpha"], ["beta"], ["alpha", "beta"]):
            rows = client.video_servers(apps if len(apps) > 1 else apps[0])
            todays = {r["server"]: r for r in rows if r["date"] == today}
            assert set(todays) == {"EDGE-A", "EDGE-B"}
            for server, got in expected.items():
                want_bytes = sum(got[(app, "bytes")] for app in apps)
                want_requests = sum(got[(app, "requests")] for app in apps)
                assert todays[server]["bytes_total"] == want_bytes, (server, apps)
                assert todays[server]["requests_total"] == want_requests, (server, apps)
            assert len(rows) == 30 * 2
    # Known sizes, as a cross-check of what the client counted.
    assert expected["EDGE-B"][("beta", "bytes")] == 2 * FILES["beta/b2.ts"]
    assert expected["EDGE-A"][("beta", "bytes")] == FILES["beta/b1.mp4"] + 1000
