"""Each format's fixture through the real pipeline into the store: totals per UTC day and
application, unattributed traffic, rejected lines kept, and a second run adding nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from streampanel.ingest.formats import BlockResult, make_parser
from streampanel.ingest.formats.wowza import zone
from streampanel.runtime import Runtime
from tests.conftest import MakeAccount
from tests.ingest.helpers import APP_PATTERN, FIXTURES, ingester, totals, unattributed

D19, D20 = date(2024, 3, 19), date(2024, 3, 20)


def test_nginx_combined(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> None:
    make_account(158, apps=("alpha", "beta"))
    report = ingester(runtime, tmp_path).ingest(str(FIXTURES / "combined.log"))
    assert (report.status, report.lines, report.rejected) == ("ingested", 13, 4)
    assert totals(runtime) == {
        # 400 + 100000 + 20000 (01:30 +0200 is 23:30 UTC the day before) + a HEAD's 0
        ("alpha", D19): (120400, 4),
        ("beta", D19): (5000, 1),
        ("beta", D20): (7, 1),  # 19:00 -0530 is 00:30 UTC the next day
    }
    assert unattributed(runtime) == {("nosuchapp", D19): (153, 1), ("", D19): (769, 2)}
    assert report.rejects_path is not None
    assert report.rejects_path.read_bytes().splitlines() == [
        b"this is not a log line",
        b'10.0.0.7 - - [32/Mar/2024:12:00:01 +0000] "GET /alpha/x HTTP/1.1" 200 1 "-" "-"',
        b"",
        b'10.0.0.8 - - [19/Mar/2024:12:00:02 +0000] "GET /alpha/y HTTP/1.1" 200 notanumber "-" "-"',
    ]
    again = ingester(runtime, tmp_path).ingest(str(FIXTURES / "combined.log"))
    assert (again.status, again.lines) == ("already ingested", 0)
    assert totals(runtime)[("alpha", D19)] == (120400, 4)
    assert len(report.rejects_path.read_bytes().splitlines()) == 4


def test_nginx_combined_line_by_line_path_agrees(tmp_path: Path) -> None:
    """A stray quote sends a block to the per-line regex: same totals for the other lines."""
    block = (FIXTURES / "combined.log").read_bytes()
    parser = make_parser("nginx-combined", APP_PATTERN)
    fast = parser.parse(block)
    odd = b'10.0.0.9 - - [19/Mar/2024:12:00:03 +0000] "GET /alpha/"odd HTTP/1.1" 200 5 "-" "-\n'
    slow = parser.parse(block + odd)
    assert slow.lines == fast.lines + 1
    assert sorted(slow.totals.rows()) == sorted(fast.totals.rows())
    assert slow.rejects == [*fast.rejects, odd.rstrip(b"\n")]


def test_nginx_json(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> None:
    make_account(158, apps=("alpha", "beta"))
    report = ingester(runtime, tmp_path, fmt="nginx-json").ingest(str(FIXTURES / "access.json.log"))
    assert (report.lines, report.rejected) == (6, 2)
    assert totals(runtime) == {("alpha", D19): (650 + 20250, 2), ("beta", D20): (7, 1)}
    assert unattributed(runtime) == {("nosuchapp", D19): (153, 1)}


def test_wowza(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> None:
    make_account(158, apps=("live", "vod"))
    report = ingester(runtime, tmp_path, fmt="wowza").ingest(str(FIXTURES / "wowza.log"))
    assert (report.lines, report.rejected) == (19, 2)
    assert totals(runtime) == {
        # increments of the cumulative sc-bytes, never their sum
        ("live", D19): (3073 + 427 + 1000 + 500000 + 100, 2),
        ("live", D20): (4000, 0),
        ("vod", D19): (2000, 1),  # 00:30 CET is 23:30 UTC the day before
        ("vod", D20): (7000, 0),
    }
    assert unattributed(runtime) == {("ghost", D20): (42, 1)}


@pytest.mark.parametrize("block_bytes", [40, 333])
def test_wowza_state_survives_blocks_and_runs(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path, block_bytes: int
) -> None:
    """Cut into tiny blocks, and into two runs of a growing file: the same bill."""
    make_account(158, apps=("live", "vod"))
    content = (FIXTURES / "wowza.log").read_bytes()
    log = tmp_path / "wowza.log"
    half = content.index(b"2024-03-19\t10:10:00")
    log.write_bytes(content[:half])
    ingester(runtime, tmp_path, fmt="wowza", block_bytes=block_bytes).ingest(str(log))
    log.write_bytes(content)
    report = ingester(runtime, tmp_path, fmt="wowza", block_bytes=block_bytes).ingest(str(log))
    assert report.status == "resumed"
    assert totals(runtime)[("live", D19)] == (504600, 2)
    assert totals(runtime)[("vod", D20)] == (7000, 0)


def test_wowza_sc_bytes_inc_is_billed_as_is() -> None:
    parser = make_parser("wowza", APP_PATTERN)
    block = (
        b"#Fields: date\ttime\ttz\tx-event\tx-app\tc-client-id\tsc-bytes\tsc-bytes-inc\n"
        b"2024-03-19\t10:00:00\tUTC\tplay\tlive\t1\t1000\t1000\n"
        b"2024-03-19\t10:01:00\tUTC\tstop\tlive\t1\t1500\t500\n"
    )
    assert parser.parse(block).totals.rows() == [(D19, "live", 1500, 1)]


@pytest.mark.parametrize(
    ("name", "hours"),
    [("UTC", 0), ("CET", 1), ("PDT", -7), ("+0530", 5.5), ("GMT-03:00", -3), ("Asia/Tokyo", 9)],
)
def test_wowza_zones(name: str, hours: float) -> None:
    from datetime import datetime

    found = zone(name)
    assert found is not None
    assert found.utcoffset(datetime(2024, 1, 10)).total_seconds() == hours * 3600  # type: ignore[union-attr]
    assert zone("Mars/Olympus") is None


def test_wowza_counters_run_on_across_rotation(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    """A session spanning a rotation is billed its increase, not its total again."""
    make_account(158, apps=("live",))
    header = b"#Fields: date\ttime\ttz\tx-event\tx-app\tc-client-id\tsc-bytes\n"
    first, second = tmp_path / "wowza.log.1", tmp_path / "wowza.log"
    first.write_bytes(header + b"2024-03-19\t23:59:00\tUTC\tplay\tlive\t9\t1000\n")
    second.write_bytes(header + b"2024-03-20\t00:01:00\tUTC\tstop\tlive\t9\t1500\n")
    for path in (first, second):
        ingester(runtime, tmp_path, fmt="wowza").ingest(str(path))
    assert totals(runtime) == {("live", D19): (1000, 1), ("live", D20): (500, 0)}


def test_rejected_lines_found_by_position(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from streampanel.ingest.formats import common

    monkeypatch.setattr(common, "_SEGMENT", 50)  # many segments on small blocks
    rng = random.Random(3)
    for _ in range(200):
        lines = [
            bytes(rng.choice(b"ab\r") for _ in range(rng.randint(0, 120)))
            for _ in range(rng.randint(1, 60))
        ]
        block = b"\n".join(lines) + b"\n"
        bad = sorted(rng.sample(range(len(lines)), rng.randint(0, len(lines))))
        expected = [line.removesuffix(b"\r") for line in (lines[i] for i in bad)]
        assert common.rejected_lines(block, bad) == expected
        # Given the line count, lines in the second half are counted from the end.
        assert common.rejected_lines(block, bad, len(lines)) == expected


def test_zones_with_odd_minutes_split_by_the_minute() -> None:
    parser = make_parser("nginx-combined", APP_PATTERN)
    block = b"".join(
        b"1.2.3.4 - - [01/Jan/2024:" + t + b' +0530] "GET /x/y HTTP/1.1" 200 10 "-" "-"\n'
        for t in (b"05:20:00", b"05:40:00", b"23:30:00", b"05:xx:00")
    )
    result = parser.parse(block)
    # 05:20 +0530 is 23:50 UTC the day before; 05:40 is 00:10 UTC.
    assert sorted(result.totals.rows()) == [
        (date(2023, 12, 31), "x", 10, 1),
        (date(2024, 1, 1), "x", 20, 2),
    ]
    assert result.rejects == [block.splitlines()[3]]


def test_nginx_combined_every_line_counted_or_rejected_verbatim() -> None:
    """Fixture lines shuffled with damaged copies (stray quotes, cut lines, CR, blank and
    non-UTF-8 lines): each line is either billed or kept as it was, never lost, whichever
    path (CSV or per-line regex) the block takes."""
    import random

    fixture = (FIXTURES / "combined.log").read_bytes().splitlines()
    good = [line for line in fixture if parse_alone(line).rejects == []]
    rng = random.Random(11)
    damage = [
        lambda line: line[: rng.randint(0, len(line))],
        lambda line: line.replace(b'"', b"", 1),
        lambda line: line + b"\r",
        lambda line: b"\xff\xfe" + line,
        lambda line: b"",
    ]
    parser = make_parser("nginx-combined", APP_PATTERN)
    for _ in range(60):
        lines = [
            rng.choice(damage)(line) if rng.random() < 0.2 else line
            for line in rng.choices(fixture + good * 3, k=rng.randint(1, 40))
        ]
        block = b"\n".join(lines) + b"\n"
        result = parser.parse(block)
        assert result.lines == len(lines)
        assert sum(result.totals["requests"]) + len(result.rejects) == len(lines)
        kept = [line.removesuffix(b"\r") for line in lines]
        assert all(reject in kept for reject in result.rejects)
        alone: Counter[tuple[date, str]] = Counter()
        for line in lines:
            for day, app, sent, requests in parse_alone(line).totals.rows():
                alone[(day, app)] += sent * 1_000_000 + requests
        together = Counter({(d, a): b * 1_000_000 + r for d, a, b, r in result.totals.rows()})
        assert together == alone


def parse_alone(line: bytes) -> BlockResult:
    return make_parser("nginx-combined", APP_PATTERN).parse(line + b"\n")
