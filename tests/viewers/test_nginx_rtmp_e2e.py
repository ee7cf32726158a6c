"""End to end with the real programs: nginx + libnginx-mod-rtmp serving /stat, ffmpeg
publishing a generated stream under two names, ffmpeg players pulling over RTMP, and a push
relay to a second application.  ``collect viewers --once`` then ``viewer.livedetailed`` over
HTTP shows exactly the players per stream; after they stop, zero."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from streampanel.client import Client
from streampanel.settings import Settings
from tests.conftest import MakeAccount, server_env
from tests.support.postgres import free_port
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

PLAYERS = {"alpha": 3, "beta": 2}


def _rtmp_module() -> str:
    found = glob.glob("/usr/lib/nginx/modules/ngx_rtmp_module.so")
    if not found or not shutil.which("nginx") or not shutil.which("ffmpeg"):
        pytest.fail("needs Debian's nginx, libnginx-mod-rtmp and ffmpeg packages")
    return found[0]


NGINX_CONF = """
load_module {module};
daemon off;
# One process, as the test's user: a root master would hand HLS files to www-data, which
# cannot enter pytest's private temporary directories.
master_process off;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
rtmp {{
  server {{
    listen 127.0.0.1:{rtmp};
    application live {{
      live on;
      push rtmp://127.0.0.1:{rtmp}/backup;
      hls on;
      hls_path {dir}/hls;
      hls_fragment 1s;
      hls_playlist_length 4s;
    }}
    application backup {{
      live on;
    }}
  }}
}}
http {{
  access_log {dir}/access.log combined;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{http};
    location /stat {{ access_log off; rtmp_stat all; }}
    location /live/ {{
      types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
      alias {dir}/hls/;
    }}
  }}
}}
"""


class Processes:
    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        # Signal all first, then wait: they shut down side by side.
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.started):
            self.stop(process)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def _players_listed(stat_url: str) -> dict[str, int]:
    """Clients per live/ stream as nginx lists them (publisher and relay included)."""
    text = httpx.get(stat_url, timeout=5).text
    live = text.split("<name>backup</name>")[0]
    counts = {}
    for stream in re.findall(r"<stream>(.*?)</stream>", live, re.S):
        name = re.search(r"<name>(.*?)</name>", stream)
        if name:
            counts[name[1]] = stream.count("<client>")
    return counts


def _wait_for(condition, what: str, timeout: float = 40.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _collect_once(store_settings: Settings, stat_url: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streampanel",
            "collect",
            "viewers",
            "--server",
            "E2E",
            "--nginx-rtmp",
            stat_url,
            "--once",
        ],
        env={**server_env(store_settings), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class Origin:
    rtmp: int
    http: int
    dir: Path

    @property
    def stat_url(self) -> str:
        return f"http://127.0.0.1:{self.http}/stat"


@pytest.fixture
def origin(processes: Processes, tmp_path: Path) -> Origin:
    """nginx-rtmp with /stat, a push relay to backup/ and HLS, and one generated stream
    published as live/alpha and live/beta."""
    rtmp, http = free_port(), free_port()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / sub).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(module=_rtmp_module(), dir=tmp_path, rtmp=rtmp, http=http))
    processes.start("nginx", ["nginx", "-c", str(conf), "-p", str(tmp_path)])
    stat_url = f"http://127.0.0.1:{http}/stat"
    _wait_for(lambda: httpx.get(stat_url, timeout=2).status_code == 200, "nginx /stat")

    # One low-cost encode, published under two names.
    outputs = "|".join(f"[f=flv]rtmp://127.0.0.1:{rtmp}/live/{name}" for name in PLAYERS)
    processes.start(
        "publisher",
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "warning",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "20",
            # tee's outputs need the H.264 headers up front (nginx-rtmp's HLS reads them).
            "-flags",
            "+global_header",
            "-map",
            "0:v",
            "-f",
            "tee",
            outputs,
        ],
    )
    # publisher + push relay listed on each live/ stream.
    _wait_for(lambda: _players_listed(stat_url) == {n: 2 for n in PLAYERS}, "publish and relay")
    return Origin(rtmp, http, tmp_path)


def test_players_counted_relays_and_publishers_not(
    live_api: LiveServer,
    make_account: MakeAccount,
    store_settings: Settings,
    processes: Processes,
    origin: Origin,
) -> None:
    creds = make_account(158, apps=("live", "backup"))
    stat_url, rtmp = origin.stat_url, origin.rtmp
    players = [
        processes.start(
            f"player-{name}-{i}",
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "warning",
                "-i",
                f"rtmp://127.0.0.1:{rtmp}/live/{name}",
                "-c",
                "copy",
                "-f",
                "null",
                "-",
            ],
        )
        for name, count in PLAYERS.items()
        for i in range(count)
    ]
    expected_clients = {name: count + 2 for name, count in PLAYERS.items()}
    _wait_for(lambda: _players_listed(stat_url) == expected_clients, "players")

    output = _collect_once(store_settings, stat_url)
    assert "E2E: 4 streams, 5 viewers" in output

    with Client(live_api.api_url, creds.cdn, creds.api_key, creds.secret) as client:
        rows = client.viewer_livedetailed(app=["live", "backup"], url="*")
        assert [(r["server"], r["app"], r["stream"], r["viewers"]) for r in rows] == [
            ("E2E", "backup", "alpha", 0),
            ("E2E", "backup", "beta", 0),
            ("E2E", "live", "alpha", 3),
            ("E2E", "live", "beta", 2),
        ]
        assert client.viewer_livedetailed(app="live", url="alpha|beta") == rows[2:]

        for player in players:
            processes.stop(player)
        _wait_for(lambda: _players_listed(stat_url) == {n: 2 for n in PLAYERS}, "players gone")
        time.sleep(1)  # a new snapshot second
        _collect_once(store_settings, stat_url)
        rows = client.viewer_livedetailed(app="live", url=["alpha", "beta"])
        assert [(r["stream"], r["viewers"]) for r in rows] == [("alpha", 0), ("beta", 0)]


def test_hls_viewers_from_the_real_access_log(
    live_api: LiveServer,
    make_account: MakeAccount,
    store_settings: Settings,
    processes: Processes,
    origin: Origin,
) -> None:
    creds = make_account(158, apps=("live",))
    playlist = {name: f"http://127.0.0.1:{origin.http}/live/{name}.m3u8" for name in PLAYERS}
    # Watch the files, not the URLs: a fetch by the test would be a viewer too.
    _wait_for(
        lambda: all((origin.dir / "hls" / f"{name}.m3u8").exists() for name in playlist),
        "HLS playlists",
    )
    hls_players = {"alpha": 3, "beta": 1}
    for name, count in hls_players.items():
        for i in range(count):
            processes.start(
                f"hls-{name}-{i}",
                [
                    "ffmpeg",
                    "-nostdin",
                    "-loglevel",
                    "warning",
                    "-user_agent",
                    f"player-{i}",
                    "-i",
                    playlist[name],
                    "-c",
                    "copy",
                    "-f",
                    "null",
                    "-",
                ],
            )
    log = origin.dir / "access.log"

    def segments_fetched_by_all() -> bool:
        text = log.read_text()
        return all(
            sum(f'"player-{i}"' in line and f"/live/{name}-" in line for line in text.splitlines())
            >= 2
            for name, count in hls_players.items()
            for i in range(count)
        )

    _wait_for(segments_fetched_by_all, "HLS players fetching segments")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streampanel",
            "collect",
            "hls",
            "--server",
            "E2E",
            "--log",
            str(log),
            "--once",
        ],
        env={**server_env(store_settings), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    with Client(live_api.api_url, creds.cdn, creds.api_key, creds.secret) as client:
        rows = client.viewer_livedetailed(app="live", url="*")
    assert [(r["stream"], r["protocol"], r["viewers"]) for r in rows] == [
        ("alpha", "hls", 3),
        ("beta", "hls", 1),
    ]
