"""Store outages: telling them from other failures, saying so once, and waiting them out.

Every engine ``create_store_engine`` makes carries a ``StoreWatch``: SQLAlchemy reports each
failure to connect to it, and each new connection, so a process logs one line when its
store goes away (``store unreachable: …``) and one when it is back (``store reachable
again``), however many requests, polls and threads hit the outage in between.  Callers that
retry (the API answering 503, the worker, the collectors) log nothing of their own for an
outage: ``is_unavailable`` tells them it is one.  A statement that failed on a pooled
connection the store had dropped (a restart) is run once more (``once_more_if_stale``).

Long-running processes wait for an unreachable store at start (``open_runtime``) and between
attempts afterwards with ``Backoff``: capped exponential waits, so a store that comes back is
used again within ``MAX_RETRY_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("streampanel.store")

T = TypeVar("T")

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0
# An error message can be long (psycopg adds hints on further lines): the log gets its start.
_REASON_CHARS = 200


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the store cannot be used right now (down, unreachable, a broken
    or exhausted connection pool, SQLite's lock timeout) rather than a bug or bad data:
    a failure worth a 503 and a retry, never a 500."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def is_stale_connection(exc: BaseException) -> bool:
    """Whether a statement failed because the store had dropped its pooled connection (a
    restart): worth one more try.  Not a failure to connect (no statement ran), which says
    the store is away."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated and exc.statement is not None


def once_more_if_stale(work: Callable[[], T]) -> T:
    """``work()``, run once more if it failed on a connection the store had dropped.  By
    then the pool has let go of every connection older than the failure, so the second run
    connects afresh: the first request after a restart succeeds."""
    try:
        return work()
    except DBAPIError as exc:
        if not is_stale_connection(exc):
            raise
    return work()


def _reason(exc: BaseException) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(original).strip().splitlines()
    first = text[0] if text else original.__class__.__name__
    return first[:_REASON_CHARS]


class Backoff:
    """Capped exponential waits between attempts: 0.5, 1, 2, 4, 5, 5… seconds."""

    def __init__(self, first: float = FIRST_RETRY_SECONDS, cap: float = MAX_RETRY_SECONDS):
        self.first = first
        self.cap = max(cap, first)
        self._next = first

    def next(self) -> float:
        wait = self._next
        self._next = min(self.cap, self._next * 2)
        return wait

    def reset(self) -> None:
        self._next = self.first


class StoreWatch:
    """Whether this process's store answers, as its connections last showed; one log line
    per change."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.up = True
        self._since = clock()
        self._lock = threading.Lock()

    def lost(self, exc: BaseException) -> None:
        if not self.up:
            return
        with self._lock:
            if not self.up:
                return
            self.up = False
            self._since = self.clock()
        log.warning("store unreachable: %s", _reason(exc))

    def regained(self) -> None:
        if self.up:
            return
        with self._lock:
            if self.up:
                return
            self.up = True
            away = self.clock() - self._since
        log.warning("store reachable again (after %.0f s)", away)


_watches: weakref.WeakKeyDictionary[Engine, StoreWatch] = weakref.WeakKeyDictionary()


def watch_engine(engine: Engine) -> StoreWatch:
    """The engine's watch, installed on first call: a failure to connect or a connection
    found broken marks the store lost, a new connection marks it back."""
    existing = _watches.get(engine)
    if existing is not None:
        return existing
    watch = _watches[engine] = StoreWatch()

    def on_error(context: ExceptionContext) -> None:
        # Only a failure to connect says the store is away.  A pooled connection found
        # broken (a restart, an administrator) says only that it was away at some point:
        # the next connection attempt tells, and the failed statement is retried on it.
        original = context.original_exception
        if context.connection is None and isinstance(original, engine.dialect.loaded_dbapi.Error):
            context.is_disconnect = True  # the exception says so: ``connection_invalidated``
            watch.lost(context.sqlalchemy_exception or original)

    def on_connect(_dbapi_connection: Any, _record: Any) -> None:
        watch.regained()

    event.listen(engine, "handle_error", on_error)
    event.listen(engine.pool, "connect", on_connect)
    return watch
