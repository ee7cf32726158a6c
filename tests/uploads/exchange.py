"""``renameat2(RENAME_EXCHANGE)`` from a thread: two names swapped atomically, over and over.

This is what a tenant with a shell in its own tree can run to race a server that checks a
path and then opens it again: at every instant one of the two names is a directory and
the other a symlink out of the tree, with no moment where either is missing.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading
from pathlib import Path
from types import TracebackType

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# Where glibc has no renameat2 wrapper (before 2.28): the raw system call.
_SYSCALL_NUMBERS = {"x86_64": 316, "aarch64": 276}

_libc = ctypes.CDLL(None, use_errno=True)


def exchange(first: Path, second: Path) -> None:
    """Swap two directory entries atomically."""
    a, b = os.fsencode(first), os.fsencode(second)
    if hasattr(_libc, "renameat2"):
        result = _libc.renameat2(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    else:
        number = _SYSCALL_NUMBERS[platform.machine()]
        result = _libc.syscall(number, _AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first))


class ExchangeLoop:
    """``with ExchangeLoop(a, b):`` swaps ``a`` and ``b`` in a thread until the block ends
    (always leaving them as they were found, so the test's own cleanup sees its layout)."""

    def __init__(self, first: Path, second: Path):
        self.first = first
        self.second = second
        self.swaps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="exchange", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            exchange(self.first, self.second)
            self.swaps += 1

    def __enter__(self) -> ExchangeLoop:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self.swaps % 2:
            exchange(self.first, self.second)
