"""Reading a log in blocks: each block parsed ahead in worker threads and handed, in the
order it was read, to whoever keeps its result — the store (``pipeline.Ingester``) or the
edge agent's spool.  Nothing here touches a store.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from streampanel.ingest.follow import FollowedFile, open_next, replaced
from streampanel.ingest.formats import Parser
from streampanel.ingest.formats.common import BlockResult
from streampanel.ingest.source import Content

# Each block costs a few milliseconds however small (a polars query, a commit): larger blocks
# cost less per line, up to 32 MiB, above which glibc maps every block's memory afresh and
# faulting its pages in doubles the cost of reading it.  Three blocks are in memory at once.
DEFAULT_BLOCK_BYTES = 24 << 20

T = TypeVar("T")


class ParseAhead:
    """Blocks parsed in worker threads, up to ``ahead`` at once, and committed by the caller's
    thread in the order they were read.

    While block N is committed (SQL and Python, holding the GIL), blocks N+1.. are parsed
    (polars, without it), and each parse's single-threaded phases leave room for the next
    one's.  A parser with state between blocks gets one worker: its blocks are parsed one
    after another, in order.  Leaving the ``with`` normally commits every block submitted;
    leaving it by an exception commits nothing more.
    """

    def __init__(
        self,
        parse: Callable[[bytes], tuple[BlockResult, str]],
        commit: Callable[[int, tuple[BlockResult, str]], None],
        ahead: int,
    ):
        self._parse = parse
        self._commit = commit
        self._ahead = ahead
        self._pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="ingest-parse")
        self._parsing: deque[tuple[Future[tuple[BlockResult, str]], int]] = deque()

    def submit(self, block: bytes, end: int) -> None:
        """Parse ``block`` (whose content ends at ``end``); commits the oldest blocks once
        more than ``ahead`` are being parsed."""
        self._parsing.append((self._pool.submit(self._parse, block), end))
        while len(self._parsing) > self._ahead:
            self._commit_oldest()

    def finish(self) -> None:
        """Commit every block submitted."""
        while self._parsing:
            self._commit_oldest()

    def _commit_oldest(self) -> None:
        parsing, end = self._parsing.popleft()
        self._commit(end, parsing.result())

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.finish()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def read_blocks(
    content: Content,
    parser: Parser,
    commit: Callable[[int, BlockResult, str], None],
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    stop: threading.Event | None = None,
    follow_path: str | None = None,
    poll: float = 1.0,
    idle: Callable[[], None] | None = None,
) -> tuple[bool, int]:
    """Read ``content`` from its position in blocks, parse them ahead and hand each block's
    result, with the parser state after it, to ``commit(end, result, state)`` in order.

    Without ``follow_path`` reading stops at the content's end; with it, it goes on as the
    content grows until that path names another file and this one has stopped growing for
    two polls (nginx writes on until it reopens its logs), calling ``idle`` whenever every
    block read so far is committed and nothing more is there.  Returns whether any block
    was read, and the length of an unfinished last line left unread.
    """

    def parse(block: bytes) -> tuple[BlockResult, str]:
        # The state is snapshot with its block: the parser moves on to the next one.
        return parser.parse(block), parser.state()

    def commit_parsed(end: int, parsed: tuple[BlockResult, str]) -> None:
        commit(end, *parsed)

    read_any = False
    unfinished = 0
    with ParseAhead(parse, commit_parsed, ahead=2 if parser.independent_blocks else 1) as blocks:
        if follow_path is None:
            # Read here: the reads (which release the GIL) and the commits keep pace with the
            # parses they overlap.
            while stop is None or not stop.is_set():
                block, unfinished = content.read_block(block_bytes, final=content.complete)
                if not block:
                    break
                read_any = True
                blocks.submit(block, content.position)
            return read_any, unfinished
        followed = FollowedFile(content, follow_path)
        while stop is None or not stop.is_set():
            for block in followed.blocks(block_bytes):
                read_any = True
                blocks.submit(block, content.position)
                if stop is not None and stop.is_set():
                    break
            unfinished = followed.unfinished
            if stop is not None and stop.is_set():
                break
            blocks.finish()  # nothing more to read for now: commit what was read
            if idle is not None:
                idle()
            if followed.finished():
                last = followed.rest(block_bytes)
                if last:
                    blocks.submit(last, content.position)
                unfinished = 0
                break
            if stop is not None:
                stop.wait(poll)
            else:
                time.sleep(poll)
    return read_any, unfinished


def follow_file(
    path: str, run: Callable[[Content], T], stop: threading.Event, poll: float = 1.0
) -> list[T]:
    """Like ``tail -F``: ``run`` each file ``path`` names in turn (``run`` reads it until
    the path names another one, see :func:`read_blocks`), until ``stop``; returns what each
    run returned.  A file ``run`` left early (shorter than its checkpoint) is not run again
    until the path names another file."""
    results: list[T] = []
    while not stop.is_set():
        content = open_next(path)
        if content is None:
            stop.wait(poll)
            continue
        try:
            results.append(run(content))
            while not stop.is_set() and not replaced(path, content):
                stop.wait(poll)
        finally:
            content.close()
    return results
