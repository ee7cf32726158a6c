"""The collector over real HTTP: a poll stores a snapshot; a failing poll is logged and retried;
the embedded server runs configured collectors itself."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from streampanel.runtime import Runtime
from streampanel.settings import Settings
from streampanel.store.tables.viewers import viewer_snapshots
from streampanel.store.viewers import StreamCount
from streampanel.viewers.collector import RtmpCollector
from streampanel.viewers.snapshots import store_report
from tests.conftest import MakeAccount, server_env
from tests.support.server import LiveServer
from tests.viewers.api import livedetailed
from tests.viewers.stat_server import StatServer, stat_document


def test_poll_once_stores_players_per_stream(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-live",))
    with StatServer([stat_document({"cam1": 3, "cam2": 0})]).running() as stat:
        collector = RtmpCollector(runtime.engine, "HML", stat.url)
        result = collector.poll_once(now=1_700_000_000)
    assert (result.streams, result.viewers) == (2, 3)
    rows = livedetailed(runtime, creds, app="demo-live", url="*")
    assert [(r["server"], r["stream"], r["viewers"]) for r in rows] == [
        ("HML", "cam1", 3),
        ("HML", "cam2", 0),
    ]


def test_failing_polls_are_logged_and_retried(
    runtime: Runtime, make_account: MakeAccount, caplog: pytest.LogCaptureFixture
) -> None:
    creds = make_account(158, apps=("demo-live",))
    documents = [None, b"<html>bad gateway</html>", stat_document({"cam1": 2})]
    with StatServer(documents).running() as stat:
        collector = RtmpCollector(runtime.engine, "HML", stat.url, interval=0.1)

        async def run_until_stored() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop))
            deadline = time.monotonic() + 10
            while stat.requests < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await task

        with caplog.at_level(logging.WARNING, logger="streampanel.viewers"):
            asyncio.run(run_until_stored())
    failures = [r.getMessage() for r in caplog.records if "poll of" in r.getMessage()]
    assert len(failures) == 2
    assert "HTTPStatusError" in failures[0] and "StatFormatError" in failures[1]
    rows = livedetailed(runtime, creds, app="demo-live", url="cam1", now=int(time.time()))
    assert [r["viewers"] for r in rows] == [2]


@pytest.mark.slow
def test_embedded_server_runs_configured_collectors_and_purge(
    runtime: Runtime, make_account: MakeAccount, store_settings: Settings, tmp_path: Path
) -> None:
    creds = make_account(158, apps=("demo-live",))
    expired = int(time.time()) - 15 * 86400
    store_report(runtime.engine, "HML", "rtmp", expired, [StreamCount("v", "demo-live", "x", 1)])
    with StatServer([stat_document({"cam1": 4})]).running() as stat:
        env = server_env(store_settings)
        env["STREAMPANEL_COLLECTORS"] = json.dumps(
            [{"server": "NYC", "nginx_rtmp": stat.url, "interval": 0.5}]
        )
        server = LiveServer(env, tmp_path / "server.log")
        server.start()
        try:
            deadline = time.monotonic() + 15
            rows: list = []
            while not rows and time.monotonic() < deadline:
                time.sleep(0.2)
                rows = livedetailed(runtime, creds, app="demo-live", url="*", now=int(time.time()))
        finally:
            server.stop()
    assert [(r["server"], r["stream"], r["viewers"]) for r in rows] == [("NYC", "cam1", 4)]
    # The purge service ran at start: the 15-day-old row is gone.
    with runtime.engine.connect() as conn:
        assert conn.execute(select(viewer_snapshots.c.time)).scalars().all() != []
        assert expired not in conn.execute(select(viewer_snapshots.c.time)).scalars().all()


@pytest.mark.slow
def test_embedded_server_follows_configured_hls_logs(
    runtime: Runtime, make_account: MakeAccount, store_settings: Settings, tmp_path: Path
) -> None:
    creds = make_account(158, apps=("demo-live",))
    log = tmp_path / "access.log"
    log.write_text("")
    env = server_env(store_settings)
    env["STREAMPANEL_HLS_COLLECTORS"] = json.dumps(
        [{"server": "HML", "log": str(log), "window": 10, "interval": 1}]
    )
    server = LiveServer(env, tmp_path / "server.log")
    server.start()
    try:
        deadline = time.monotonic() + 30
        rows: list = []
        while not rows and time.monotonic() < deadline:
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
            with log.open("a") as handle:
                for ip in ("192.0.2.1", "192.0.2.2"):
                    handle.write(
                        f'{ip} - - [{stamp}] "GET /demo-live/cam1/index.m3u8 HTTP/1.1" '
                        '200 300 "-" "hls.js"\n'
                    )
            time.sleep(0.5)
            rows = livedetailed(runtime, creds, app="demo-live", url="*", now=int(time.time()))
    finally:
        server.stop()
    assert [(r["server"], r["stream"], r["protocol"], r["viewers"]) for r in rows] == [
        ("HML", "cam1", "hls", 2)
    ]
