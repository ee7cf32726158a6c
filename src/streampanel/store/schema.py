"""The schema's version: the one step that changes it, and every other process's check.

What is guaranteed, and how:

- Only ``migrate_schema`` runs DDL, and two never run at once.  On PostgreSQL it holds a
  session advisory lock (``MIGRATION_LOCK_KEY``) from before it reads the version until after
  the upgrade committed; a second migrator waits for the lock, then finds the schema current.
  On SQLite the upgrade runs in a ``BEGIN EXCLUSIVE`` transaction, which does the same for
  the processes of one machine.
- The upgrade of every branch commits as one transaction (both stores have transactional
  DDL), so a reader sees the old revisions or the new ones, never a half-built schema.
- Every other process reads ``alembic_version`` and compares it with ``SCHEMA_HEADS``:
  ``wait_for_schema`` waits, bounded and with one log line, for a schema that is behind, and
  refuses at once a schema that is ahead (a revision this code has no script for), with one
  line naming both revisions instead of a migration traceback.

Reading the version costs two small queries and no Alembic; Alembic (~0.2 s to import) is
loaded only when the schema is not current.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from streampanel.store import StoreRefused
from streampanel.store.engine import MIGRATIONS_DIR, SCHEMA_HEADS, alembic_config

log = logging.getLogger("streampanel.store.schema")

# pg_advisory_lock's key for "a migration is running" (the bytes "spmigrat"); any fixed
# 64-bit value no other lock user of the database picks.
MIGRATION_LOCK_KEY = int.from_bytes(b"spmigrat", "big")


def _listed(revisions: Iterable[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty store)"


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    # Alembic announces each plugin (on import) and each revision at INFO: a dozen lines on
    # a fresh store that say nothing to an operator.  Its warnings still show.
    alembic_logger = logging.getLogger("alembic")
    previous_level = alembic_logger.level
    alembic_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_logger.setLevel(previous_level)


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every revision this code has a migration script for."""
    with _quiet_alembic():
        from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return frozenset(script.revision for script in scripts.walk_revisions())


@dataclass(frozen=True)
class SchemaStatus:
    """The revisions ``alembic_version`` holds, compared with this code's heads."""

    revisions: frozenset[str]

    @property
    def current(self) -> bool:
        return self.revisions == SCHEMA_HEADS

    @property
    def unknown(self) -> frozenset[str]:
        """Revisions this code has no script for: a newer release migrated the store."""
        if self.current:
            return frozenset()
        return self.revisions - known_revisions()

    @property
    def newer(self) -> bool:
        return bool(self.unknown)

    def describe(self) -> str:
        """One line naming both sides: what the store holds, what this code needs."""
        if self.current:
            return f"schema current ({_listed(self.revisions)})"
        if self.newer:
            return (
                f"the store's schema is newer than this release: the store is at "
                f"{_listed(self.revisions)}, this release knows up to {_listed(SCHEMA_HEADS)} "
                "(upgrade streampanel on this machine)"
            )
        return (
            f"the store's schema is behind this release: the store is at "
            f"{_listed(self.revisions)}, this release needs {_listed(SCHEMA_HEADS)} "
            "(run `streampanel migrate`)"
        )


class SchemaMismatch(StoreRefused):
    """This process cannot use the store's schema; the message is one line naming both
    revisions."""

    def __init__(self, status: SchemaStatus, detail: str = ""):
        self.status = status
        super().__init__(status.describe() + detail)


def read_revisions(conn: Connection) -> frozenset[str]:
    if not inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        return SchemaStatus(read_revisions(conn))


def schema_is_current(engine: Engine) -> bool:
    """Whether the store already stands at ``SCHEMA_HEADS`` (two small reads, no Alembic)."""
    return schema_status(engine).current


@contextmanager
def _migration_lock(conn: Connection) -> Iterator[None]:
    """Hold the store's migration lock on ``conn`` (see the module's first lines)."""
    if conn.dialect.name != "postgresql":
        conn.execution_options(sqlite_begin="EXCLUSIVE")
        yield
        return
    if not conn.execute(select(func.pg_try_advisory_lock(MIGRATION_LOCK_KEY))).scalar():
        log.warning("another process is migrating this store: waiting for it to finish")
        conn.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
    conn.commit()
    try:
        yield
    finally:
        try:
            conn.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
            conn.commit()
        except SQLAlchemyError:
            # The connection broke: the server released the lock with the session.  Make
            # sure the pool does not hand the broken connection out again.
            conn.invalidate()


def _upgrade(conn: Connection) -> None:
    with _quiet_alembic():
        from alembic import command

        config = alembic_config(conn.engine)
        # The migrations run on this connection, inside its (locked) transaction.
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def migrate_schema(engine: Engine) -> SchemaStatus:
    """Bring the schema to the newest revision of every feature branch; the status before.

    Raises ``SchemaMismatch`` for a schema newer than this code (nothing is changed).
    """
    # Most starts find the schema current: that is answered without taking the lock (which
    # on SQLite would stop every writer for a moment), and read again once it is held.
    status = schema_status(engine)
    if status.current:
        return status
    with engine.connect() as conn, _migration_lock(conn), conn.begin():
        before = SchemaStatus(read_revisions(conn))
        if before.newer:
            raise SchemaMismatch(before)
        if not before.current:
            _upgrade(conn)
    return before


def wait_for_schema(
    engine: Engine,
    timeout: float,
    *,
    poll: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once the schema is at this code's heads; ``SchemaMismatch`` if it is newer, or
    still behind after ``timeout`` seconds (one warning when the wait starts)."""
    deadline = clock() + timeout
    waiting = False
    while True:
        status = schema_status(engine)
        if status.current:
            if waiting:
                log.info("store schema reached %s: starting", _listed(status.revisions))
            return
        if status.newer:
            raise SchemaMismatch(status)
        remaining = deadline - clock()
        if remaining <= 0:
            raise SchemaMismatch(status, f"; waited {timeout:g} s")
        if not waiting:
            log.warning("%s; waiting up to %g s for it", status.describe(), timeout)
            waiting = True
        sleep(min(poll, remaining))
