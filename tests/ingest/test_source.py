"""Reading a log's content in blocks of complete lines: plain files (read by position) and
gzip'd ones give the same blocks' bytes, whatever the block size, line lengths, growth and
unfinished last line."""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path

import pytest

from streampanel.ingest import source
from streampanel.ingest.source import open_content


def read_all(path: Path, size: int, *, final: bool, skip: int = 0) -> tuple[list[bytes], int]:
    """Every block ``read_block`` gives, and the unfinished length it ends with."""
    content = open_content(str(path))
    try:
        if skip:
            content.skip(skip)
        blocks: list[bytes] = []
        while True:
            block, unfinished = content.read_block(size, final=final)
            if not block:
                return blocks, unfinished
            assert block.endswith(b"\n")
            blocks.append(block)
    finally:
        content.close()


def random_lines(rng: random.Random, count: int, longest: int) -> bytes:
    return b"".join(
        bytes(rng.choice(b'ab \r"') for _ in range(rng.randint(0, longest))) + b"\n"
        for _ in range(count)
    )


@pytest.mark.parametrize("probe", [8, 64 << 10])
def test_plain_and_gzip_blocks_hold_every_complete_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe: int
) -> None:
    # A small probe misses the last newline of most blocks: the general path reads them.
    monkeypatch.setattr(source, "_PROBE_BYTES", probe)
    rng = random.Random(7)
    for case in range(40):
        data = random_lines(rng, rng.randint(1, 80), rng.choice([5, 40, 300]))
        tail = bytes(rng.choice(b"ab") for _ in range(rng.randint(0, 30)))
        plain, packed = tmp_path / f"{case}.log", tmp_path / f"{case}.log.gz"
        plain.write_bytes(data + tail)
        packed.write_bytes(gzip.compress(data + tail))
        size = rng.choice([1, 16, 100, 4096])
        blocks, unfinished = read_all(plain, size, final=False)
        assert b"".join(blocks) == data
        assert unfinished == len(tail)
        final_blocks, _ = read_all(plain, size, final=True)
        assert b"".join(final_blocks) == data + (tail + b"\n" if tail else b"")
        gz_blocks, _ = read_all(packed, size, final=True)
        assert b"".join(gz_blocks) == b"".join(final_blocks)
        # Longer than a block only when its first line is.
        assert all(len(b) <= size or b"\n" not in b[:size] for b in blocks)


def test_plain_file_growing_between_reads_and_skip(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"one\ntwo\nthr")
    content = open_content(str(log))
    try:
        assert content.read_block(1 << 20, final=False) == (b"one\ntwo\n", 0)
        assert content.read_block(1 << 20, final=False) == (b"", 3)
        with log.open("ab") as handle:
            handle.write(b"ee\nfour\n")
        assert content.read_block(1 << 20, final=False) == (b"three\nfour\n", 0)
        assert content.raw_position() == content.position == len(log.read_bytes())
    finally:
        content.close()
    blocks, _ = read_all(log, 1 << 20, final=False, skip=len(b"one\ntwo\n"))
    assert blocks == [b"three\nfour\n"]


def test_named_pipe_is_read_as_a_stream(tmp_path: Path) -> None:
    """``streampanel ingest access-log <(zcat access.log.gz)`` names a pipe: no positions."""
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    data = random_lines(random.Random(5), 200, 80)

    def write() -> None:
        with pipe.open("wb") as out:
            out.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    blocks, unfinished = read_all(pipe, 1000, final=False)
    writer.join()
    assert (b"".join(blocks), unfinished) == (data, 0)
