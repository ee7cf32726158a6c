"""An edge as deploy/nginx/tickets.conf ships it: Debian's nginx with nginx-rtmp, the shipped
configuration with its placeholders filled in, ffmpeg publishers and players, and relays
that let a player reach nginx from another loopback address (127.0.1.x, 127.0.2.x...) the
way a viewer on another network would.  Used by tests/tickets and bench/tickets.py."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED_CONFIG = ROOT / "deploy" / "nginx" / "tickets.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rtmp_module() -> str:
    found = glob.glob("/usr/lib/nginx/modules/ngx_rtmp_module.so")
    if not found or not shutil.which("nginx") or not shutil.which("ffmpeg"):
        raise RuntimeError("needs Debian's nginx, libnginx-mod-rtmp and ffmpeg packages")
    return found[0]


def render(template: str, values: dict[str, str]) -> str:
    """The configuration with every ``{{NAME}}`` replaced; a placeholder left is an error."""
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", value)
    left = sorted(set(re.findall(r"\{\{([A-Z_]+)\}\}", template)))
    if left:
        raise ValueError(f"placeholders not filled: {left}")
    return template


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Edge:
    """nginx running the shipped configuration in ``base`` (stopped by ``stop``)."""

    def __init__(self, base: Path, streampanel: str, link_secret: str, app: str = "live"):
        self.base = base
        self.app = app
        self.www = base / "www"
        self.prefix = base / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        (self.www / "hls").mkdir(parents=True, exist_ok=True)
        (self.www / "vod").mkdir(parents=True, exist_ok=True)
        self.http_port, self.rtmp_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.rtmp = f"rtmp://127.0.0.1:{self.rtmp_port}"
        config = render(
            SHIPPED_CONFIG.read_text(),
            {
                "RTMP_MODULE": rtmp_module(),
                "PREFIX": str(self.prefix),
                "WWW": str(self.www),
                "HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
                "RTMP_LISTEN": f"127.0.0.1:{self.rtmp_port}",
                "STREAMPANEL": streampanel,
                "LINK_SECRET": link_secret,
                "APP": app,
            },
        )
        self.config = base / "nginx.conf"
        self.config.write_text(config)
        # The tests' temporary directories are private to their user: as root, nginx's
        # workers run as root too instead of nobody (only on the command line: the shipped
        # file stays as deployed).
        extra = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        self.log = (base / "nginx.out").open("wb")
        self.process = subprocess.Popen(
            ["nginx", "-c", str(self.config), "-p", str(self.prefix), "-g", extra],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self._listening, "nginx")
        except AssertionError:
            self.stop()
            raise AssertionError((self.prefix / "error.log").read_text()) from None

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError((self.prefix / "error.log").read_text())
        return httpx.get(f"{self.url}/", timeout=1).status_code == 404

    def stop(self) -> None:
        stop(self.process)
        self.log.close()

    def playlist_ready(self, stream: str) -> bool:
        playlist = self.www / "hls" / self.app / stream / "index.m3u8"
        return playlist.exists() and playlist.read_text().count(".ts") >= 2


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def publisher_args(url: str, *, seconds: float | None = None) -> list[str]:
    """ffmpeg publishing a generated stream (2 s GOP, as the HLS fragments) to ``url``."""
    limit = ["-t", str(seconds)] if seconds is not None else []
    return [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "warning",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        *limit,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "20",
        "-f",
        "flv",
        url,
    ]


def play(
    url: str, seconds: float | None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """ffmpeg playing ``url`` (``seconds`` of it, or to its end) into nothing; its frame
    count is on the last ``frame=`` of its stderr."""
    limit = ["-t", str(seconds)] if seconds is not None else []
    return subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "info",
            "-stats",
            "-i",
            url,
            *limit,
            "-c",
            "copy",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def frames(result: subprocess.CompletedProcess[str]) -> int:
    found = re.findall(r"frame=\s*(\d+)", result.stderr)
    return int(found[-1]) if found else 0


class Relay:
    """A TCP relay on 127.0.0.1 whose connections reach ``target`` from ``source`` (another
    loopback address): to nginx, its clients are on the source's network."""

    def __init__(self, target_port: int, source: str):
        self.source = source
        self.target_port = target_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port, local_addr=(self.source, 0)
            )
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            await self._server.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
