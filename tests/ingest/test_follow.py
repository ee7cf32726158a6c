"""``--follow``: lines are ingested as they are written, across a rotation where the
writer keeps appending to the renamed file for a moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

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
