"""Which log file is this, and where did we stop?  Plus the rejects file kept beside it.

A file is known by a hash of its first bytes (up to ``HEAD_BYTES`` of content), per server:
the identity survives a rename (``access.log`` -> ``access.log.1``) and compression
(``access.log.2.gz``: the hash is over decompressed content), and a new file created at the
same path is a new identity.  A file first seen shorter than ``HEAD_BYTES`` is known by
what it had; its identity is widened once it has grown.

The rejects file of a source is append-only and its committed length is stored with the
offset: a run that died after writing rejects but before committing truncates the file back,
so rejected lines too are kept exactly once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, update

from streampanel.store import usage
from streampanel.store.tables.usage import ingest_sources
from streampanel.store.usage import Source


def fingerprint(head: bytes) -> str:
    return hashlib.sha256(head).hexdigest()


def find(conn: Connection, server_id: int, head: bytes) -> Source | None:
    """The checkpoint of the file whose content starts with ``head``, if any."""
    for length in usage.source_head_lengths(conn, server_id):
        if length <= len(head):
            found = usage.find_source(conn, server_id, fingerprint(head[:length]), length)
            if found is not None:
                return found
    return None


def find_or_create(
    conn: Connection,
    *,
    server_id: int,
    head: bytes,
    fmt: str,
    path: str,
    device: int | None,
    inode: int | None,
    now: datetime,
) -> tuple[Source, bool]:
    """The checkpoint for this content, created at offset 0 when new; ``(source, new)``."""
    found = find(conn, server_id, head)
    if found is not None:
        return found, False
    created = usage.create_source(
        conn,
        server_id=server_id,
        fingerprint=fingerprint(head),
        head_len=len(head),
        fmt=fmt,
        path=path,
        device=device,
        inode=inode,
        now=now,
    )
    return created, True


def advance(conn: Connection, source: Source, values: dict[str, Any], now: datetime) -> bool:
    """Move the checkpoint to the end of a block (``values``: the new offset, counters, state
    and, when widened, identity), only if it still stands at ``source.offset`` where the block
    started; False when another run moved it first.  Committed in the transaction that adds
    the block's totals, this guard is what makes each block count once.
    """
    moved = conn.execute(
        update(ingest_sources)
        .where(ingest_sources.c.id == source.id, ingest_sources.c.offset == source.offset)
        .values(updated=now, **values)
    )
    return moved.rowcount == 1


class RejectsFile:
    """``<dir>/<server>/<source id>.rejects``: the raw lines of a source that did not parse."""

    def __init__(self, directory: Path, server: str, source: Source):
        self.path = directory / _safe(server) / f"{source.id}.rejects"
        self.length = source.rejects_offset
        if self.path.exists() and self.path.stat().st_size > self.length:
            # Written by a run that died before committing: those lines come again.
            with self.path.open("r+b") as handle:
                handle.truncate(self.length)

    def append(self, lines: list[bytes]) -> int:
        """Append ``lines``; returns the length to commit with the block."""
        if not lines:
            return self.length
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"\n".join(lines) + b"\n"
        # Written (to the page cache) before the commit that counts these lines: a killed
        # process loses nothing.  No fsync per block (it cost ~10 % of ingest time): after
        # a power loss the last lines may be missing, never doubled.
        with self.path.open("ab") as handle:
            handle.write(data)
        self.length += len(data)
        return self.length


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"
