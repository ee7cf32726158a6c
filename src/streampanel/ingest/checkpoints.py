"""Ingest checkpoints: which log file is this, where did reading stop, and moving that point
block by block, for local ingestion and the agents' intake alike: the ``ingest_sources`` row
and its queries (the rejects file kept beside it: ``ingest.rejects``).

A file is known by a hash of its first bytes (up to ``HEAD_BYTES`` of content), per server:
the identity survives a rename (``access.log`` -> ``access.log.1``) and compression
(``access.log.2.gz``: the hash is over decompressed content), and a new file created at the
same path is a new identity.  A file first seen shorter than ``HEAD_BYTES`` is known by
what it had; its identity is widened once it has grown.

Exactly once: a block's totals are added in the transaction that moves its file's
checkpoint from the block's start to its end (:func:`advance`), and the move happens only
while the checkpoint still stands at the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from streampanel.ingest.source import fingerprint
from streampanel.store.tables.usage import ingest_sources


@dataclass
class Source:
    """One log file's checkpoint (``ingest_sources`` row)."""

    id: int
    server_id: int
    fingerprint: str
    head_len: int
    offset: int
    lines: int
    rejected: int
    unattributed: int
    rejects_offset: int
    state: str


def _source(row: Any) -> Source:
    return Source(
        id=row.id,
        server_id=row.server_id,
        fingerprint=row.fingerprint,
        head_len=row.head_len,
        offset=row.offset,
        lines=row.lines,
        rejected=row.rejected,
        unattributed=row.unattributed,
        rejects_offset=row.rejects_offset,
        state=row.state,
    )


def source_head_lengths(conn: Connection, server_id: int) -> list[int]:
    """The head lengths the server's files are known by, longest first."""
    query = select(ingest_sources.c.head_len).where(ingest_sources.c.server_id == server_id)
    return sorted({int(r) for r in conn.execute(query.distinct()).scalars()}, reverse=True)


def find_source(conn: Connection, server_id: int, fingerprint: str, head_len: int) -> Source | None:
    row = conn.execute(
        select(ingest_sources).where(
            ingest_sources.c.server_id == server_id,
            ingest_sources.c.fingerprint == fingerprint,
            ingest_sources.c.head_len == head_len,
        )
    ).first()
    return _source(row) if row else None


def get_source(conn: Connection, source_id: int) -> Source | None:
    row = conn.execute(select(ingest_sources).where(ingest_sources.c.id == source_id)).first()
    return _source(row) if row else None


def find(conn: Connection, server_id: int, head: bytes) -> Source | None:
    """The checkpoint of the file whose content starts with ``head``, if any."""
    for length in source_head_lengths(conn, server_id):
        if length <= len(head):
            found = find_source(conn, server_id, fingerprint(head[:length]), length)
            if found is not None:
                return found
    return None


def find_by_fingerprints(
    conn: Connection, server_id: int, fingerprints: Mapping[int, str]
) -> tuple[Source | None, list[int]]:
    """:func:`find` for a file hashed elsewhere (an agent's): the server's checkpoint whose
    identity is one of ``fingerprints`` (head length -> SHA-256 of the content's first that
    many bytes), and the stored head lengths given no fingerprint (to be asked again with
    them before a new source is made)."""
    missing: list[int] = []
    for length in source_head_lengths(conn, server_id):
        hashed = fingerprints.get(length)
        if hashed is None:
            missing.append(length)
            continue
        found = find_source(conn, server_id, hashed, length)
        if found is not None:
            return found, []
    return None, missing


def latest_state(conn: Connection, server_id: int, fmt: str) -> str:
    """Parser state of the server's most recently advanced source of this format."""
    row = conn.execute(
        select(ingest_sources.c.state)
        .where(ingest_sources.c.server_id == server_id, ingest_sources.c.format == fmt)
        .order_by(ingest_sources.c.updated.desc(), ingest_sources.c.id.desc())
        .limit(1)
    ).first()
    return str(row.state) if row else "{}"


def create_source(
    conn: Connection,
    *,
    server_id: int,
    fingerprint: str,
    head_len: int,
    fmt: str,
    path: str,
    device: int | None,
    inode: int | None,
    now: datetime,
) -> Source:
    """A new file's checkpoint at offset 0.  Its parser state is the one the server's
    previous file of this format ended with: Wowza's byte counters run on across a log
    rotation, and a session spanning it would otherwise be billed from zero again."""
    state = latest_state(conn, server_id, fmt)
    conn.execute(
        ingest_sources.insert().values(
            server_id=server_id,
            fingerprint=fingerprint,
            head_len=head_len,
            format=fmt,
            path=path,
            device=device,
            inode=inode,
            offset=0,
            lines=0,
            rejected=0,
            unattributed=0,
            rejects_offset=0,
            state=state,
            created=now,
            updated=now,
        )
    )
    found = find_source(conn, server_id, fingerprint, head_len)
    assert found is not None
    return found


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
    created = create_source(
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


def widened_identity(source: Source, head: bytes) -> dict[str, Any]:
    """The identity to store with the next move once the file has grown past the bytes
    that identified it (first seen shorter than ``HEAD_BYTES``); else nothing."""
    if source.head_len < len(head):
        return {"fingerprint": fingerprint(head), "head_len": len(head)}
    return {}


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


def list_sources(conn: Connection, server_id: int | None = None) -> list[dict[str, Any]]:
    query = select(ingest_sources).order_by(ingest_sources.c.id)
    if server_id is not None:
        query = query.where(ingest_sources.c.server_id == server_id)
    return [dict(r) for r in conn.execute(query).mappings()]
