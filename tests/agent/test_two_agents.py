"""Two agents claiming the same server name and file (a configuration copied to a second
machine): the second is refused while the first holds the server and writes nothing; once the
first stops, the second takes over from the centre's checkpoint.  Nothing is counted twice."""

from __future__ import annotations

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
from tests.conftest import MakeAccount
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


def test_second_agent_is_refused(
    live_api: LiveServer, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha", "beta", "gamma"))
    lines = log_lines(tmp_path, 3000)
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(lines[:1000]))
    token = issue_token(runtime, "EDGE", tmp_path)
    configs = [
        write_config(
            tmp_path / f"agent-{n}.toml",
            url=live_api.url,
            server="EDGE",
            token_file=token,
            state_dir=tmp_path / f"state-{n}",
            logs=[log],
        )
        for n in (1, 2)
    ]
    first = AgentProcess(configs[0], tmp_path / "agent-1.out")
    second: AgentProcess | None = None
    try:
        wait_for(lambda: committed_offset(runtime, "EDGE") > 0, what="the first agent")
        second = AgentProcess(configs[1], tmp_path / "agent-2.out")
        wait_for(lambda: "held by another agent" in second.log(), what="the refusal")  # type: ignore[union-attr]
        with log.open("ab") as out:
            out.write(b"".join(lines[1000:2000]))
        wait_for(
            lambda: committed_offset(runtime, "EDGE") == log.stat().st_size,
            what="the first agent to deliver the new lines",
        )
        # The second agent wrote nothing: it never even learnt where the file stands.
        assert [lag["read"] for lag in status(tmp_path / "state-2")["logs"]] == [0]
        assert second.log().count("centre refused") == 1

        assert first.stop() == 0  # gives the server up
        with log.open("ab") as out:
            out.write(b"".join(lines[2000:]))
        wait_for(
            lambda: committed_offset(runtime, "EDGE") == sum(map(len, lines)),
            what="the second agent to take over",
        )
        assert second.stop() == 0
    finally:
        for agent in (first, second):
            if agent is not None and agent.process.poll() is None:
                agent.kill()

    assert usage_of(runtime, "EDGE") == clean_ingest(runtime, tmp_path, "CLEAN", log)
