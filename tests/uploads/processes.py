"""``streampanel worker`` as a real process on the test store, for crash and scale tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streampanel.settings import Settings
from tests.conftest import server_env


def worker_env(settings: Settings, **extra: Any) -> dict[str, str]:
    env = {
        **os.environ,
        **server_env(settings),
        "STREAMPANEL_LOG_LEVEL": "info",
        "STREAMPANEL_STORAGE_ROOTS": json.dumps([str(p) for p in settings.storage_roots]),
        "STREAMPANEL_WORKER_LEASE_SECONDS": str(settings.worker_lease_seconds),
        "STREAMPANEL_WORKER_POLL_INTERVAL": str(settings.worker_poll_interval),
        "STREAMPANEL_WORKER_BACKOFF_BASE": str(settings.worker_backoff_base),
        "STREAMPANEL_WORKER_BACKOFF_MAX": str(settings.worker_backoff_max),
        "STREAMPANEL_WORKER_MAX_ATTEMPTS": str(settings.worker_max_attempts),
        "STREAMPANEL_YOUTUBE_API_ROOT": settings.youtube_api_root,
        "STREAMPANEL_YOUTUBE_TOKEN_URI": settings.youtube_token_uri,
        "STREAMPANEL_YOUTUBE_CHUNK_BYTES": str(settings.youtube_chunk_bytes),
        "STREAMPANEL_S3_PART_CONCURRENCY": str(settings.s3_part_concurrency),
        "STREAMPANEL_CALLBACK_ALLOW_PRIVATE": "true"
        if settings.callback_allow_private
        else "false",
    }
    env.update({f"STREAMPANEL_{k.upper()}": str(v) for k, v in extra.items()})
    return env


class WorkerProcess:
    # Every process started, so a fixture can end those a failing test left running.
    started: list[WorkerProcess] = []  # noqa: RUF012

    def __init__(self, settings: Settings, log: Path, *args: str):
        WorkerProcess.started.append(self)
        self.log = log
        handle = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streampanel", "worker", *args],
            env=worker_env(settings),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_for(
    condition: Callable[[], Any],
    timeout: float = 60,
    what: str = "condition",
    worker: WorkerProcess | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker exited while waiting for {what}:\n{worker.output()}")
        time.sleep(0.02)
    raise AssertionError(
        f"timed out waiting for {what}" + (f":\n{worker.output()}" if worker else "")
    )


def end_leftover_workers() -> None:
    while WorkerProcess.started:
        worker = WorkerProcess.started.pop()
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait(10)
