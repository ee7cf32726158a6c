"""The demo's live viewers come through the real parser, store and HLS derivation."""

from __future__ import annotations

from sqlalchemy import func, select

from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET, seed_account
from streampanel.demo.viewers import populate
from streampanel.runtime import Runtime
from streampanel.store.tables.viewers import viewer_snapshots
from tests.conftest import Credentials
from tests.viewers.api import NOW, livedetailed


def _rows(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(viewer_snapshots)).scalar())


def test_demo_viewers_are_idempotent_and_queryable(runtime: Runtime) -> None:
    seed_account(runtime)
    populate(runtime, NOW)
    first = _rows(runtime)
    populate(runtime, NOW + 30)  # the same minute: the same rows
    assert _rows(runtime) == first > 0
    demo = Credentials(DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    rows = livedetailed(runtime, demo, app=["demo-live", "demo-events", "demo-origin"], url="*")
    by_key = {(r["server"], r["app"], r["stream"], r["protocol"]): r["viewers"] for r in rows}
    assert {s for s, *_ in by_key} == {"HML", "FRA", "NYC"}
    # The origin stream has a publisher and a push relay but no players.
    assert by_key[("HML", "demo-origin", "ingest1", "rtmp")] == 0
    assert by_key[("HML", "demo-events", "keynote", "rtmp")] > 0
    assert ("HML", "demo-live", "concert_720p", "hls") in by_key
    history = livedetailed(
        runtime,
        demo,
        app="demo-events",
        url="keynote",
        starttime=NOW - 4 * 3600,
        endtime=NOW,
        limit=10000,
    )
    # keynote started 90 minutes before the anchor on each server.
    assert len(history) == 3 * 91
