"""Real ``streampanel`` processes (any command) on a test store: started, watched, scraped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support.postgres import free_port


class Process:
    """``streampanel ARGS…`` with its output in ``log``."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log: Path):
        self.name = name
        self.args = args
        self.env = {**os.environ, **env}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streampanel", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def count(self, text: str) -> int:
        return self.output().count(text)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve_process(name: str, env: Mapping[str, str], log: Path, *args: str) -> tuple[Process, str]:
    """An API process on a free port (not started); its base URL."""
    port = free_port()
    process = Process(name, ["serve", "--port", str(port), *args], env, log)
    return process, f"http://127.0.0.1:{port}"


def wait_until(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition()`` (a callable) until true, or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


Sample = tuple[str, dict[str, str], float]


def scrape(url: str) -> list[Sample]:
    """A Prometheus text page's samples: ``(name, labels, value)``."""
    samples = []
    for line in httpx.get(url, timeout=10).text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def metric(samples: list[Sample], name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with exactly ``labels``, or None."""
    for sample_name, sample_labels, value in samples:
        if sample_name == name and sample_labels == labels:
            return value
    return None
