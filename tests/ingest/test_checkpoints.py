"""Exactly once across runs: re-ingesting adds nothing, growth adds only the new lines,
rotation (rename, new file at the same path, gzip) is recognised, an unfinished last line
waits, and rejects written by a run that died before committing are not kept twice."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

from streampanel.ingest import checkpoints
from streampanel.ingest.rejects import RejectsFile
from streampanel.runtime import Runtime
from tests.conftest import MakeAccount
from tests.ingest.helpers import ingester, totals

DAY = date(2024, 3, 19)


def line(n: int, app: str = "alpha", size: int = 100) -> bytes:
    return (
        f"10.0.0.{n % 250} - - [19/Mar/2024:10:{n // 60 % 60:02d}:{n % 60:02d} +0000] "
        f'"GET /{app}/seg{n}.ts HTTP/1.1" 200 {size} "-" "test"\n'
    ).encode()


def lines(start: int, stop: int) -> bytes:
    return b"".join(line(n) for n in range(start, stop))


def test_growth_rename_new_file_and_gzip(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 100))
    assert ingester(runtime, tmp_path).ingest(str(log)).lines == 100
    with log.open("ab") as handle:  # nginx appends...
        handle.write(lines(100, 150))
    log.rename(tmp_path / "access.log.1")  # ...logrotate renames...
    log.write_bytes(lines(1000, 1020))  # ...and nginx reopens a new file at the path
    reports = [ingester(runtime, tmp_path).ingest(str(p)) for p in (tmp_path / "access.log.1", log)]
    assert [(r.status, r.lines) for r in reports] == [("resumed", 50), ("ingested", 20)]
    assert totals(runtime) == {("alpha", DAY): (170 * 100, 170)}

    # The rotated file compressed later, and everything ingested again: nothing new.
    rotated = tmp_path / "access.log.1"
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()
    for path in (tmp_path / "access.log.1.gz", log):
        report = ingester(runtime, tmp_path).ingest(str(path))
        assert (report.status, report.lines) == ("already ingested", 0)
    assert totals(runtime) == {("alpha", DAY): (170 * 100, 170)}


def test_gzip_of_a_partly_ingested_file_adds_the_rest(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 40))
    ingester(runtime, tmp_path).ingest(str(log))
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(lines(0, 90)))
    log.unlink()
    report = ingester(runtime, tmp_path).ingest(str(tmp_path / "access.log.1.gz"))
    assert (report.status, report.lines) == ("resumed", 50)
    assert totals(runtime) == {("alpha", DAY): (9000, 90)}


def test_unfinished_last_line_waits_for_its_newline(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    whole = lines(0, 10)
    log.write_bytes(whole[:-30])
    report = ingester(runtime, tmp_path).ingest(str(log))
    assert (report.lines, report.unfinished) == (9, len(line(9)) - 30)
    log.write_bytes(whole)
    report = ingester(runtime, tmp_path).ingest(str(log))
    assert (report.lines, report.unfinished) == (1, 0)
    assert totals(runtime) == {("alpha", DAY): (1000, 10)}
    # In a gzip'd file (it cannot grow) an unterminated last line is a line.
    gz = tmp_path / "other.log.gz"
    gz.write_bytes(gzip.compress(lines(500, 505).rstrip(b"\n")))
    assert ingester(runtime, tmp_path).ingest(str(gz)).lines == 5
    assert totals(runtime) == {("alpha", DAY): (1500, 15)}


def test_short_file_identity_widens_as_it_grows(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(line(0))  # shorter than the identity's 1024 bytes
    ingester(runtime, tmp_path).ingest(str(log))
    log.write_bytes(lines(0, 30))
    assert ingester(runtime, tmp_path).ingest(str(log)).lines == 29
    with runtime.engine.connect() as conn:
        (source,) = checkpoints.list_sources(conn)
    assert source["head_len"] == 1024
    assert ingester(runtime, tmp_path).ingest(str(log)).status == "already ingested"
    assert totals(runtime) == {("alpha", DAY): (3000, 30)}


def test_rejects_of_an_uncommitted_run_are_truncated(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 5) + b"garbage one\n" + lines(5, 10) + b"garbage two\n")
    first = ingester(runtime, tmp_path, block_bytes=len(lines(0, 5)) + 12)
    # Simulate a run that wrote rejects and died before its commit: the file has an extra
    # line beyond the committed length.
    report = first.ingest(str(log))
    assert report.rejected == 2
    rejects = report.rejects_path
    assert rejects is not None
    with rejects.open("ab") as handle:
        handle.write(b"written by a run that died before committing\n")
    log.write_bytes(log.read_bytes() + b"garbage three\n")
    ingester(runtime, tmp_path).ingest(str(log))
    assert rejects.read_bytes() == b"garbage one\ngarbage two\ngarbage three\n"


def test_rejects_file_names_are_safe(tmp_path: Path) -> None:
    assert RejectsFile(tmp_path, "../../etc", 7, 0).path == tmp_path / ".._.._etc" / "7.rejects"


def test_same_file_for_two_servers_counts_for_each(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 10))
    ingester(runtime, tmp_path, server="A").ingest(str(log))
    ingester(runtime, tmp_path, server="B").ingest(str(log))
    assert totals(runtime, "A") == totals(runtime, "B") == {("alpha", DAY): (1000, 10)}
