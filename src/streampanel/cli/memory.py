"""Memory tuning for the commands that read logs in large blocks (``ingest``, ``agent``)."""

from __future__ import annotations

import ctypes


def keep_freed_blocks() -> None:
    """Have glibc's malloc keep the memory of freed blocks for the next ones.

    By default it gives the top of its heap back to the system as soon as twice a block is
    free there, and reading the next block into new pages faulted each of them in: a third
    of the cost of reading.  Blocks up to 32 MiB (the largest threshold glibc accepts) now
    come from the heap, which keeps up to 64 MiB free (two or three blocks) before giving
    any back.  Elsewhere than glibc this does nothing.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    # Setting the trim threshold also fixes the mapping threshold: only once that took.
    if mallopt(m_mmap_threshold, 32 << 20) == 1:
        mallopt(m_trim_threshold, 64 << 20)
