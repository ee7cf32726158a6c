"""Following a log like ``tail -F``: the blocks of complete lines a path gains, across
rotations and truncations.  ``ingest --follow`` (``blocks.follow_file`` and
``read_blocks``) and the HLS viewer collector (:class:`Follower`) read their logs through
these rules:

- a file is opened once it holds some bytes (its first bytes are its identity);
- it is read as it grows, in blocks of complete lines (a last line without its newline
  waits for the writer);
- when the path names another file (a rotation) or the file shrank below what was read (a
  truncation), the old file is read on until it has stayed unchanged for ``settle_polls``
  polls, because the writer goes on appending to it until it reopens its log (nginx on
  ``USR1``); then its unterminated last line, if any, is read too, and the file the path
  names now is followed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from streampanel.ingest.source import Content, FileId, open_content

# Polls a replaced file must stay unchanged before it is left.
SETTLE_POLLS = 2


def open_next(path: str) -> Content | None:
    """The file ``path`` names, opened at its start, once it holds some bytes; else None."""
    try:
        content = open_content(path)
    except FileNotFoundError:
        return None
    if not content.head:  # nothing to identify it by yet
        content.close()
        return None
    return content


def replaced(path: str, content: Content) -> bool:
    """Whether ``path`` now names another file than ``content``, or the file shrank below
    what was read of it."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return True
    if content.file_id is None:
        return False
    return (stat.st_dev, stat.st_ino) != (content.file_id.device, content.file_id.inode) or (
        stat.st_size < content.position
    )


class FollowedFile:
    """One file read as it grows, from its position, until ``path`` has moved on to another
    file and this one has settled.

    Each poll: :meth:`blocks` (what the file gained), then :meth:`finished`; once that says
    so, :meth:`rest` gives the unterminated last line and the file is done.
    """

    def __init__(self, content: Content, path: str, settle_polls: int = SETTLE_POLLS):
        self.content = content
        self.path = path
        self.settle_polls = settle_polls
        # Bytes of a last line without its newline, waiting for the writer.
        self.unfinished = 0
        self._idle_polls = 0

    def blocks(self, block_bytes: int) -> Iterator[bytes]:
        """The blocks of complete lines the file holds beyond its position; never waits."""
        while True:
            block, self.unfinished = self.content.read_block(block_bytes, final=False)
            if not block:
                return
            self._idle_polls = 0
            yield block

    def finished(self) -> bool:
        """After a poll's blocks: whether the path has moved on and this file has not grown
        for ``settle_polls`` polls since."""
        if not replaced(self.path, self.content):
            return False
        self._idle_polls += 1
        return self._idle_polls > self.settle_polls

    def rest(self, block_bytes: int) -> bytes:
        """The last line without its newline (given one), once :meth:`finished`; or b""."""
        last, _ = self.content.read_block(block_bytes, final=True)
        self.unfinished = 0
        return last


class Follower:
    """``tail -F`` over ``path`` without waiting: each :meth:`poll` gives the blocks the
    path's files gained since the previous one, moving on to the next file when one is done.

    With ``start_at_end`` the file the path names at the first poll is read from where it
    ended then (what is written from now on); every other file from its start.
    """

    def __init__(
        self,
        path: str,
        block_bytes: int,
        *,
        settle_polls: int = SETTLE_POLLS,
        start_at_end: bool = False,
    ):
        self.path = path
        self.block_bytes = block_bytes
        self.settle_polls = settle_polls
        self._start_at_end = start_at_end
        self._polled = False
        self._start_mark: tuple[FileId, int] | None = None
        self._file: FollowedFile | None = None

    def poll(self) -> Iterator[bytes]:
        if not self._polled:
            self._polled = True
            if self._start_at_end:
                self._start_mark = _identity(self.path)
        while True:
            if self._file is None:
                content = open_next(self.path)
                if content is None:
                    return
                self._skip_to_mark(content)
                self._file = FollowedFile(content, self.path, self.settle_polls)
            followed = self._file
            yield from followed.blocks(self.block_bytes)
            if not followed.finished():
                return
            last = followed.rest(self.block_bytes)
            if last:
                yield last
            self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.content.close()
            self._file = None

    def _skip_to_mark(self, content: Content) -> None:
        mark, self._start_mark = self._start_mark, None
        if mark is not None and content.file_id == mark[0]:
            content.skip(mark[1])


def _identity(path: str) -> tuple[FileId, int] | None:
    """The file ``path`` names and its size, if any."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return FileId(stat.st_dev, stat.st_ino), stat.st_size
