"""End to end with the real programs: a centre as docs/deploy.md sets it up (PostgreSQL with
the shipped roles, two API processes as the application role behind the shipped nginx TLS
proxy, a test CA) and two edges, each a real nginx writing its access log and running its own
agent, which reaches the centre through the proxy and verifies it with ``ca_file``.

- EDGE-A serves files over HTTP; curl fetches a known set (full files, a range, a HEAD, a
  404, an unknown application), in three rounds.
- EDGE-B is nginx-rtmp publishing a generated stream as HLS; an ffmpeg HLS player pulls it
  over HTTP, and its agent also counts HLS viewers from the same log and polls ``/stat``.

Between the rounds, EDGE-A's agent is SIGKILLed (and started again) and the centre is stopped
(both API processes, and started again).  Then ``video.servers`` over HTTPS equals, per server
and day, the bytes and requests nginx logged (read from the logs here, independently of
streampanel's parsers); the HLS player was seen as a live viewer, and its stream ended once it
stopped; viewer snapshots taken while the centre was away were dropped, not sent late.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from streampanel.client import Client
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.agent.helpers import AgentProcess, issue_token, status, wait_for, write_config
from tests.conftest import MASTER_KEY
from tests.deploy.conftest import centre  # noqa: F401  (the fixture proxied stands on)
from tests.deploy.test_nginx_proxy import Proxied, proxied  # noqa: F401
from tests.ingest.test_nginx_e2e import FILES, Nginx
from tests.viewers.test_nginx_rtmp_e2e import Origin, Processes, origin, processes  # noqa: F401

pytestmark = pytest.mark.slow

APPS = ("alpha", "beta", "live")
CDN = 913
# nginx's combined format: the request line, status and $body_bytes_sent, read independently.
_LINE = re.compile(
    r'^\S+ \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) /(?P<app>[^/ ?]*)[^"]*" '
    r"(?P<status>\d{3}) (?P<bytes>\d+|-) "
)


def logged(log: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """``(UTC day, application) -> (bytes, requests)`` as nginx logged them."""
    found: Counter[tuple[str, str, str]] = Counter()
    for line in log.read_text().splitlines():
        match = _LINE.match(line)
        assert match, line
        day = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC).date()
        key = (day.isoformat(), match["app"])
        found[(*key, "bytes")] += 0 if match["bytes"] == "-" else int(match["bytes"])
        found[(*key, "requests")] += 1
    return {
        (day, app): (found[(day, app, "bytes")], found[(day, app, "requests")])
        for day, app, kind in found
        if kind == "requests"
    }


def curl(edge: Nginx, round_number: int) -> None:
    plan = [
        ["/alpha/a1.ts"],
        ["/alpha/a1.ts"],
        ["/alpha/a2.ts"],
        ["/beta/b1.mp4"],
        ["-r", "0-999", "/beta/b1.mp4"],
        ["-I", "/alpha/index.m3u8"],
        ["/alpha/missing.ts"],
        ["/gamma/unknown.ts"],
    ]
    for args in plan * round_number:
        *options, path = args
        result = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", *options, f"{edge.url}{path}"], timeout=30
        )
        assert result.returncode == 0


def test_two_edges_deliver_what_nginx_logged(
    proxied: Proxied,  # noqa: F811
    processes: Processes,  # noqa: F811
    origin: Origin,  # noqa: F811
    tmp_path: Path,
) -> None:
    if not shutil.which("curl"):
        pytest.fail("needs curl")
    runtime = open_runtime(
        Settings(
            database_url=proxied.centre.app_url,
            data_dir=proxied.centre.data_dir,
            master_key=SecretStr(MASTER_KEY),
        )
    )
    ca_file = proxied.logs[0].parent / "ca.pem"
    with write_transaction(runtime.engine) as conn:
        # An account of its own: the proxy's tests share this centre.
        accounts.create_account(conn, CDN, "agent e2e")
        api_key, secret = accounts.create_api_key(conn, runtime.box, CDN)
        for app in APPS:
            accounts.create_application(conn, CDN, app)

    def client() -> Client:
        return Client(f"{proxied.url}/stable/", CDN, api_key, secret, transport=proxied.transport())

    www = tmp_path / "www"
    for name, size in FILES.items():
        (www / name).parent.mkdir(parents=True, exist_ok=True)
        (www / name).write_bytes(os.urandom(size))
    edges = tmp_path / "edges"
    edges.mkdir()
    edge_a = Nginx("EDGE-A", edges, www, "Asia/Kathmandu")
    log_b = origin.dir / "access.log"
    config_a = write_config(
        tmp_path / "agent-a.toml",
        url=proxied.url,
        server="EDGE-A",
        token_file=issue_token(runtime, "EDGE-A", tmp_path),
        state_dir=tmp_path / "state-a",
        logs=[edge_a.log],
        extra=f'ca_file = "{ca_file}"',
    )
    config_b = write_config(
        tmp_path / "agent-b.toml",
        url=proxied.url,
        server="EDGE-B",
        token_file=issue_token(runtime, "EDGE-B", tmp_path),
        state_dir=tmp_path / "state-b",
        logs=[log_b],
        extra="\n".join(
            [
                f'ca_file = "{ca_file}"',
                "[[hls_logs]]",
                f'path = "{log_b}"',
                "window = 10",
                "step = 5",
                "[[nginx_rtmp]]",
                f'url = "{origin.stat_url}"',
                "interval = 5",
            ]
        ),
    )
    agents = {
        "A": AgentProcess(config_a, tmp_path / "agent-a.out"),
        "B": AgentProcess(config_b, tmp_path / "agent-b.out"),
    }
    try:
        wait_for(lambda: (origin.dir / "hls" / "alpha.m3u8").exists(), what="HLS playlist")
        player = processes.start(
            "hls-player",
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "warning",
                "-i",
                f"http://127.0.0.1:{origin.http}/live/alpha.m3u8",
                "-c",
                "copy",
                "-f",
                "null",
                "-",
            ],
        )
        curl(edge_a, 1)
        wait_for(
            lambda: any(
                lag["acknowledged"] for lag in status(tmp_path / "state-a").get("logs", [])
            ),
            what="EDGE-A's first delivery",
        )

        # EDGE-A's agent dies mid-stream and is started again.
        agents["A"].kill()
        curl(edge_a, 2)
        agents["A"] = AgentProcess(config_a, tmp_path / "agent-a.out")

        # HLS viewers reach the centre while it is up.
        with client() as api:
            wait_for(
                lambda: any(
                    (row["server"], row["protocol"]) == ("EDGE-B", "hls") and row["viewers"] >= 1
                    for row in api.viewer_livedetailed(app="live", url="*")
                ),
                what="the HLS player as a live viewer",
            )

        # The centre stops for a while (the proxy answers 502); both edges keep serving.
        for api_process in proxied.apis:
            api_process.stop()
        curl(edge_a, 3)
        wait_for(
            lambda: status(tmp_path / "state-b").get("viewer_snapshots_dropped", 0) >= 1,
            what="a viewer snapshot dropped while the centre is away",
        )
        for api_process in proxied.apis:
            api_process.start()

        def delivered(state: Path, log: Path) -> bool:
            found = status(state)
            return (
                found.get("spooled_blocks") == 0
                and found.get("centre") == "connected"
                and any(lag["size"] == log.stat().st_size for lag in found.get("logs", []))
                and all(lag["lag_bytes"] == 0 for lag in found.get("logs", []))
            )

        # The player stops, so EDGE-B's log stops growing; then both must be delivered.
        processes.stop(player)
        wait_for(lambda: delivered(tmp_path / "state-a", edge_a.log), 90, "EDGE-A delivered")
        wait_for(lambda: delivered(tmp_path / "state-b", log_b), 90, "EDGE-B delivered")
        # Its viewer left the window: the HLS stream is no longer live.
        with client() as api:
            wait_for(
                lambda: (
                    not [
                        row
                        for row in api.viewer_livedetailed(app="live", url="*")
                        if row["protocol"] == "hls"
                    ]
                ),
                what="the HLS stream to end",
            )
        for agent in agents.values():
            assert agent.stop() == 0
    finally:
        for agent in agents.values():
            if agent.process.poll() is None:
                agent.kill()
        edge_a.stop()

    expected = {"EDGE-A": logged(edge_a.log), "EDGE-B": logged(log_b)}
    assert "+0545]" in edge_a.log.read_text()
    assert sum(requests for _, requests in expected["EDGE-B"].values()) > 5
    with client() as api:
        since = datetime.now(UTC).date() - timedelta(days=10)
        rows = api.video_servers(list(APPS), since.isoformat())
    runtime.close()
    got: dict[str, dict[str, tuple[int, int]]] = {}
    for row in rows:
        if row["bytes_total"] or row["requests_total"]:
            got.setdefault(row["server"], {})[row["date"]] = (
                row["bytes_total"],
                row["requests_total"],
            )
    for server_name, by_key in expected.items():
        want: dict[str, tuple[int, int]] = {}
        for (day, app), (sent, requests) in by_key.items():
            if app in APPS:
                total = want.get(day, (0, 0))
                want[day] = (total[0] + sent, total[1] + requests)
        assert got.get(server_name) == want, server_name
    # Known sizes, as a cross-check of the independent reading of EDGE-A's log.
    edge_a_bytes = sum(sent for (_, app), (sent, _) in expected["EDGE-A"].items() if app == "beta")
    assert edge_a_bytes == 6 * (FILES["beta/b1.mp4"] + 1000)
