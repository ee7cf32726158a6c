"""viewer.livedetailed: live now, ranges, stream patterns, paging, tenancy, errors."""

from __future__ import annotations

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import StreamCount
from streampanel.viewers.snapshots import store_report
from tests.conftest import MakeAccount
from tests.viewers.api import NOW, call, livedetailed

V = "_defaultVHost_"


def _servers(runtime: Runtime) -> None:
    with write_transaction(runtime.engine) as conn:
        accounts.create_server(conn, "HML", "Hamilton, CA")
        accounts.create_server(conn, "FRA", "Frankfurt, DE")


def _view(rows: list[dict]) -> list[tuple]:
    return [(r["updated"][11:], r["server"], r["app"], r["stream"], r["viewers"]) for r in rows]


def test_live_now_is_the_latest_snapshot_of_each_server(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live", "demo-vod"))
    _servers(runtime)
    t0 = NOW - 120
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        t0,
        [StreamCount(V, "demo-live", "cam1", 5), StreamCount(V, "demo-live", "cam2", 1)],
    )
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        t0 + 60,
        [StreamCount(V, "demo-live", "cam1", 7), StreamCount(V, "demo-live", "cam2", 0)],
    )
    store_report(runtime.engine, "FRA", "rtmp", t0 + 30, [StreamCount(V, "demo-live", "cam1", 3)])
    rows = livedetailed(runtime, creds, app="demo-live", url="cam1")
    assert _view(rows) == [
        ("22:11:50", "FRA", "demo-live", "cam1", 3),
        ("22:12:20", "HML", "demo-live", "cam1", 7),
    ]
    assert rows[0] == {
        "updated": "2023-11-14 22:11:50",
        "server": "FRA",
        "location": "Frankfurt, DE",
        "vhost": V,
        "app": "demo-live",
        "stream": "cam1",
        "viewers": 3,
        "protocol": "rtmp",
    }
    # A stream that is still published with nobody watching is live with zero viewers.
    assert _view(livedetailed(runtime, creds, app="demo-live", url="cam2")) == [
        ("22:12:20", "HML", "demo-live", "cam2", 0)
    ]


def test_a_stream_gone_from_a_complete_snapshot_leaves_live_now(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live",))
    _servers(runtime)
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        NOW - 60,
        [StreamCount(V, "demo-live", "cam1", 5), StreamCount(V, "demo-live", "cam2", 2)],
    )
    store_report(runtime.engine, "HML", "rtmp", NOW, [StreamCount(V, "demo-live", "cam1", 4)])
    assert _view(livedetailed(runtime, creds, app="demo-live", url="cam*")) == [
        ("22:13:20", "HML", "demo-live", "cam1", 4)
    ]
    # History keeps where it ended: one zero row.
    rows = livedetailed(runtime, creds, app="demo-live", url="cam2", starttime=NOW - 3600)
    assert _view(rows) == [
        ("22:12:20", "HML", "demo-live", "cam2", 2),
        ("22:13:20", "HML", "demo-live", "cam2", 0),
    ]


def test_stream_patterns(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-live", "demo-vod"))
    _servers(runtime)
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        NOW,
        [
            StreamCount(V, "demo-live", "mystream_720p", 1),
            StreamCount(V, "demo-live", "mystream_360p", 2),
            StreamCount(V, "demo-live", "other", 3),
            StreamCount(V, "demo-live", "my%stream", 4),
            StreamCount(V, "demo-live", "my_stream", 5),
            StreamCount(V, "demo-vod", "sestore3/demo/path/file.mp4", 6),
        ],
    )

    def streams(**params: object) -> list[str]:
        return [r["stream"] for r in livedetailed(runtime, creds, **params)]

    assert streams(app="demo-live", url="mystream_*") == ["mystream_360p", "mystream_720p"]
    assert streams(app="demo-live", url="mystream_720p|other") == ["mystream_720p", "other"]
    assert streams(app="demo-live", url=["other", "*360p"]) == ["mystream_360p", "other"]
    # % and _ are literal characters, not SQL wildcards.
    assert streams(app="demo-live", url="my%stream") == ["my%stream"]
    assert streams(app="demo-live", url="my_*") == ["my_stream"]
    assert streams(app="demo-vod", url="sestore3/demo/path/file.mp4") == [
        "sestore3/demo/path/file.mp4"
    ]
    assert streams(app=["demo-live", "demo-vod"], url="*") == [
        "my%stream",
        "my_stream",
        "mystream_360p",
        "mystream_720p",
        "other",
        "sestore3/demo/path/file.mp4",
    ]
    assert streams(app=creds.apps["demo-vod"], url="*.mp4") == ["sestore3/demo/path/file.mp4"]


def test_range_is_oldest_first_and_paged(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-live",))
    _servers(runtime)
    for minute in range(5):
        at = NOW - 300 + minute * 60
        store_report(runtime.engine, "HML", "rtmp", at, [StreamCount(V, "demo-live", "s", minute)])
        store_report(runtime.engine, "FRA", "rtmp", at, [StreamCount(V, "demo-live", "s", 10)])
    everything = livedetailed(
        runtime, creds, app="demo-live", url="s", starttime="2023-11-14 22:08:20", endtime=NOW
    )
    assert [(r["updated"][11:], r["server"]) for r in everything] == [
        (f"22:{m:02d}:20", s) for m in range(8, 13) for s in ("FRA", "HML")
    ]
    page = livedetailed(
        runtime,
        creds,
        app="demo-live",
        url="s",
        starttime=NOW - 300,
        endtime=NOW,
        limit=3,
        offset=2,
    )
    assert page == everything[2:5]
    inner = livedetailed(
        runtime, creds, app="demo-live", url="s", starttime=NOW - 180, endtime=str(NOW - 120)
    )
    assert [(r["updated"][11:], r["server"], r["viewers"]) for r in inner] == [
        ("22:10:20", "FRA", 10),
        ("22:10:20", "HML", 2),
        ("22:11:20", "FRA", 10),
        ("22:11:20", "HML", 3),
    ]


def test_no_other_accounts_data(runtime: Runtime, make_account: MakeAccount) -> None:
    mine = make_account(158, apps=("demo-live",))
    theirs = make_account(159, apps=("their-live",))
    _servers(runtime)
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        NOW,
        [
            StreamCount(V, "demo-live", "cam", 1),
            StreamCount(V, "their-live", "cam", 9),
            StreamCount(V, "unregistered", "cam", 4),
        ],
    )
    assert [r["app"] for r in livedetailed(runtime, mine, app="demo-live", url="*")] == [
        "demo-live"
    ]
    assert [r["app"] for r in livedetailed(runtime, theirs, app="their-live", url="*")] == [
        "their-live"
    ]
    for app in ("their-live", "unregistered", theirs.apps["their-live"]):
        body = call(runtime, mine, "viewer.livedetailed", app=app, url="*")
        assert (body["status"], body["code"], body["message"]) == (
            "failure",
            404,
            f"Unknown application '{app}'",
        )


def test_parameter_errors_name_the_member(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-live",))
    cases = [
        ({"url": "x"}, "Missing required parameter 'app'"),
        ({"app": "demo-live"}, "Missing required parameter 'url'"),
        ({"app": "demo-live", "url": 5}, "Invalid parameter 'url'"),
        ({"app": "demo-live", "url": "|"}, "Invalid parameter 'url'"),
        (
            {"app": "demo-live", "url": "x", "starttime": "yesterday"},
            "Invalid parameter 'starttime'",
        ),
        (
            {"app": "demo-live", "url": "x", "starttime": NOW - 20 * 86400},
            "Invalid parameter 'starttime'",
        ),
        (
            {"app": "demo-live", "url": "x", "starttime": NOW, "endtime": NOW - 1},
            "Invalid parameter 'endtime'",
        ),
        ({"app": "demo-live", "url": "x", "limit": -1}, "Invalid parameter 'limit'"),
        ({"app": "demo-live", "url": "x", "limit": 0}, "Invalid parameter 'limit'"),
        ({"app": "demo-live", "url": "x", "offset": "a"}, "Invalid parameter 'offset'"),
    ]
    for params, message in cases:
        body = call(runtime, creds, "viewer.livedetailed", **params)
        assert body["status"] == "failure", params
        assert body["code"] == 400, params
        assert body["message"].startswith(message), (params, body["message"])


def test_no_data_is_an_empty_list(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-live",))
    assert livedetailed(runtime, creds, app="demo-live", url="*") == []
    assert livedetailed(runtime, creds, app="demo-live", url="*", starttime=NOW - 60) == []


def test_a_collector_closes_only_streams_of_its_own_vhost(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live",))
    _servers(runtime)
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        NOW - 60,
        [StreamCount("edge", "demo-live", "a", 1)],
        vhosts={"edge"},
    )
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        NOW,
        [StreamCount("origin", "demo-live", "b", 2)],
        vhosts={"origin"},
    )
    rows = livedetailed(runtime, creds, app="demo-live", url="*")
    assert [(r["vhost"], r["stream"]) for r in rows] == [("edge", "a"), ("origin", "b")]
    store_report(runtime.engine, "HML", "rtmp", NOW + 60, [], vhosts={"edge"})
    rows = livedetailed(runtime, creds, app="demo-live", url="*", now=NOW + 60)
    assert [(r["vhost"], r["stream"]) for r in rows] == [("origin", "b")]
