"""Rows older than the retention are purged, by the CLI and by the embedded service."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streampanel.runtime import Runtime
from streampanel.settings import Settings
from streampanel.store.tables.viewers import viewer_snapshots, viewer_streams
from streampanel.store.viewers import StreamCount
from streampanel.viewers.purge import DAY, purge_expired
from streampanel.viewers.snapshots import store_report
from tests.conftest import MakeAccount, server_env
from tests.viewers.api import NOW, livedetailed

V = "_defaultVHost_"


def _count(runtime: Runtime, table: object) -> int:
    with runtime.engine.connect() as conn:
        return len(conn.execute(table.select()).all())  # type: ignore[attr-defined]


def _fill(runtime: Runtime, now: int) -> None:
    # One stream reported 20, 10 and 0 days ago; another that ended 16 days ago.
    for age in (20, 10, 0):
        store_report(
            runtime.engine,
            "HML",
            "rtmp",
            now - age * DAY,
            [StreamCount(V, "demo-live", "cam1", age)],
            complete=False,
        )
    store_report(
        runtime.engine, "FRA", "rtmp", now - 16 * DAY, [StreamCount(V, "demo-live", "old", 1)]
    )


def test_purge_keeps_the_retention(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-live",))
    _fill(runtime, NOW)
    assert purge_expired(runtime.engine, 14, now=NOW) == 2
    assert _count(runtime, viewer_snapshots) == 2
    assert _count(runtime, viewer_streams) == 1  # the stream that ended 16 days ago is gone
    rows = livedetailed(runtime, creds, app="demo-live", url="*", starttime=NOW - 14 * DAY)
    assert [r["viewers"] for r in rows] == [10, 0]
    assert purge_expired(runtime.engine, 14, now=NOW) == 0


@pytest.mark.slow
def test_purge_command(runtime: Runtime, store_settings: Settings) -> None:
    import time

    now = int(time.time())
    _fill(runtime, now)
    result = subprocess.run(
        [sys.executable, "-m", "streampanel", "viewers", "purge"],
        env={**server_env(store_settings), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deleted 2 viewer rows older than 14 days" in result.stdout
    assert _count(runtime, viewer_snapshots) == 2
