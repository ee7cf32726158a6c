"""Reading a log's content: plain files, gzip'd files (recognised by their magic bytes, not
their name) and standard input, in blocks cut at line boundaries.

Offsets are positions in the *content* (decompressed for gzip), so a file ingested while
plain and later found gzip'd resumes at the same place.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from dataclasses import dataclass
from stat import S_ISREG
from typing import BinaryIO

HEAD_BYTES = 1024
# Bytes read first from the end of a block's span to find its last newline.
_PROBE_BYTES = 64 << 10
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FileId:
    device: int
    inode: int


class Content:
    """One log's content.  ``head`` holds its first bytes (the file's identity)."""

    def __init__(self, name: str, raw: BinaryIO, *, is_stream: bool):
        self.name = name
        self._raw = raw
        self.is_stream = is_stream
        stat = None if is_stream else os.fstat(raw.fileno())
        self.file_id = FileId(stat.st_dev, stat.st_ino) if stat else None
        self.raw_size = stat.st_size if stat else 0
        magic = _peek(raw, 2)
        self.is_gzip = magic == _GZIP_MAGIC
        self._data: BinaryIO = (
            gzip.GzipFile(fileobj=raw, mode="rb") if self.is_gzip else raw  # type: ignore[assignment]
        )
        self._pending = b""
        self._raw_position = 0
        self.position = 0  # content bytes consumed by read_block
        self.head = self._fill_head()
        # A plain regular file is read by position (``os.pread``), each block in one piece;
        # the head was read through the file object, and is read again.  A named pipe
        # (``<(zcat ...)``) is read as a stream.
        self._positional = not self.is_gzip and stat is not None and S_ISREG(stat.st_mode)
        if self._positional:
            self._pending = b""

    @property
    def complete(self) -> bool:
        """Whether the content cannot grow: a gzip member or a stream, not a live file."""
        return self.is_gzip or self.is_stream

    def raw_position(self) -> int:
        """Where in the underlying file reading is (progress against ``raw_size``)."""
        return self._raw_position

    def _note_raw_position(self) -> None:
        try:
            self._raw_position = self._raw.tell()
        except (OSError, ValueError):
            self._raw_position = 0

    def _fill_head(self) -> bytes:
        head = b""
        while len(head) < HEAD_BYTES:
            chunk = self._data.read(HEAD_BYTES - len(head))
            if not chunk:
                break
            head += chunk
        self._pending = head
        return head

    def _read(self, size: int) -> bytes:
        if self._pending:
            chunk, self._pending = self._pending[:size], self._pending[size:]
            if len(chunk) < size:
                chunk += self._data.read(size - len(chunk))
        else:
            chunk = self._data.read(size)
        self._note_raw_position()
        return chunk

    def skip(self, offset: int) -> int:
        """Skip to content ``offset``; returns where it got (less at the end)."""
        if self._positional:
            size = os.fstat(self._raw.fileno()).st_size
            self.position = self._raw_position = min(offset, size)
            return self.position
        while self.position < offset:
            chunk = self._read(min(offset - self.position, 1 << 20))
            if not chunk:
                break
            self.position += len(chunk)
        return self.position

    def read_block(self, size: int, *, final: bool) -> tuple[bytes, int]:
        """Up to about ``size`` bytes of complete lines, ending with a newline.

        Returns ``(block, unfinished)``: an empty block is the end of the content, and
        ``unfinished`` the length of a last line without its newline.  When the content
        cannot grow (``final``) that line is returned as a block, with a newline added;
        otherwise it is left for the next run (the writer may not have finished it).
        """
        if self._positional:
            block = self._read_whole_lines(size)
            if block is not None:
                self._advance(len(block))
                return block, 0
        data = self._take(size, 0)
        while data and b"\n" not in data:  # a line longer than a block
            more = self._take(size, len(data))
            if not more:
                break
            data += more
        if not data:
            return b"", 0
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # the end of the content, inside an unterminated line
            if final:
                self._advance(len(data))
                return data + b"\n", 0
            self._give_back(data)
            return b"", len(data)
        self._give_back(data[cut:])
        self._advance(cut)
        return data[:cut], 0

    def _read_whole_lines(self, size: int) -> bytes | None:
        """Up to ``size`` bytes of a plain file from ``position``, ending with the last
        newline they hold; None when their last ``_PROBE_BYTES`` hold none.

        The newline is found in a small read of the span's end first, so the block is read
        in one piece and needs no slicing or joining (copying a block again costs as much as
        reading it).
        """
        fd = self._raw.fileno()
        probe_length = min(size, _PROBE_BYTES)
        probe_at = self.position + size - probe_length
        last = os.pread(fd, probe_length, probe_at).rfind(b"\n")
        if last < 0:
            return None
        length = probe_at + last + 1 - self.position
        block = os.pread(fd, length, self.position)
        if len(block) != length or not block.endswith(b"\n"):
            return None  # truncated meanwhile: the general path decides
        return block

    def _take(self, size: int, taken: int) -> bytes:
        """The next ``size`` bytes after ``position`` and the ``taken`` already read."""
        if self._positional:
            return os.pread(self._raw.fileno(), size, self.position + taken)
        return self._read(size)

    def _give_back(self, data: bytes) -> None:
        """Bytes taken but not consumed (a plain file is read by position: nothing to do)."""
        if not self._positional:
            self._pending = data + self._pending

    def _advance(self, consumed: int) -> None:
        self.position += consumed
        if self._positional:
            self._raw_position = self.position

    def read_range(self, start: int, end: int) -> bytes | None:
        """The content between two offsets already read, again (None unless the content is
        a plain file, which alone can be read by position)."""
        if not self._positional:
            return None
        return os.pread(self._raw.fileno(), end - start, start)

    def close(self) -> None:
        if self._data is not self._raw:
            self._data.close()
        if not self.is_stream:
            self._raw.close()


def _peek(raw: BinaryIO, size: int) -> bytes:
    peek = getattr(raw, "peek", None)
    if peek is not None:
        return bytes(peek(size)[:size])
    position = raw.tell()
    data = raw.read(size)
    raw.seek(position)
    return data


def fingerprint(head: bytes) -> str:
    """A content's identity: the SHA-256 of its first bytes (``Content.head``), in hex."""
    return hashlib.sha256(head).hexdigest()


def open_content(path: str) -> Content:
    """Open ``path`` (``-`` for standard input) for reading its content."""
    if path == "-":
        return Content("<stdin>", sys.stdin.buffer, is_stream=True)
    return Content(path, open(path, "rb"), is_stream=False)
