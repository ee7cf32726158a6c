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


def test_a_block_naming_very_many_applications_is_sent_in_pieces(
    live_api: LiveServer, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    """A flood of requests for made-up applications (a scan, garbage URLs) makes a block's
    totals as large as its lines: the agent parses it again in halves and sends each piece
    as a block of its own, every one within the centre's body limit."""
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    with log.open("w") as out:
        for n in range(24_000):
            app = "alpha" if n % 10 == 0 else f"scan-{n:06d}-" + "x" * 140
            out.write(
                f'10.0.0.{n % 250} - - [19/Mar/2024:10:{n % 60:02d}:00 +0000] "GET /{app}/s.ts '
                f'HTTP/1.1" 200 {n} "-" "bot"\n'
            )
    config = write_config(
        tmp_path / "agent.toml",
        url=live_api.url,
        server="EDGE",
        token_file=issue_token(runtime, "EDGE", tmp_path),
        state_dir=tmp_path / "state",
        logs=[log],
        block_mib=24,
    )
    agent = AgentProcess(config, tmp_path / "agent.out", once=True)
    assert agent.wait() == 0, agent.log()
    delivered = int(agent.log().split("stopped: ")[1].split(" blocks")[0])
    assert delivered >= 2  # one block read, sent in pieces

    reference = ingester(runtime, tmp_path / "clean", server="CLEAN", block_bytes=24 << 20)
    reference.ingest(str(log))
    expected = usage_of(runtime, "CLEAN")
    assert len(expected["unattributed"]) == 21_600
    assert usage_of(runtime, "EDGE") == expected
