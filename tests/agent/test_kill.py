"""SIGKILL of the real agent at each point that matters — a block spooled and nothing sent,
the first part of a block's request on the wire, the centre's commit answered but not yet
recorded — and by an outside SIGKILL mid-run; started again each time, the centre's totals,
unattributed totals and checkpoints equal one clean local ingest of the same lines."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from streampanel.runtime import Runtime
from tests.agent.helpers import (
    AgentProcess,
    clean_ingest,
    committed_offset,
    issue_token,
    log_lines,
    usage_of,
    write_config,
)
from tests.conftest import MakeAccount
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

# Each kills the agent the N-th time it reaches the point (see streampanel.agent.failpoints).
# A run reads ahead of what it sends: the first two find lines to read in the first half of
# the log, the others in the half appended before them.
FIRST_HALF = ("spooled:1", "sending:1")
SECOND_HALF = ("spooled:3", "answered:2", "sending:6", "answered:9", "answered:12")


def test_killed_agent_delivers_like_one_clean_ingest(
    live_api: LiveServer, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha", "beta", "gamma"))
    lines = log_lines(tmp_path, 36_000)
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(lines[:3000]))
    size = sum(map(len, lines))
    config = write_config(
        tmp_path / "agent.toml",
        url=live_api.url,
        server="EDGE",
        token_file=issue_token(runtime, "EDGE", tmp_path),
        state_dir=tmp_path / "state",
        logs=[log],
    )
    output = tmp_path / "agent.out"

    for failpoints in (FIRST_HALF, SECOND_HALF):
        if failpoints is SECOND_HALF:
            with log.open("ab") as out:
                out.write(b"".join(lines[3000:6000]))
        for failpoint in failpoints:
            run = AgentProcess(config, output, once=True, failpoint=failpoint)
            assert run.wait() == -signal.SIGKILL, f"{failpoint}: {run.log()[-2000:]}"
    assert 0 < committed_offset(runtime, "EDGE") < size

    # And from outside, while it runs through what the log gains next (enough lines that the
    # run is still going when its first commit shows).
    with log.open("ab") as out:
        out.write(b"".join(lines[6000:]))
    run = AgentProcess(config, output, once=True)
    start = committed_offset(runtime, "EDGE")
    deadline = time.monotonic() + 60
    while run.process.poll() is None and time.monotonic() < deadline:
        if committed_offset(runtime, "EDGE") > start:
            run.kill()
            break
        time.sleep(0.005)
    assert run.process.returncode == -signal.SIGKILL, "the run ended before it could be killed"

    final = AgentProcess(config, output, once=True)
    assert final.wait() == 0, final.log()[-3000:]
    assert committed_offset(runtime, "EDGE") == size

    reference = clean_ingest(runtime, tmp_path, "CLEAN", log)
    assert usage_of(runtime, "EDGE") == reference
    assert sum(requests for *_, requests in reference["daily"]) > 25_000
    assert reference["unattributed"]  # the 'unknown' application's traffic is kept
    # Rejected lines stay on the edge, each kept once.
    rejects = list((tmp_path / "state" / "rejects" / "EDGE").glob("*.rejects"))
    assert len(rejects) == 1 and rejects[0].read_bytes().count(b"\n") == 372
