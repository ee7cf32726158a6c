"""HLS viewers from access logs: stream and client recognition, the sliding window, storage."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streampanel.runtime import Runtime
from streampanel.settings import HlsCollectorSettings
from streampanel.store.viewers import StreamCount
from streampanel.viewers.accesslog import hit_reader
from streampanel.viewers.hls import Hit, HlsViewerWindow, StreamHit, stream_hit, stream_of
from streampanel.viewers.hls_collector import HlsCollector
from tests.conftest import MakeAccount
from tests.viewers.api import NOW, livedetailed

V = "_defaultVHost_"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/live/cam1.m3u8", ("live", "cam1")),
        ("/live/cam1-17.ts", ("live", "cam1")),
        ("/live/cam_720p-3.ts", ("live", "cam_720p")),
        ("/live/cam1/index.m3u8", ("live", "cam1")),
        ("/live/cam1/12.ts", ("live", "cam1")),
        ("/live/_definst_/cam1/chunklist_w123.m3u8", ("live", "cam1")),
        ("/live/cam1/media_w123_45.ts", ("live", "cam1")),
        ("/vod/mp4:movie.mp4/playlist.m3u8", ("vod", "movie.mp4")),
        ("/vod/sestore3/demo/path/file.mp4/index.m3u8", ("vod", "sestore3/demo/path/file.mp4")),
        ("/live/cam1/seg-3.m4s", ("live", "cam1")),
        ("/live/cam1.flv", None),
        ("/index.html", None),
        ("/cam1.m3u8", None),
    ],
)
def test_stream_of_paths(path: str, expected: tuple[str, str] | None) -> None:
    assert stream_of(path) == expected


def _hit(
    uri: str, ip: str = "192.0.2.1", ua: str = "player", status: int = 200, t: int = NOW
) -> Hit:
    return Hit(time=t, ip=ip, user_agent=ua, uri=uri, status=status)


def test_clients_are_session_tokens_or_ip_and_agent() -> None:
    one = stream_hit(_hit("/live/cam1.m3u8?session=abc", ip="192.0.2.1"))
    two = stream_hit(_hit("/live/cam1-3.ts?session=abc", ip="192.0.2.99"))
    assert one is not None and two is not None and one.client == two.client == "token:abc"
    wowza = stream_hit(_hit("/live/cam1/media_w42_3.ts"))
    assert wowza is not None and wowza.client == "token:42"
    plain = stream_hit(_hit("/live/cam1.m3u8", ip="192.0.2.7", ua="VLC"))
    assert plain is not None and plain.client == "ip:192.0.2.7\tVLC"
    assert stream_hit(_hit("/live/cam1.m3u8", status=404)) is None


def _one_line(log_format: str) -> Callable[[str], Hit | None]:
    """The hit of one log line read as a block of the format, or None when unreadable."""
    read = hit_reader(log_format)

    def parse(line: str) -> Hit | None:
        found = read(line.encode() + b"\n")
        assert found.lines == 1 and len(found.hits) + found.unparsed == 1
        return found.hits[0] if found.hits else None

    return parse


def test_log_line_parsers() -> None:
    parse_combined, parse_json = _one_line("nginx-combined"), _one_line("nginx-json")
    line = (
        '192.0.2.5 - - [14/Nov/2023:22:13:20 +0000] "GET /live/cam1.m3u8?sid=9 HTTP/1.1" '
        '200 512 "-" "Mozilla/5.0 (X11)"'
    )
    assert parse_combined(line) == Hit(
        NOW, "192.0.2.5", "Mozilla/5.0 (X11)", "/live/cam1.m3u8?sid=9", 200
    )
    assert parse_combined("garbage") is None
    json_line = (
        '{"time_iso8601":"2023-11-14T23:13:20+01:00","remote_addr":"192.0.2.5",'
        '"request":"GET /live/cam1-1.ts HTTP/1.1","status":"206",'
        '"http_user_agent":"VLC"}'
    )
    assert parse_json(json_line) == Hit(NOW, "192.0.2.5", "VLC", "/live/cam1-1.ts", 206)
    assert parse_json(
        '{"msec":"1700000000.123","remote_addr":"x","request_uri":"/a/b.ts","status":200}'
    ) == Hit(NOW, "x", "", "/a/b.ts", 200)
    assert parse_json("[1]") is None
    assert parse_json("{not json") is None


def test_window_counts_distinct_clients_and_lets_them_leave() -> None:
    window = HlsViewerWindow(V, window=30, step=60)
    t0 = 1_700_000_080  # 20 s before a minute boundary
    hits = [
        StreamHit(t0, "live", "cam1", "a"),
        StreamHit(t0 + 5, "live", "cam1", "a"),
        StreamHit(t0 + 6, "live", "cam1", "b"),
        StreamHit(t0 + 7, "live", "cam2", "a"),
        # Next minute: only b keeps watching cam1.
        StreamHit(t0 + 70, "live", "cam1", "b"),
        StreamHit(t0 + 100, "live", "cam1", "b"),
    ]
    snapshots = window.feed_all(hits)
    assert [(s.time, s.counts) for s in snapshots] == [
        (1_700_000_100, [StreamCount(V, "live", "cam1", 2), StreamCount(V, "live", "cam2", 1)]),
        (1_700_000_160, [StreamCount(V, "live", "cam1", 1)]),
    ]
    # A quiet log: the clock ends the viewers once the window passes, with one empty snapshot.
    later = window.advance(1_700_000_400)
    assert [(s.time, s.counts) for s in later] == [(1_700_000_220, [])]


def _log_line(t: int, ip: str, uri: str, ua: str = "hls.js") -> str:
    stamp = datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{ip} - - [{stamp}] "GET {uri} HTTP/1.1" 200 1000 "-" "{ua}"\n'


def test_replay_stores_hls_rows(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    creds = make_account(158, apps=("demo-live",))
    log = tmp_path / "access.log"
    lines = []
    start = NOW - 600
    for second in range(0, 600, 4):
        t = start + second
        lines.append(_log_line(t, "192.0.2.1", f"/demo-live/cam1-{second}.ts"))
        lines.append(_log_line(t, "192.0.2.2", f"/demo-live/cam1.m3u8?session=s{second // 300}"))
        if second < 300:
            lines.append(_log_line(t, "192.0.2.3", "/demo-live/cam2/index.m3u8", ua="Safari"))
    lines.append("not a log line\n")
    log.write_text("".join(lines))
    collector = HlsCollector(runtime.engine, "HML", log, window=60, step=60)
    snapshots, stored = collector.replay()
    assert collector.stats.unparsed == 1
    assert snapshots > 0 and stored.rows > 0
    rows = livedetailed(runtime, creds, app="demo-live", url="*")
    assert [(r["stream"], r["viewers"], r["protocol"]) for r in rows] == [("cam1", 2, "hls")]
    history = livedetailed(runtime, creds, app="demo-live", url="cam2", starttime=start)
    assert [r["viewers"] for r in history][-1] == 0
    assert max(r["viewers"] for r in history) == 1
    cam1 = livedetailed(runtime, creds, app="demo-live", url="cam1", starttime=start)
    # Session s0 and s1 overlap within one window at the switch: 3 clients there, else 2.
    assert {r["viewers"] for r in cam1} <= {2, 3}
    # Replaying again stores the same rows, not more.
    again = HlsCollector(runtime.engine, "HML", log, window=60, step=60)
    again.replay()
    assert livedetailed(runtime, creds, app="demo-live", url="cam1", starttime=start) == cam1
    # A gzip'd copy (a rotated log) is read as the plain one: the ingester's reader.
    packed = tmp_path / "access.log.2.gz"
    packed.write_bytes(gzip.compress(log.read_bytes()))
    unpacked = HlsCollector(runtime.engine, "HML", packed, window=60, step=60)
    assert unpacked.replay()[0] == snapshots and unpacked.stats == collector.stats
    assert livedetailed(runtime, creds, app="demo-live", url="cam1", starttime=start) == cam1


def test_follow_reads_only_new_lines_and_survives_rotation(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    creds = make_account(158, apps=("demo-live",))
    log = tmp_path / "access.log"
    log.write_text(_log_line(NOW - 30, "192.0.2.9", "/demo-live/old.m3u8"))
    collector = HlsCollector(runtime.engine, "HML", log, window=60, step=60)
    collector.tick(now=NOW)  # opens at the end: the old line is not a viewer now
    with log.open("a") as handle:
        handle.write(_log_line(NOW + 10, "192.0.2.1", "/demo-live/cam1.m3u8"))
        handle.write(_log_line(NOW + 20, "192.0.2.2", "/demo-live/cam1-1.ts"))
    collector.tick(now=NOW + 100)
    rows = livedetailed(runtime, creds, app="demo-live", url="*", now=NOW + 100)
    assert [(r["stream"], r["viewers"]) for r in rows] == [("cam1", 2)]
    log.rename(tmp_path / "access.log.1")
    log.write_text(_log_line(NOW + 130, "192.0.2.1", "/demo-live/cam1.m3u8"))
    collector.tick(now=NOW + 200)
    rows = livedetailed(runtime, creds, app="demo-live", url="*", now=NOW + 200)
    assert [(r["stream"], r["viewers"]) for r in rows] == [("cam1", 1)]
    collector.tick(now=NOW + 400)
    assert livedetailed(runtime, creds, app="demo-live", url="*", now=NOW + 400) == []
    collector.close()


def test_collector_takes_the_ingest_format_names(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    configured = HlsCollectorSettings(server="HML", log=log, format="json")  # an older file
    assert HlsCollector(runtime.engine, "HML", log, configured.format).log_format == "nginx-json"
    assert HlsCollector(runtime.engine, "HML", log).log_format == "nginx-combined"
    with pytest.raises(ValueError, match="per session event"):
        HlsCollector(runtime.engine, "HML", log, "wowza")
