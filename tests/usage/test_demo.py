"""The demo populator: generated logs through the real ingester and a storage tree through
the real collector, so video.servers and disk.usage answer at once; running it twice adds
nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET, seed_account
from streampanel.demo.usage import populate_usage
from streampanel.runtime import Runtime
from tests.conftest import Credentials
from tests.viewers.api import call


def test_demo_usage(runtime: Runtime, tmp_path: Path) -> None:
    demo = Runtime(
        runtime.settings.model_copy(update={"data_dir": tmp_path}), runtime.engine, runtime.box
    )
    seed_account(demo)
    populate_usage(demo)
    assert demo.settings.storage_roots == [
        tmp_path / "demo" / "storage" / "sestore1",
        tmp_path / "demo" / "storage" / "sestore2",
    ]
    creds = Credentials(DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    now = int(time.time())
    today = datetime.now(UTC).date()

    def answer(command: str, **params: object) -> list[dict]:
        body = call(runtime, creds, command, now=now, **params)
        assert body["status"] == "success", body
        return body["data" if command == "video.servers" else "usage"]

    rows = answer("video.servers", app=["demo-origin", "demo-live", "demo-vod", "demo-events"])
    assert len(rows) == 30 * 3
    assert {r["server"] for r in rows} == {"FRA", "HML", "NYC"}
    assert all(r["requests_total"] > 100 and r["bytes_total"] > 10**7 for r in rows[:-3])
    first_day = (today - timedelta(days=29)).isoformat()
    assert rows[0]["date"] == first_day and rows[-1]["date"] == today.isoformat()
    events = answer("video.servers", app="demo-events")
    assert any(r["bytes_total"] == 0 for r in events)  # weekdays without events
    disk = answer("disk.usage", cpu="", starttime=first_day)
    assert len(disk) == 60
    demo_bytes = [r["bytes_total"] for r in disk if r["cpu_user"] == "demo"]
    assert demo_bytes == sorted(demo_bytes) and demo_bytes[0] < demo_bytes[-1]

    populate_usage(demo)  # again: nothing doubles
    assert (
        answer("video.servers", app=["demo-origin", "demo-live", "demo-vod", "demo-events"]) == rows
    )
    assert answer("disk.usage", cpu="", starttime=first_day) == disk
