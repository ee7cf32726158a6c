"""The centre stopped for a while, during which the log is rotated and the rotated file
deleted: the agent keeps what it parsed in its spool, says so (one log line, the lag in
``agent status``), and delivers it all once the centre is back — every total equal to a
clean local ingest of the same lines.  SIGTERM then stops it cleanly."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streampanel.runtime import Runtime
from tests.agent.helpers import (
    AgentProcess,
    clean_ingest,
    committed_offset,
    issue_token,
    log_lines,
    status,
    usage_of,
    wait_for,
    write_config,
)
from tests.conftest import MakeAccount, server_env
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def centre(runtime: Runtime, tmp_path: Path) -> Iterator[LiveServer]:
    """A centre of its own (it is stopped and started again) on the test store."""
    env = {**server_env(runtime.settings), "STREAMPANEL_BACKGROUND_SERVICES": "false"}
    server = LiveServer(env, tmp_path / "centre.log")
    server.start()
    yield server
    server.stop()


def test_outage_with_rotation_loses_nothing(
    centre: LiveServer, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha", "beta", "gamma"))
    lines = log_lines(tmp_path, 6000)
    # Before the outage; during it, before the rotation; after the rotation, first to the
    # rotated file (nginx writes on until it reopens its log), then to the new one.
    parts = [b"".join(lines[a:b]) for a, b in ((0, 2000), (2000, 4000), (4000, 4300), (4300, 6000))]
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "access.log"
    log.write_bytes(parts[0])
    state_dir = tmp_path / "state"
    config = write_config(
        tmp_path / "agent.toml",
        url=centre.url,
        server="EDGE",
        token_file=issue_token(runtime, "EDGE", tmp_path),
        state_dir=state_dir,
        logs=[log],
    )
    agent = AgentProcess(config, tmp_path / "agent.out")
    try:
        wait_for(lambda: committed_offset(runtime, "EDGE") == len(parts[0]), what="part 1")

        centre.stop()
        with log.open("ab") as out:
            out.write(parts[1])
        rotated = logs / "access.log.1"
        log.rename(rotated)
        with rotated.open("ab") as out:
            out.write(parts[2])
        log.write_bytes(parts[3])
        old_file = parts[0] + parts[1] + parts[2]

        def read_all() -> bool:
            found = {lag["rotated"]: lag["read"] for lag in status(state_dir).get("logs", [])}
            return found == {True: len(old_file), False: len(parts[3])}

        wait_for(read_all, what="the agent to read both files into its spool")
        kept = tmp_path / "rotated-copy.log"
        kept.write_bytes(rotated.read_bytes())
        rotated.unlink()  # logrotate's last step: the agent's spool is all that is left

        report = subprocess.run(
            [sys.executable, "-m", "streampanel", "agent", "status", "--config", str(config)],
            capture_output=True,
            text=True,
        )
        assert report.returncode == 0, report.stderr
        assert "unreachable" in report.stdout
        lags = status(state_dir)["logs"]
        assert sum(lag["lag_bytes"] for lag in lags) == len(old_file) - len(parts[0]) + len(
            parts[3]
        )
        assert status(state_dir)["spooled_blocks"] > 0

        centre.start()
        wait_for(
            lambda: committed_offset(runtime, "EDGE") == len(old_file) + len(parts[3]),
            what="the spool to drain",
        )
        wait_for(lambda: all(lag["lag_bytes"] == 0 for lag in status(state_dir)["logs"]))
        assert agent.stop() == 0
    finally:
        if agent.process.poll() is None:
            agent.kill()

    output = agent.log()
    # One line per change of state, not one per retry.
    assert output.count("centre unreachable") == 1, output
    assert output.count("centre reachable again") == 1, output
    assert status(state_dir)["stopped"]

    current = tmp_path / "current-copy.log"
    current.write_bytes(log.read_bytes())
    assert usage_of(runtime, "EDGE") == clean_ingest(runtime, tmp_path, "CLEAN", kept, current)
