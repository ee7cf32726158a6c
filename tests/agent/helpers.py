"""Helpers of the agent tests: a real agent process, its configuration, and every usage figure
of a server (to compare an agent's delivery with a clean local ingest of the same lines)."""

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

from sqlalchemy import select

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.tables import applications, servers
from streampanel.store.tables.usage import ingest_sources, usage_daily, usage_unattributed
from streampanel.store.viewers import issue_ingest_token
from tests.ingest.helpers import ingester
from tests.ingest.test_kill import make_log


def log_lines(tmp_path: Path, count: int) -> list[bytes]:
    """The lines of a fresh ``count``-line access log (``tmp_path/whole.log``), for a test to
    hand to an agent's log a part at a time."""
    whole = tmp_path / "whole.log"
    make_log(whole, count)
    return whole.read_bytes().splitlines(keepends=True)


def issue_token(runtime: Runtime, server: str, directory: Path) -> Path:
    """A new ingest token for ``server``, in a file of ``directory`` (as an operator keeps it)."""
    with write_transaction(runtime.engine) as conn:
        token = issue_ingest_token(conn, accounts.get_or_create_server(conn, server))
    path = directory / f"{server}.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


def write_config(
    path: Path,
    *,
    url: str,
    server: str,
    token_file: Path,
    state_dir: Path,
    logs: list[Path],
    block_mib: float = 0.01,
    extra: str = "",
) -> Path:
    lines = [
        f'central_url = "{url}"',
        f'server = "{server}"',
        f'token_file = "{token_file}"',
        f'state_dir = "{state_dir}"',
        f"block_mib = {block_mib}",
        "poll_seconds = 0.2",
        "timeout_seconds = 10",
        "backoff_max_seconds = 1",
        extra,
    ]
    for log in logs:
        lines += ["[[access_logs]]", f'path = "{log}"']
    path.write_text("\n".join(lines) + "\n")
    return path


class AgentProcess:
    """``streampanel agent`` as a real process, its output appended to ``output``."""

    def __init__(self, config: Path, output: Path, *, once: bool = False, failpoint: str = ""):
        env = {**os.environ, "STREAMPANEL_AGENT_FAILPOINT": failpoint}
        self.output = output
        with output.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streampanel",
                    "agent",
                    "--config",
                    str(config),
                    *(["--once"] if once else []),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd stops it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.output.read_text(errors="replace")


def status(state_dir: Path) -> dict[str, Any]:
    try:
        found = json.loads((state_dir / "status.json").read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.1)


def committed_offset(runtime: Runtime, server: str) -> int:
    """The sum of the server's checkpoints' offsets (what the centre holds of its logs)."""
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(ingest_sources.c.offset)
            .join(servers, servers.c.id == ingest_sources.c.server_id)
            .where(servers.c.name == server)
        ).scalars()
        return sum(int(r) for r in rows)


def usage_of(runtime: Runtime, server: str) -> dict[str, Any]:
    """Every figure the centre holds of ``server``'s logs: totals per (application, day),
    unattributed totals per (name, day), and the checkpoints' offsets and counters."""
    with runtime.engine.connect() as conn:
        server_id = conn.execute(select(servers.c.id).where(servers.c.name == server)).scalar_one()
        daily = conn.execute(
            select(
                applications.c.name, usage_daily.c.day, usage_daily.c.bytes, usage_daily.c.requests
            )
            .join(applications, applications.c.id == usage_daily.c.application_id)
            .where(usage_daily.c.server_id == server_id)
        ).all()
        loose = conn.execute(
            select(
                usage_unattributed.c.app,
                usage_unattributed.c.day,
                usage_unattributed.c.bytes,
                usage_unattributed.c.requests,
            ).where(usage_unattributed.c.server_id == server_id)
        ).all()
        sources = conn.execute(
            select(
                ingest_sources.c.fingerprint,
                ingest_sources.c.offset,
                ingest_sources.c.lines,
                ingest_sources.c.rejected,
                ingest_sources.c.unattributed,
            ).where(ingest_sources.c.server_id == server_id)
        ).all()
    return {
        "daily": sorted(tuple(r) for r in daily),
        "unattributed": sorted(tuple(r) for r in loose),
        "sources": sorted(tuple(r) for r in sources),
    }


def clean_ingest(runtime: Runtime, tmp_path: Path, server: str, *logs: Path) -> dict[str, Any]:
    """A clean local ``ingest`` of the same lines (the real ingester, in-process), as the
    reference the agent's delivery must equal."""
    with write_transaction(runtime.engine) as conn:
        accounts.get_or_create_server(conn, server)
    reference = ingester(runtime, tmp_path / f"clean-{server}", server=server)
    for log in logs:
        reference.ingest(str(log))
    return usage_of(runtime, server)
