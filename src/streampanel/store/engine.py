"""Engines for SQLite (embedded, WAL) and PostgreSQL (scale-out).

Reading and changing the schema's version is ``streampanel.store.schema``'s job.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision of every feature branch in migrations/versions: what ``alembic_version``
# holds once the schema is current.  tests/store/test_migrations.py checks it against
# Alembic's own reading of the scripts, so a new migration must be added here too.
SCHEMA_HEADS = frozenset({"0002", "0003", "0004", "0005", "0006", "0007", "0008"})


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


def store_label(url: str) -> str:
    """Which store ``url`` names, fit to print: the SQLite file's path, or the server and
    database without password, driver or query options (which may hold TLS key passwords)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"{parsed.database or ':memory:'} (SQLite)"
    user = f"{parsed.username}@" if parsed.username else ""
    # A Unix socket directory comes as the query's host (psycopg's convention).
    host = parsed.host or str(parsed.query.get("host", "localhost"))
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()}://{user}{host}{port}/{parsed.database}"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config
