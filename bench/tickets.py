"""Segments served by nginx to 32 connections (wrk), three ways, in one run:

    (a) unprotected: a plain location
    (b) nginx's built-in secure_link: a static MD5 check inside nginx, the ceiling for any
        check of a link (the same expression and the same client-side URL rotation)
    (c) tickets, through the shipped deploy/nginx/tickets.conf: the segment URLs a real
        playback gets (ticket -> 302 -> session playlist -> its segment links)

and the decision route alone (GET /sevu/hls/check, the auth_request nginx sends for every
playlist a running session loads) against the same server's GET /healthz.  A round runs
every case once, for --seconds each; the figures are the median of --rounds rounds.

    flock /tmp/bench.lock .venv/bin/python bench/tickets.py [--seconds 10] [--rounds 5]

Goals: (c) >= 0.8 x (b); decision route >= 0.7 x /healthz; p99 of (c) < 10 ms.
Needs Debian's nginx, libnginx-mod-rtmp (the shipped configuration loads it) and wrk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _common import bench_env, print_table, run_wrk, running_server, temp_dir
from tests.support.ticket_edge import Edge, free_port, rtmp_module, stop, wait_for

from streampanel.client import Client
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.tickets.links import LINK_PURPOSE, segment_token

SEGMENT_BYTES = 64 * 1024
SEGMENTS = 16
CONNECTIONS = 32

# The reference servers: the shipped configuration's process and connection settings, one
# location each.
REFERENCE_CONFIG = """
load_module {module};
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log {prefix}/access.log combined;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  sendfile on;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
  server {{
    listen 127.0.0.1:{port};
    root {www};
    {location}
  }}
}}
"""
UNPROTECTED = "location /vod/ { }"
SECURE_LINK = """location ~ ^/vod/(?<app>[^/]+)/(?<video>.+)/[^/]+\\.ts$ {
      secure_link $arg_t,$arg_e;
      secure_link_md5 "$secure_link_expires $app/$video $remote_addr %s";
      if ($secure_link != "1") { return 403; }
    }"""

ROTATE_SCRIPT = """
local paths = {%s}
local i = 0
function request()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""

CHECK_SCRIPT = """
wrk.method = "GET"
wrk.path = "/sevu/hls/check"
wrk.headers["X-Real-IP"] = "127.0.0.1"
wrk.headers["X-Original-URI"] = "%s"
wrk.headers["X-Sevu-App"] = "live"
wrk.headers["X-Sevu-Video"] = "cam"
wrk.headers["X-Sevu-Segment-Seconds"] = "60"
"""


# As the tests run the shipped file: in the foreground, and as root when run by root (the
# temporary directory is private).
_FOREGROUND = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")


class Reference:
    """nginx with one location, beside the shipped one."""

    def __init__(self, base: Path, www: Path, location: str):
        self.prefix = base
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = base / "nginx.conf"
        config.write_text(
            REFERENCE_CONFIG.format(
                module=rtmp_module(), prefix=base, www=www, port=self.port, location=location
            )
        )
        self.process = subprocess.Popen(
            ["nginx", "-c", str(config), "-p", str(base), "-g", _FOREGROUND],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: httpx.get(self.url + "/", timeout=1).status_code in (403, 404), "nginx")


def write_segments(www: Path) -> list[str]:
    # Under /vod/ (the shipped configuration's pre-segmented files): nginx-rtmp's cleanup
    # would remove files it did not write from its HLS directory, /hls/.
    folder = www / "vod" / "live" / "cam"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    for n in range(SEGMENTS):
        (folder / f"{n}.ts").write_bytes(bytes([n]) * SEGMENT_BYTES)
        lines += ["#EXTINF:2.000,", f"{n}.ts"]
    (folder / "index.m3u8").write_text("\n".join(lines) + "\n")
    return [f"/vod/live/cam/{n}.ts" for n in range(SEGMENTS)]


def script(path: Path, urls: list[str]) -> Path:
    path.write_text(ROTATE_SCRIPT % ",".join(f'"{u}"' for u in urls))
    return path


def setup_account(env: dict[str, str]) -> tuple[str, str, str]:
    settings = Settings(
        data_dir=Path(env["STREAMPANEL_DATA_DIR"]), master_key=env["STREAMPANEL_MASTER_KEY"]
    )
    runtime = open_runtime(settings)
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, 158, "bench")
        api_key, secret = accounts.create_api_key(conn, runtime.box, 158)
        accounts.create_application(conn, 158, "live")
    link_secret = runtime.box.derive_key(LINK_PURPOSE).hex()
    runtime.close()
    return api_key, secret, link_secret


def ticket_segments(edge: Edge, api: Client) -> tuple[list[str], str]:
    """The segment URLs (path and query) and the session playlist URI of a real start."""
    ticket = api.sevu_request("live", "cam", "bench-pass", "0.0.0.0/0", 0)
    start = httpx.get(
        f"{edge.url}/vod/live/cam/index.m3u8?key={ticket['key']}&pass=bench-pass",
        follow_redirects=False,
    )
    assert start.status_code == 302, start
    session_uri = start.headers["location"]
    playlist = httpx.get(edge.url + session_uri)
    assert playlist.status_code == 200, playlist
    urls = [f"/vod/live/cam/{line}" for line in playlist.text.splitlines() if ".ts?" in line]
    assert len(urls) == SEGMENTS and httpx.get(edge.url + urls[0]).status_code == 200
    assert httpx.get(edge.url + urls[0].split("?")[0]).status_code == 403
    return urls, session_uri


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("nginx"):
        sys.exit("bench/tickets.py needs wrk and nginx (with libnginx-mod-rtmp)")
    with temp_dir("sp-bench-tickets-") as base:
        env = bench_env(base / "data")
        # The API and the decision routes only: no worker or collector beside them.
        env["STREAMPANEL_BACKGROUND_SERVICES"] = "false"
        api_key, secret, link_secret = setup_account(env)
        references: list[Reference] = []
        edge: Edge | None = None
        try:
            with running_server(env) as server:
                edge = Edge(base / "edge", server.url.split("//")[1], link_secret)
                bare = write_segments(edge.www)
                references.append(Reference(base / "a", edge.www, UNPROTECTED))
                references.append(Reference(base / "b", edge.www, SECURE_LINK % link_secret))
                expires = int(time.time()) + 86400
                signed = [
                    f"{u}?e={expires}&t="
                    + segment_token(link_secret, expires, "live", "cam", "127.0.0.1")
                    for u in bare
                ]
                assert httpx.get(references[1].url + signed[0]).status_code == 200
                assert httpx.get(references[1].url + bare[0]).status_code == 403
                with Client(server.api_url, 158, api_key, secret) as api:
                    ticketed, session_uri = ticket_segments(edge, api)
                check_script = base / "check.lua"
                check_script.write_text(CHECK_SCRIPT % session_uri)
                check = httpx.get(
                    f"{server.url}/sevu/hls/check",
                    headers={
                        "X-Real-IP": "127.0.0.1",
                        "X-Original-URI": session_uri,
                        "X-Sevu-App": "live",
                        "X-Sevu-Video": "cam",
                    },
                )
                assert check.status_code == 200 and check.headers["x-sevu-query"]
                cases = {
                    "(a) unprotected": (references[0].url, script(base / "a.lua", bare)),
                    "(b) secure_link": (references[1].url, script(base / "b.lua", signed)),
                    "(c) tickets (shipped config)": (edge.url, script(base / "c.lua", ticketed)),
                    "GET /healthz": (f"{server.url}/healthz", None),
                    "decision route (/sevu/hls/check)": (f"{server.url}/", check_script),
                    "playlist reload via nginx auth_request": (
                        edge.url,
                        script(base / "p.lua", [session_uri]),
                    ),
                }
                measure(cases, args.seconds, args.rounds)
        finally:
            for reference in references:
                stop(reference.process)
            if edge is not None:
                edge.stop()


def measure(cases: dict[str, tuple[str, Path | None]], seconds: int, rounds: int) -> None:
    for url, wrk_script in cases.values():  # warm-up
        run_wrk(url, 2, CONNECTIONS, wrk_script)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    rows: list[list[object]] = []
    for round_number in range(1, rounds + 1):
        for name, (url, wrk_script) in cases.items():
            result = run_wrk(url, seconds, CONNECTIONS, wrk_script)
            errors = int(result["non_2xx"] + result["socket_errors"])
            assert errors == 0, (name, result)
            results[name].append(result)
            rows.append(
                [
                    round_number,
                    name,
                    f"{result['rps']:.0f}",
                    f"{result['p50']:.2f}",
                    f"{result['p99']:.2f}",
                ]
            )
    print_table(
        f"{SEGMENT_BYTES // 1024} KiB segments and the decision route, {CONNECTIONS} "
        f"connections, {seconds}s per run",
        ["round", "case", "req/s", "p50 ms", "p99 ms"],
        rows,
    )

    def median(name: str, figure: str) -> float:
        return statistics.median(r[figure] for r in results[name])

    def ratio(top: str, bottom: str) -> tuple[float, str]:
        per_round = [
            t["rps"] / b["rps"] for t, b in zip(results[top], results[bottom], strict=True)
        ]
        return statistics.median(per_round), ", ".join(f"{r:.2f}" for r in per_round)

    print("\nmedian of rounds:")
    for name in cases:
        print(
            f"  {name}: {median(name, 'rps'):.0f} req/s, p50 {median(name, 'p50'):.2f} ms, "
            f"p99 {median(name, 'p99'):.2f} ms"
        )
    c_b, c_b_rounds = ratio("(c) tickets (shipped config)", "(b) secure_link")
    b_a, b_a_rounds = ratio("(b) secure_link", "(a) unprotected")
    c_a, _ = ratio("(c) tickets (shipped config)", "(a) unprotected")
    route, route_rounds = ratio("decision route (/sevu/hls/check)", "GET /healthz")
    p99 = median("(c) tickets (shipped config)", "p99")
    print(f"\n(c)/(b) tickets / secure_link: {c_b:.2f} ({c_b_rounds})  goal >= 0.8")
    print(f"(b)/(a) secure_link / unprotected: {b_a:.2f} ({b_a_rounds})")
    print(f"(c)/(a) tickets / unprotected: {c_a:.2f}")
    print(f"decision route / healthz: {route:.2f} ({route_rounds})  goal >= 0.7")
    print(f"p99 of (c): {p99:.2f} ms  goal < 10 ms")


if __name__ == "__main__":
    main()
