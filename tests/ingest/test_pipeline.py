"""Blocks parsed ahead in worker threads are committed in the order they were read, and a
failure, in a parse or a commit, stops the commits there."""

from __future__ import annotations

import random
import threading
import time

import pytest

from streampanel.ingest.blocks import ParseAhead
from streampanel.ingest.formats.common import BlockResult, empty_totals


def parsed(block: bytes) -> tuple[BlockResult, str]:
    # Parses end out of order: later blocks often finish first.
    time.sleep(random.random() / 100)
    if block == b"bad\n":
        raise ValueError("unparsable")
    return BlockResult(empty_totals(), 1, [block]), "{}"


@pytest.mark.parametrize("ahead", [1, 2, 3])
def test_blocks_are_committed_in_read_order(ahead: int) -> None:
    committed: list[tuple[int, list[bytes]]] = []
    committing = threading.current_thread()

    def commit(end: int, result: tuple[BlockResult, str]) -> None:
        assert threading.current_thread() is committing
        committed.append((end, result[0].rejects))

    with ParseAhead(parsed, commit, ahead=ahead) as blocks:
        for n in range(20):
            blocks.submit(b"%d\n" % n, n)
            assert len(committed) >= n + 1 - ahead  # never more than ``ahead`` waiting
    assert committed == [(n, [b"%d\n" % n]) for n in range(20)]


def test_a_failed_parse_stops_the_commits_before_its_block() -> None:
    committed: list[int] = []
    with (
        pytest.raises(ValueError, match="unparsable"),
        ParseAhead(parsed, lambda end, _: committed.append(end), ahead=2) as blocks,
    ):
        for n, block in enumerate([b"1\n", b"2\n", b"bad\n", b"4\n", b"5\n"]):
            blocks.submit(block, n)
    assert committed == [0, 1]


def test_a_failed_commit_stops_the_run() -> None:
    committed: list[int] = []

    def commit(end: int, _: tuple[BlockResult, str]) -> None:
        if end == 2:
            raise RuntimeError("store gone")
        committed.append(end)

    with (
        pytest.raises(RuntimeError, match="store gone"),
        ParseAhead(parsed, commit, ahead=2) as blocks,
    ):
        for n in range(6):
            blocks.submit(b"%d\n" % n, n)
    assert committed == [0, 1]


def test_leaving_by_an_exception_commits_nothing_more() -> None:
    committed: list[int] = []
    with (
        pytest.raises(KeyboardInterrupt),
        ParseAhead(parsed, lambda end, _: committed.append(end), ahead=3) as blocks,
    ):
        for n in range(3):
            blocks.submit(b"%d\n" % n, n)
        raise KeyboardInterrupt
    assert committed == []
