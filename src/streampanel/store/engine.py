"""Engines for SQLite (embedded, WAL) and PostgreSQL (scale-out), and schema migration."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision of every feature branch in migrations/versions: what ``alembic_version``
# holds once the schema is current.  tests/store/test_migrations.py checks it against
# Alembic's own reading of the scripts, so a new migration must be added here too.
SCHEMA_HEADS = frozenset({"0002", "0003", "0004", "0005", "0006", "0007"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so BEGIN is emitted by us (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY
    # when another writer got in between; writers ask for IMMEDIATE to queue on the lock.
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    mode = options.get("sqlite_begin", "DEFERRED")
    # On the driver connection directly: a full SQLAlchemy execution here would cost more
    # than most of the queries it wraps.
    conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]


def write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction that will write: ``BEGIN IMMEDIATE`` on SQLite, plain on PostgreSQL."""
    return engine.execution_options(sqlite_begin="IMMEDIATE").begin()


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def schema_is_current(engine: Engine) -> bool:
    """Whether the store already stands at ``SCHEMA_HEADS`` (two small reads, no Alembic)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return set(versions) == SCHEMA_HEADS


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every feature branch."""
    # Every command opens the store through here, and importing Alembic costs ~0.2 s of
    # start-up: it is loaded only when there is something to upgrade.
    if schema_is_current(engine):
        return
    # Alembic announces each plugin (on import) and each revision at INFO: a dozen lines on a
    # fresh store's first start that say nothing to an operator. Its warnings still show.
    alembic_logger = logging.getLogger("alembic")
    previous_level = alembic_logger.level
    alembic_logger.setLevel(logging.WARNING)
    try:
        from alembic import command

        command.upgrade(alembic_config(engine), "heads")
    finally:
        alembic_logger.setLevel(previous_level)
