"""Engines for SQLite (embedded, WAL) and PostgreSQL (scale-out).

Reading and changing the schema's version is ``streampanel.store.schema``'s job.
"""

from __future__ import annotations

import select
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event, make_url
from sqlalchemy.exc import InvalidatePoolError

from streampanel.store.outage import watch_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision of every feature branch in migrations/versions: what ``alembic_version``
# holds once the schema is current.  tests/store/test_migrations.py checks it against
# Alembic's own reading of the scripts, so a new migration must be added here too.
SCHEMA_HEADS = frozenset({"0002", "0003", "0004", "0006", "0007", "0008", "0009"})


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


# A pooled PostgreSQL connection idle this long is pinged before it is handed out (a
# firewall may have dropped it without a word); a younger one is only looked at.
PING_AFTER_IDLE_SECONDS = 10.0
# Connections opened beyond the pool's size when every pooled one is in use (each one a
# server process on PostgreSQL, closed again when returned to a full pool).
POOL_OVERFLOW = 10


def _server_spoke(dbapi_connection: Any) -> bool:
    """Whether an idle connection has input waiting: nothing is due on a connection between
    queries, so the server closed it or said it is closing it (a restart, an administrator)."""
    try:
        fd = dbapi_connection.pgconn.socket
        return bool(select.select([fd], [], [], 0)[0])
    except Exception:
        return True  # no socket left to look at: certainly not usable


def _dead_reason(dialect: Dialect, dbapi_connection: Any, idle_seconds: float) -> str | None:
    """Why an idle PostgreSQL connection cannot be used, or None when it can: one back from
    use moments ago is only checked for input from the server (a restart sends its backends'
    clients a message and closes them), and one idle for ``PING_AFTER_IDLE_SECONDS`` is
    pinged (a firewall may have dropped it without a word)."""
    if idle_seconds < PING_AFTER_IDLE_SECONDS:
        return "the server closed an idle connection" if _server_spoke(dbapi_connection) else None
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        return f"an idle connection failed its ping: {exc}"
    return None


def _check_out_live_connections(engine: Engine, dialect: Dialect) -> None:
    """Hand out only live PostgreSQL connections, without a round trip on every checkout.

    ``pool_pre_ping`` would ping each time: a round trip per request, as much as the query it
    protects (``_dead_reason`` says what is checked instead).  A dead one invalidates the
    whole pool (after a restart none of them lives) and the pool connects afresh, so the
    first request after an outage already succeeds.
    """

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:
            return  # just connected
        reason = _dead_reason(dialect, dbapi_connection, time.monotonic() - idle_since)
        if reason is not None:
            raise InvalidatePoolError(reason)

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine.pool, "checkin", checkin)


def kept_connection_alive(conn: Connection, idle_seconds: float) -> bool:
    """Whether a connection kept out of the pool between uses (an API thread's own) can be
    used again after ``idle_seconds``, by the pool's check-out test; always on SQLite."""
    if conn.dialect.name == "sqlite":
        return True
    dbapi_connection = conn.connection.dbapi_connection
    return _dead_reason(conn.dialect, dbapi_connection, idle_seconds) is None


# Session settings every PostgreSQL connection gets, unless the URL's options set them:
# - plans the driver's prepared statements keep.  PostgreSQL otherwise plans most of the read
#   commands' statements afresh on every execution (their ``= ANY(list)`` and LIMIT
#   parameters make its generic plan look costlier than a custom one), and planning cost
#   more than running them: a generic plan, made once per connection, is the same lookup;
# - dates written as ISO text, which the read commands take as they come (``DriverQuery``).
_SESSION_SETTINGS = {"plan_cache_mode": "force_generic_plan", "DateStyle": "ISO"}


def _postgresql_options(url: str) -> dict[str, Any]:
    """Connection options for PostgreSQL: the URL's options, then each of
    ``_SESSION_SETTINGS`` they do not choose otherwise."""
    given = str(make_url(url).query.get("options", ""))
    added = [
        f"-c {name}={value}"
        for name, value in _SESSION_SETTINGS.items()
        if name.lower() not in given.lower()
    ]
    return {"options": " ".join([given, *added]).strip()} if added else {}


def create_store_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """An engine on ``url`` whose outages are logged once (``streampanel.store.outage``).

    ``pool_size`` is how many connections the process uses at once (its threads that touch
    the store): PostgreSQL keeps that many open, plus ``POOL_OVERFLOW`` for bursts.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if path and path != ":memory:" and pool_size:
            # Every thread that keeps a connection must find one (see PostgreSQL's below).
            kwargs.setdefault("pool_size", pool_size)
            kwargs.setdefault("max_overflow", POOL_OVERFLOW)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        watch_engine(engine)
        return engine
    kwargs.setdefault("pool_size", pool_size or 10)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    kwargs.setdefault("connect_args", _postgresql_options(url))
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _check_out_live_connections(engine, engine.dialect)
    watch_engine(engine)
    return engine


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
