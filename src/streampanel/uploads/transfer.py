"""What both back ends share: the stored file read by position, and the result they return.

A transfer is handed the job's ``StoredFile`` — opened once, confined to the tenant's tree
(``streampanel.storage``) — and reads every byte through that descriptor with ``os.pread``:
parts sent concurrently share it without sharing a file position, and nothing opens the
path by name again, so a symlink swapped in meanwhile cannot change what is sent.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Transferred:
    """A finished upload: the remote's answer (``results``), its id on YouTube, the message."""

    results: dict[str, Any]
    message: str
    youtube_id: str = ""


class FileSlice(io.RawIOBase):
    """A read-only window ``[offset, offset + length)`` of an open file, seekable for retries.

    Reads are ``os.pread`` on the descriptor (which stays the caller's to close).  A file
    that shrank under the window is an ``OSError``: what was promised to the remote as the
    content length can no longer be sent.
    """

    def __init__(self, fd: int, offset: int, length: int):
        super().__init__()
        self._fd = fd
        self._offset = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = min(max(base + pos, 0), self._length)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._length - self._pos)
        if wanted <= 0:
            return 0
        count = os.preadv(self._fd, [view[:wanted]], self._offset + self._pos)
        if count == 0:
            raise OSError(f"the file ended {self._offset + self._pos} bytes in, before its end")
        self._pos += count
        return count

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._length - self._pos
        if size is None or size < 0 or size > remaining:
            size = remaining
        data = os.pread(self._fd, size, self._offset + self._pos)
        self._pos += len(data)
        if len(data) < size:  # rare on a regular file: only where it ends
            rest = bytearray(size - len(data))
            filled = 0
            while filled < len(rest):
                filled += self.readinto(memoryview(rest)[filled:])
            data += rest
        return data
