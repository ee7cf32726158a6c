"""Shared pieces of the benchmarks: a throwaway server, peak RSS, printing ratios."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchServer:
    url: str
    api_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]


def bench_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "STREAMPANEL_DATA_DIR": str(data_dir),
        "STREAMPANEL_MASTER_KEY": Fernet.generate_key().decode(),
        "STREAMPANEL_LOG_LEVEL": "warning",
    }
    if database_url:
        env["STREAMPANEL_DATABASE_URL"] = database_url
    return env


@contextmanager
def running_server(env: dict[str, str], *args: str) -> Iterator[BenchServer]:
    port = free_port()
    log = Path(env["STREAMPANEL_DATA_DIR"]) / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streampanel", "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield BenchServer(url, f"{url}/stable/", env, process)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def rss_mb(pid: int, *, peak: bool = False) -> float:
    """A live process's resident set (VmRSS), or its peak (VmHWM), in MB."""
    field = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


# wrk replaying requests round-robin (pre-signed form bodies, or none for a GET), checking
# every answer (HTTP 200 and the expected text), the count reported from done().  The
# ceiling runs through the same script, so both sides pay the same client-side checking.
WRK_REPLAY_SCRIPT = r"""
local bodies = {%s}
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  errors = 0
  seen = 0
  i = id
end
function request()
  i = i + 1
  if #bodies == 0 then
    return wrk.format("GET", "%s")
  end
  return wrk.format("POST", "%s",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, bodies[(i %% #bodies) + 1])
end
function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 or not string.find(body, '%s', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.write("FAILED " .. status .. " " .. body .. "\n") end
  end
end
function done(summary, latency, requests)
  local e, s = 0, 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors")
    s = s + t:get("seen")
  end
  io.write(string.format("ENVELOPE_ERRORS %%d CHECKED %%d\n", e, s))
end
"""


def replay_script(
    path: Path, url_path: str, bodies: list[str], expect: str = '"status":"success"'
) -> Path:
    """A wrk script POSTing ``bodies`` round-robin to ``url_path`` (a GET when there are
    none), counting answers that are not HTTP 200 containing ``expect``."""
    joined = ",".join(f"[[{b}]]" for b in bodies)
    path.write_text(WRK_REPLAY_SCRIPT % (joined, url_path, url_path, expect))
    return path


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def run_wrk(
    url: str, seconds: int, connections: int, script: Path | None = None
) -> dict[str, float]:
    """wrk's figures: rps, p50/p99 ms, requests, socket errors, non-2xx, envelope errors."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout

    def number(pattern: str) -> str:
        match = re.search(pattern, out, re.M)
        assert match, f"{pattern!r} not in wrk output:\n{out}"
        return match.group(1)

    result = {
        "rps": float(number(r"Requests/sec:\s+([\d.]+)")),
        "p50": _ms(number(r"^\s+50%\s+(\S+)")),
        "p99": _ms(number(r"^\s+99%\s+(\S+)")),
        "requests": float(number(r"(\d+) requests in")),
        "socket_errors": 0.0,
        "non_2xx": 0.0,
        "envelope_errors": 0.0,
        "checked": 0.0,
    }
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        result["socket_errors"] = float(sum(int(x) for x in socket.groups()))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        result["non_2xx"] = float(non_2xx.group(1))
    envelope = re.search(r"ENVELOPE_ERRORS (\d+) CHECKED (\d+)", out)
    if envelope:
        result["envelope_errors"] = float(envelope.group(1))
        result["checked"] = float(envelope.group(2))
    for line in out.splitlines():
        if line.startswith("FAILED"):
            print(line[:300])
    return result
