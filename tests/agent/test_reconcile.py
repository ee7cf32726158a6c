"""The agent checks each file it knows against the centre's checkpoint once per run: when an
operator ingested more of the file on the centre meanwhile (``streampanel ingest`` of a copy),
the agent skips what the centre already holds; when the centre holds less than it had
acknowledged (a store restored from a backup), it reads the file again from there.  Either
way every total equals a clean local ingest of the same lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from streampanel.runtime import Runtime
from streampanel.store.engine import write_transaction
from streampanel.store.tables import servers
from streampanel.store.tables.usage import ingest_sources, usage_daily, usage_unattributed
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
from tests.ingest.helpers import ingester
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


def test_the_agent_follows_the_centres_checkpoint(
    live_api: LiveServer, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha", "beta", "gamma"))
    lines = log_lines(tmp_path, 3000)
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(lines[:1000]))
    config = write_config(
        tmp_path / "agent.toml",
        url=live_api.url,
        server="EDGE",
        token_file=issue_token(runtime, "EDGE", tmp_path),
        state_dir=tmp_path / "state",
        logs=[log],
    )
    output = tmp_path / "agent.out"
    assert AgentProcess(config, output, once=True).wait() == 0

    # The operator ingests the grown file on the centre under the same server name.
    with log.open("ab") as out:
        out.write(b"".join(lines[1000:2000]))
    ingester(runtime, tmp_path / "centre", server="EDGE").ingest(str(log))
    with log.open("ab") as out:
        out.write(b"".join(lines[2000:]))
    run = AgentProcess(config, output, once=True)
    assert run.wait() == 0, run.log()
    assert "the centre holds this file at byte" in run.log()
    assert committed_offset(runtime, "EDGE") == sum(map(len, lines))
    assert usage_of(runtime, "EDGE") == clean_ingest(runtime, tmp_path, "CLEAN", log)

    # The centre's store goes back to a backup taken before any of it: nothing of EDGE.
    edge = _server_id(runtime, "EDGE")
    with write_transaction(runtime.engine) as conn:
        conn.execute(
            update(ingest_sources)
            .where(ingest_sources.c.server_id == edge)
            .values(offset=0, lines=0, rejected=0, unattributed=0)
        )
        for table in (usage_daily, usage_unattributed):
            conn.execute(table.delete().where(table.c.server_id == edge))
    run = AgentProcess(config, output, once=True)
    assert run.wait() == 0, run.log()
    assert usage_of(runtime, "EDGE") == usage_of(runtime, "CLEAN")


def _server_id(runtime: Runtime, name: str) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(servers.c.id).where(servers.c.name == name)).scalar_one())
