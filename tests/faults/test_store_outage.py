"""PostgreSQL stopped in the middle of traffic and started again: clean 503 envelopes while
it is down, recovery without restarting streampanel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streampanel.client import Client, StreamPanelError
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.conftest import MASTER_KEY, server_env
from tests.support.postgres import ThrowawayPostgres
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def outage_setup(tmp_path: Path) -> Iterator[tuple[ThrowawayPostgres, LiveServer, Client]]:
    cluster = ThrowawayPostgres()
    url = cluster.start()
    settings = Settings(
        data_dir=tmp_path, database_url=url, master_key=MASTER_KEY, migrate_on_start=True
    )
    runtime = open_runtime(settings)
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, 158, "outage")
        api_key, secret = accounts.create_api_key(conn, runtime.box, 158)
        accounts.create_application(conn, 158, "demo-origin")
    runtime.close()
    env = {**server_env(settings), "STREAMPANEL_KEY_CACHE_SECONDS": "0"}
    server = LiveServer(env, tmp_path / "server.log")
    server.start()
    client = Client(server.api_url, 158, api_key, secret, timeout=20)
    try:
        yield cluster, server, client
    finally:
        client.close()
        server.stop()
        cluster.stop()


def calls(client: Client) -> list[int]:
    codes = []
    for command, params in (("video.getapps", {}), ("video.servers", {"app": "demo-origin"})):
        try:
            client.call(command, **params)
            codes.append(200)
        except StreamPanelError as error:
            codes.append(error.code)
    return codes


def test_postgresql_outage_and_recovery(outage_setup) -> None:
    cluster, server, client = outage_setup
    assert calls(client) == [200, 200]
    pid = server.process.pid

    cluster.pause()
    for _ in range(3):
        assert calls(client) == [503, 503]
    # The failure is the envelope with a clear message, never a traceback.
    with pytest.raises(StreamPanelError) as failure:
        client.video_getapps()
    assert failure.value.message == "Store unavailable, try again shortly"
    assert failure.value.response is not None
    assert set(failure.value.response) == {"status", "code", "message", "handle_time"}

    cluster.resume()
    deadline = time.monotonic() + 20
    while calls(client) != [200, 200]:
        assert time.monotonic() < deadline, f"streampanel did not recover: {calls(client)}"
        time.sleep(0.5)
    assert server.process.pid == pid and server.process.poll() is None
