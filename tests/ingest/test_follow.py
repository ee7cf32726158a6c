"""``--follow``: lines are ingested as they are written, across a rotation where the
writer keeps appending to the renamed file for a moment; the follower's rules (which file,
when a replaced one is done, where following starts) on their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from streampanel.ingest.follow import Follower
from streampanel.runtime import Runtime
from tests.conftest import MakeAccount
from tests.ingest.helpers import ingester, totals
from tests.ingest.test_checkpoints import lines

DAY = date(2024, 3, 19)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_follow_across_rotation(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 10))
    stop = threading.Event()
    follower = ingester(runtime, tmp_path)
    reports: list = []
    thread = threading.Thread(
        target=lambda: reports.extend(follower.follow(str(log), stop, poll=0.05))
    )
    thread.start()
    try:
        wait_for(lambda: totals(runtime).get(("alpha", DAY), (0, 0))[1] == 10)
        with log.open("ab") as handle:
            handle.write(lines(10, 20))
        wait_for(lambda: totals(runtime)[("alpha", DAY)][1] == 20)
        rotated = tmp_path / "access.log.1"
        log.rename(rotated)
        with rotated.open("ab") as handle:  # the writer has not reopened yet
            handle.write(lines(20, 25))
        log.write_bytes(lines(100, 103))
        wait_for(lambda: totals(runtime)[("alpha", DAY)][1] == 28)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert [r.lines for r in reports] == [25, 3]
    # Nothing is counted twice by a later one-shot run over both files.
    for path in (rotated, log):
        assert ingester(runtime, tmp_path).ingest(str(path)).status == "already ingested"
    assert totals(runtime) == {("alpha", DAY): (2800, 28)}


def test_follow_waits_for_another_file_after_one_shorter_than_its_checkpoint(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_account(158, apps=("alpha",))
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 30))
    assert ingester(runtime, tmp_path).ingest(str(log)).lines == 30
    # Cut in place: the same first bytes (the same file) but less than was ingested.
    log.write_bytes(lines(0, 20))
    stop = threading.Event()
    reports: list = []
    thread = threading.Thread(
        target=lambda: reports.extend(ingester(runtime, tmp_path).follow(str(log), stop, 0.05))
    )
    thread.start()
    try:
        wait_for(lambda: "shorter than its checkpoint" in caplog.text)
        log.rename(tmp_path / "access.log.1")
        log.write_bytes(lines(100, 103))
        wait_for(lambda: totals(runtime)[("alpha", DAY)][1] == 33)
    finally:
        stop.set()
        thread.join(10)
    # The cut file once (not again at every poll), then the new one.
    assert [(r.status, r.lines) for r in reports] == [
        ("shorter than its checkpoint: skipped", 0),
        ("ingested", 3),
    ]


def test_follower_reads_a_rotated_file_until_it_settles(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"a1\n")
    follower = Follower(str(log), 1024)
    assert list(follower.poll()) == [b"a1\n"]
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    log.write_bytes(b"b1\n")
    with rotated.open("ab") as handle:  # the writer has not reopened yet, mid-line
        handle.write(b"a2\na3")
    assert list(follower.poll()) == [b"a2\n"]
    assert list(follower.poll()) == []
    # Unchanged for two polls: its unfinished line ends it, and the new file follows.
    assert list(follower.poll()) == [b"a3\n", b"b1\n"]
    log.write_bytes(b"c\n")  # truncated in place below what was read, and written again
    assert list(follower.poll()) == []
    assert list(follower.poll()) == []
    assert list(follower.poll()) == [b"c\n"]
    follower.close()


def test_follower_from_the_end_reads_what_is_written_from_now_on(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"before\n")
    follower = Follower(str(log), 1024, settle_polls=0, start_at_end=True)
    assert list(follower.poll()) == []
    with log.open("ab") as handle:
        handle.write(b"after\n")
    assert list(follower.poll()) == [b"after\n"]
    log.rename(tmp_path / "access.log.1")
    log.write_bytes(b"new file\n")
    assert list(follower.poll()) == [b"new file\n"]  # a new file from its start, at once
    follower.close()
    # A log that was empty or missing when following started holds only what came since.
    for name, start in (("empty.log", b""), ("missing.log", None)):
        path = tmp_path / name
        if start is not None:
            path.write_bytes(start)
        follower = Follower(str(path), 1024, start_at_end=True)
        assert list(follower.poll()) == []
        path.write_bytes(b"first\n")
        assert list(follower.poll()) == [b"first\n"]
        follower.close()
