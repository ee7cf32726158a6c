"""The centre's PostgreSQL restarted while an agent streams a growing log: the intake answers
503 meanwhile (never 500), the agent holds its blocks and delivers them once the store is
back, and every total equals a clean local ingest of the same lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from streampanel.runtime import Runtime, open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.agent.helpers import (
    AgentProcess,
    clean_ingest,
    committed_offset,
    issue_token,
    log_lines,
    usage_of,
    wait_for,
    write_config,
)
from tests.conftest import MASTER_KEY, server_env
from tests.support.postgres import ThrowawayPostgres
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres_centre(tmp_path: Path) -> Iterator[tuple[ThrowawayPostgres, Runtime, LiveServer]]:
    cluster = ThrowawayPostgres()
    url = cluster.start()
    settings = Settings(
        data_dir=tmp_path / "centre",
        database_url=url,
        master_key=SecretStr(MASTER_KEY),
        migrate_on_start=True,
    )
    runtime = open_runtime(settings)
    env = {**server_env(settings), "STREAMPANEL_BACKGROUND_SERVICES": "false"}
    server = LiveServer(env, tmp_path / "centre.log")
    server.start()
    try:
        yield cluster, runtime, server
    finally:
        server.stop()
        runtime.close()
        cluster.stop()


def test_postgresql_restart_mid_stream(
    postgres_centre: tuple[ThrowawayPostgres, Runtime, LiveServer], tmp_path: Path
) -> None:
    cluster, runtime, centre = postgres_centre
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, 158, "restart")
        for app in ("alpha", "beta", "gamma"):
            accounts.create_application(conn, 158, app)
    lines = log_lines(tmp_path, 6000)
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(lines[:2000]))
    config = write_config(
        tmp_path / "agent.toml",
        url=centre.url,
        server="EDGE",
        token_file=issue_token(runtime, "EDGE", tmp_path),
        state_dir=tmp_path / "state",
        logs=[log],
    )
    agent = AgentProcess(config, tmp_path / "agent.out")
    try:
        first = len(b"".join(lines[:2000]))
        wait_for(lambda: committed_offset(runtime, "EDGE") == first, what="the first lines")

        cluster.pause()
        with log.open("ab") as out:
            out.write(b"".join(lines[2000:4000]))
        wait_for(lambda: "503 Store unavailable" in agent.log(), what="the intake's 503")
        with log.open("ab") as out:
            out.write(b"".join(lines[4000:]))
        cluster.resume()

        wait_for(
            lambda: committed_offset(runtime, "EDGE") == sum(map(len, lines)),
            what="every block after the restart",
        )
        assert agent.stop() == 0
    finally:
        if agent.process.poll() is None:
            agent.kill()

    output = agent.log()
    assert output.count("centre unreachable: 503 Store unavailable") == 1, output
    assert "500 Internal" not in output
    assert usage_of(runtime, "EDGE") == clean_ingest(runtime, tmp_path, "CLEAN", log)
