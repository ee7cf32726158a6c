"""The agent's local spool: what it has parsed and the centre has not yet acknowledged.

A small SQLite file (``STATE_DIR/spool.db``) holding aggregates, never log lines: one row
per block (its content range and totals) and one per log file the agent has read (its
identity, how far it has read and how far the centre has acknowledged).  Every write is
one transaction, synced to disk before it returns (``synchronous=FULL``): a block is in the
spool, or it was never read.  Blocks leave the spool, oldest first, once the centre has
acknowledged them; until then a central outage, a killed agent or a log file rotated away
and deleted loses nothing.

Exactly once, on the edge: a block is added only if it starts where the file's last block
ended (``read_offset``), in the transaction that moves ``read_offset`` to its end — the
same guard the centre applies to its checkpoint.  Resetting ``read_offset`` (after the
centre answered an offset conflict) therefore makes the reader of that file start over from
there rather than add a block that no longer follows.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streampanel.ingest.source import fingerprint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    log TEXT NOT NULL,
    format TEXT NOT NULL,
    path TEXT NOT NULL,
    device INTEGER,
    inode INTEGER,
    fingerprint TEXT NOT NULL,
    head_len INTEGER NOT NULL,
    head BLOB NOT NULL,
    central_id INTEGER,
    read_offset INTEGER NOT NULL,
    read_state TEXT NOT NULL,
    rejects_length INTEGER NOT NULL,
    acked_offset INTEGER NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    UNIQUE (format, fingerprint, head_len)
);
CREATE TABLE IF NOT EXISTS blocks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    body TEXT NOT NULL,
    spooled REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_by_source ON blocks (source_id, seq);
"""


@dataclass
class LocalSource:
    """One log file as the agent knows it."""

    id: int
    log: str  # the configured path it was read under
    format: str
    path: str  # where it was last seen
    device: int | None
    inode: int | None
    fingerprint: str
    head_len: int
    # The first bytes the file is known by (kept on the edge: only their hashes are sent).
    head: bytes
    central_id: int | None
    read_offset: int
    read_state: str
    rejects_length: int
    acked_offset: int
    finished: bool


@dataclass(frozen=True)
class SpooledBlock:
    seq: int
    source_id: int
    start: int
    end: int
    body: dict[str, Any]
    spooled: float


class OffsetMoved(Exception):
    """The file's read offset is no longer where this reader's block starts."""


class Spool:
    """The spool file, used by the readers and the sender at once: each thread has its own
    connection, and SQLite's locking (WAL: readers never wait) orders the writes."""

    def __init__(self, state_dir: Path):
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        self.path = state_dir / "spool.db"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        self.agent_id = self._agent_id()

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            # The WAL synced at every commit: a block reported spooled survives a power
            # loss too (see _write for the one exception).
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA busy_timeout=30000")
            connection.row_factory = sqlite3.Row
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _write(self, *, synced: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``synced=False`` commits without waiting for the disk (for
        acknowledgements: one lost to a power failure only sends its block again, which the
        centre answers as a duplicate)."""
        db = self._db()
        if not synced:
            db.execute("PRAGMA synchronous=NORMAL")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            if not synced:
                db.execute("PRAGMA synchronous=FULL")

    def _read(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._db().execute(sql, parameters).fetchall()

    def _agent_id(self) -> str:
        """This agent's instance id: made once, kept with the spool, so a restarted agent
        is the same instance to the centre (and takes its server back at once)."""
        with self._write() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'agent_id'").fetchone()
            if row is not None:
                return str(row[0])
            agent_id = secrets.token_hex(16)
            db.execute("INSERT INTO meta (key, value) VALUES ('agent_id', ?)", (agent_id,))
            return agent_id

    # -- sources --------------------------------------------------------------------------

    def find_source(self, fmt: str, head: bytes) -> LocalSource | None:
        """The file whose content starts with ``head``, if the agent has read it before."""
        lengths = [
            int(r[0])
            for r in self._read(
                "SELECT DISTINCT head_len FROM sources WHERE format = ? ORDER BY head_len DESC",
                (fmt,),
            )
        ]
        for length in lengths:
            if length <= len(head):
                rows = self._read(
                    "SELECT * FROM sources WHERE format = ? AND fingerprint = ? AND head_len = ?",
                    (fmt, fingerprint(head[:length]), length),
                )
                if rows:
                    return _source(rows[0])
        return None

    def source(self, source_id: int) -> LocalSource:
        return _source(self._read("SELECT * FROM sources WHERE id = ?", (source_id,))[0])

    def sources(self, log: str | None = None) -> list[LocalSource]:
        if log is None:
            return [_source(r) for r in self._read("SELECT * FROM sources ORDER BY id")]
        rows = self._read("SELECT * FROM sources WHERE log = ? ORDER BY id", (log,))
        return [_source(r) for r in rows]

    def has_history(self) -> bool:
        """Whether this agent has read any file before (a file it does not know is new)."""
        return bool(self._read("SELECT 1 FROM sources LIMIT 1"))

    def latest_state(self, fmt: str) -> str:
        """Parser state after the most recently created file of this format (Wowza's byte
        counters run on across a rotation)."""
        rows = self._read(
            "SELECT read_state FROM sources WHERE format = ? ORDER BY id DESC LIMIT 1", (fmt,)
        )
        return str(rows[0][0]) if rows else "{}"

    def create_source(
        self,
        *,
        log: str,
        fmt: str,
        path: str,
        device: int | None,
        inode: int | None,
        head: bytes,
        offset: int,
        state: str,
        central_id: int | None,
    ) -> LocalSource:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO sources (log, format, path, device, inode, fingerprint, head_len,"
                " head, central_id, read_offset, read_state, rejects_length, acked_offset,"
                " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (
                    log,
                    fmt,
                    path,
                    device,
                    inode,
                    fingerprint(head),
                    len(head),
                    head,
                    central_id,
                    offset,
                    state,
                    offset,
                    time.time(),
                ),
            )
            source_id = cursor.lastrowid
        assert source_id is not None
        return self.source(source_id)

    def seen_at(self, source_id: int, path: str, device: int | None, inode: int | None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sources SET path = ?, device = ?, inode = ? WHERE id = ?",
                (path, device, inode, source_id),
            )

    def set_central(self, source_id: int, central_id: int) -> None:
        with self._write() as db:
            db.execute("UPDATE sources SET central_id = ? WHERE id = ?", (central_id, source_id))

    def finish(self, source_id: int) -> None:
        """The file was replaced at its path and read to its end."""
        with self._write() as db:
            db.execute("UPDATE sources SET finished = 1 WHERE id = ?", (source_id,))

    def restart_from(self, source_id: int, offset: int, state: str) -> int:
        """The centre holds the file at ``offset``: drop its spooled blocks and read again
        from there (its reader notices at its next block).  Returns the blocks dropped."""
        with self._write() as db:
            dropped = db.execute("DELETE FROM blocks WHERE source_id = ?", (source_id,)).rowcount
            db.execute(
                "UPDATE sources SET read_offset = ?, read_state = ?, acked_offset = ?,"
                " finished = 0 WHERE id = ?",
                (offset, state, offset, source_id),
            )
        return int(dropped)

    # -- blocks ---------------------------------------------------------------------------

    def add_block(
        self,
        source_id: int,
        start: int,
        end: int,
        body: dict[str, Any],
        *,
        rejects_length: int,
        widened: bytes | None = None,
    ) -> None:
        """Spool a block read from ``start`` to ``end``, moving the file's read offset, its
        parser state (``body['state']``) and rejects length with it; ``OffsetMoved`` when
        the read offset is no longer ``start``.  ``widened``: the file's longer head, its
        identity from now on."""
        with self._write() as db:
            moved = db.execute(
                "UPDATE sources SET read_offset = ?, read_state = ?, rejects_length = ?"
                " WHERE id = ? AND read_offset = ?",
                (end, body["state"], rejects_length, source_id, start),
            ).rowcount
            if moved != 1:
                raise OffsetMoved()
            if widened is not None:
                db.execute(
                    "UPDATE sources SET fingerprint = ?, head_len = ?, head = ? WHERE id = ?",
                    (fingerprint(widened), len(widened), widened, source_id),
                )
            db.execute(
                'INSERT INTO blocks (source_id, start, "end", body, spooled)'
                " VALUES (?, ?, ?, ?, ?)",
                (source_id, start, end, json.dumps(body, separators=(",", ":")), time.time()),
            )

    def oldest(self) -> SpooledBlock | None:
        rows = self._read("SELECT * FROM blocks ORDER BY seq LIMIT 1")
        if not rows:
            return None
        row = rows[0]
        return SpooledBlock(
            row["seq"],
            row["source_id"],
            row["start"],
            row["end"],
            json.loads(row["body"]),
            row["spooled"],
        )

    def acknowledge(self, block: SpooledBlock, offset: int) -> None:
        """The centre holds the file up to ``offset`` (at least the block's end)."""
        with self._write(synced=False) as db:
            db.execute("DELETE FROM blocks WHERE seq = ?", (block.seq,))
            db.execute(
                "UPDATE sources SET acked_offset = MAX(acked_offset, ?) WHERE id = ?",
                (offset, block.source_id),
            )

    def pending(self) -> dict[int, tuple[int, float]]:
        """Per source: blocks waiting and when the oldest was spooled."""
        rows = self._read("SELECT source_id, COUNT(*), MIN(spooled) FROM blocks GROUP BY source_id")
        return {int(r[0]): (int(r[1]), float(r[2])) for r in rows}

    def size_on_disk(self) -> int:
        return sum(
            os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal")) if os.path.exists(p)
        )


def _source(row: sqlite3.Row) -> LocalSource:
    return LocalSource(
        id=row["id"],
        log=row["log"],
        format=row["format"],
        path=row["path"],
        device=row["device"],
        inode=row["inode"],
        fingerprint=row["fingerprint"],
        head_len=row["head_len"],
        head=bytes(row["head"]),
        central_id=row["central_id"],
        read_offset=row["read_offset"],
        read_state=row["read_state"],
        rejects_length=row["rejects_length"],
        acked_offset=row["acked_offset"],
        finished=bool(row["finished"]),
    )
