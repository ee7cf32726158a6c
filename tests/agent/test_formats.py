"""Each log format through the agent (``--once``) equals a clean local ingest of the same
file: nginx JSON lines, and Wowza, whose parser carries state from block to block (the
header and each client's byte counter) in the blocks the agent spools and sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from streampanel.runtime import Runtime
from tests.agent.helpers import AgentProcess, issue_token, usage_of, write_config
from tests.conftest import MakeAccount
from tests.ingest.helpers import FIXTURES, ingester
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("fmt", "fixture"), [("nginx-json", "access.json.log"), ("wowza", "wowza.log")]
)
def test_format_through_the_agent(
    live_api: LiveServer,
    runtime: Runtime,
    make_account: MakeAccount,
    tmp_path: Path,
    fmt: str,
    fixture: str,
) -> None:
    make_account(158, apps=("alpha", "beta", "live", "vod"))
    log = tmp_path / fixture
    # Twenty times over, so the smallest blocks (4 KiB) cut it in several places.
    log.write_bytes((FIXTURES / fixture).read_bytes() * 20)
    assert log.stat().st_size > 2 * 4096
    config = write_config(
        tmp_path / "agent.toml",
        url=live_api.url,
        server="EDGE",
        token_file=issue_token(runtime, "EDGE", tmp_path),
        state_dir=tmp_path / "state",
        logs=[],
        block_mib=4096 / (1 << 20),
        extra=f'[[access_logs]]\npath = "{log}"\nformat = "{fmt}"',
    )
    agent = AgentProcess(config, tmp_path / "agent.out", once=True)
    assert agent.wait() == 0, agent.log()

    reference = ingester(runtime, tmp_path / "clean", server="CLEAN", fmt=fmt, block_bytes=4096)
    reference.ingest(str(log))
    expected = usage_of(runtime, "CLEAN")
    assert expected["daily"], "the fixture names known applications"
    assert usage_of(runtime, "EDGE") == expected
