"""From a request's JSON text to its outcome, in the protocol's order of checks.

body → JSON → required members → key lookup → cdn belongs to the key's account → timestamp
→ signature → rate limit → command known → key scope → parameters → handler.  ``prepare``
runs the checks up to the handler; ``admit`` is the part after authentication, public for a
caller that proved the key another way (the panel's session); ``execute`` runs a prepared
request's handler.  ``answer`` (the outcome, or what to await for it when a step waits) and
``answer_admitted`` are the entry points for the event loop, and where each step runs
depends on the store:

- on PostgreSQL any step may wait for a round trip (a key not cached yet, a batch of rate
  tokens, the handler's queries), so the whole request runs in one worker thread and the
  event loop never waits for the store;
- on SQLite a cached key and the in-memory rate limiter never wait, so the checks run on the
  event loop, ``inline`` commands too (on the loop's own connection), and every other handler
  in a worker thread.

Independent of HTTP: the endpoint and the panel are its callers, and tests call it directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from streampanel.api.outcome import Outcome, failure_outcome
from streampanel.api.ratelimit import RateLimiter
from streampanel.commands import REGISTRY, Command
from streampanel.commands.context import CallContext
from streampanel.errors import (
    ApiError,
    AuthenticationFailed,
    InternalError,
    ScopeDenied,
    StoreUnavailable,
    UnknownCommand,
)
from streampanel.protocol import envelope
from streampanel.protocol.request import Envelope, decode_request_text, shown
from streampanel.protocol.signing import Signer, split_signature
from streampanel.secretbox import SecretBox
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.accounts import ApiKey
from streampanel.store.engine import kept_connection_alive, write_transaction
from streampanel.store.outage import is_unavailable, once_more_if_stale

log = logging.getLogger("streampanel.api")

T = TypeVar("T")

# The command an outcome names when the request named none of the registry's: the client's
# text never becomes a metric label or enters the access log (a made-up name of a megabyte
# per request would grow both without bound).
UNKNOWN_COMMAND = "unknown"


def command_label(name: str) -> str:
    """``name`` when it is a registry command, else ``UNKNOWN_COMMAND``."""
    return name if name in REGISTRY else UNKNOWN_COMMAND


@dataclass(slots=True)
class Prepared:
    """A request that passed every check and is ready for its handler."""

    command: Command
    params: BaseModel
    key: ApiKey
    signature: str
    outcome: Outcome
    started: float


class _AuthFailure(AuthenticationFailed):
    """Authentication failed; ``reason`` goes to the server log only."""

    def __init__(self, reason: str, message: str | None = None):
        self.reason = reason
        super().__init__(message)


def _unexpected(exc: Exception, command: str) -> ApiError:
    """What an exception that is not an ``ApiError`` answers: a store failure 503, anything
    else a bare 500, never a traceback.

    Callers catch with ``try``/``except`` around the store work, which costs nothing while no
    exception is raised (a context manager would cost an object and two calls per request).
    """
    if isinstance(exc, OperationalError | DBAPIError):
        # An outage is logged once, by the store's watch; anything else each time.
        if not is_unavailable(exc):
            log.warning("command %s: store error: %s", command, exc.__class__.__name__)
        return StoreUnavailable()
    log.error("command %s failed", command, exc_info=exc)
    return InternalError()


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        box: SecretBox,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.engine = engine
        self.box = box
        self.clock = clock
        # api_key -> (expiry, key, its signer): skips a query, a decryption and the HMAC key
        # set-up per request.  Revoking a key takes effect everywhere within key_cache_seconds.
        self._keys: dict[str, tuple[float, ApiKey, Signer]] = {}
        self._loop_connection: Connection | None = None
        self.applications = accounts.ApplicationCache(settings.application_cache_seconds)
        self.limiter = RateLimiter(settings, engine, clock)
        # Where each step runs (the module's first lines): off the loop unless on SQLite.
        self.offload = engine.dialect.name != "sqlite"
        # Reading commands and key lookups run each statement in its own transaction on
        # PostgreSQL: BEGIN and COMMIT would be two more round trips around one or two reads.
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if self.offload else engine
        )
        # The request path's own threads (``api_threads``, as many as the store's pool keeps
        # for it): asyncio's executor hands work over in a third of the time anyio's
        # run_sync takes, a cost every request on PostgreSQL pays.
        # Each of them keeps its own connection for reading commands: a pool check-out and
        # check-in per request cost more than the query they wrap.  (A caller's thread, e.g.
        # ``handle`` in a test, takes one from the pool each time.)
        self._own = threading.local()
        self._threads = ThreadPoolExecutor(
            settings.api_threads, thread_name_prefix="api", initializer=self._mark_own_thread
        )
        self._kept: list[Connection] = []
        self._kept_lock = threading.Lock()

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    def _mark_own_thread(self) -> None:
        self._own.keeps_connection = True

    def close(self) -> None:
        self._threads.shutdown(wait=False)
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None
        with self._kept_lock:
            kept, self._kept = self._kept, []
        for conn in kept:
            conn.close()

    def _thread_connection(self) -> Connection:
        """This API thread's long-lived connection (autocommit on PostgreSQL), checked as the
        pool checks the ones it hands out and opened afresh when the store dropped it (a
        request that failed on it runs once more, on a new one)."""
        conn: Connection | None = getattr(self._own, "conn", None)
        now = time.monotonic()
        idle = now - getattr(self._own, "used", now)
        self._own.used = now
        if conn is not None:
            if not conn.invalidated and not conn.closed:
                if kept_connection_alive(conn, idle):
                    return conn
                conn.invalidate()  # dead: never back into the pool
            conn.close()
        fresh = self._reader.connect()
        with self._kept_lock:
            if conn in self._kept:
                self._kept.remove(conn)
            self._kept.append(fresh)
        self._own.conn = fresh
        return fresh

    def _find_key(self, api_key: str) -> tuple[ApiKey, Signer] | None:
        now = time.monotonic()
        cached = self._keys.get(api_key)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        key = once_more_if_stale(lambda: self._lookup_key(api_key))
        if key is None:
            return None
        if len(self._keys) > 10_000:
            self._keys.clear()
        signer = Signer(key.secret)
        self._keys[api_key] = (now + self.settings.key_cache_seconds, key, signer)
        return key, signer

    def _lookup_key(self, api_key: str) -> ApiKey | None:
        with self._reader.connect() as conn:
            return accounts.find_active_key(conn, self.box, api_key)

    def active_key(self, api_key: str) -> ApiKey | None:
        """The active key named ``api_key``, through the same per-process cache as requests:
        a revoked key is refused everywhere within ``key_cache_seconds``."""
        found = self._find_key(api_key)
        return None if found is None else found[0]

    def handle(self, raw: bytes, started: float | None = None) -> Outcome:
        """The whole request, synchronously (a worker thread, tests, in-process callers)."""
        prepared = self.prepare(raw, started)
        return prepared if isinstance(prepared, Outcome) else self.execute(prepared)

    def answer(self, raw: bytes, started: float) -> Outcome | Awaitable[Outcome]:
        """A request's outcome from its JSON text, each step where it belongs (see the
        module's first lines); ``started`` is when it arrived.  The outcome itself when no
        step had to wait (a failed check, an ``inline`` command on SQLite), else the
        awaitable of the step that waits: every request pays for each coroutine added."""
        if self.offload:
            return self._in_thread(self.handle, raw, started)
        return self.run(self.prepare(raw, started))

    async def answer_admitted(
        self, key: ApiKey, name: str, members: dict[str, Any], *, read_only: bool, started: float
    ) -> Outcome:
        """``admit`` then ``execute``, each step where it belongs (the panel's calls)."""
        if self.offload:
            return await self._in_thread(
                self._admit_and_execute, key, name, members, read_only, started
            )
        ran = self.run(self.admit(key, name, members, read_only=read_only, started=started))
        return ran if isinstance(ran, Outcome) else await ran

    def _admit_and_execute(
        self, key: ApiKey, name: str, members: dict[str, Any], read_only: bool, started: float
    ) -> Outcome:
        admitted = self.admit(key, name, members, read_only=read_only, started=started)
        return admitted if isinstance(admitted, Outcome) else self.execute(admitted)

    def prepare(self, raw: bytes, started: float | None = None) -> Prepared | Outcome:
        """Every check up to the handler; a failure comes back as its ``Outcome``.

        On SQLite it waits for nothing once the key is cached, and runs on the event loop;
        on PostgreSQL it runs in a worker thread (``answer``).  ``started`` is when the
        request arrived, for ``handle_time``.
        """
        if started is None:
            started = time.perf_counter()
        outcome = Outcome(body={})
        try:
            members = decode_request_text(raw)
            request = Envelope(members)
            outcome.command, outcome.cdn = command_label(request.command), request.cdn
            try:
                key = self.authenticate(raw, request)
            except ApiError:
                raise
            except Exception as exc:
                raise _unexpected(exc, outcome.command) from None
        except _AuthFailure as error:
            log.info("authentication failed: %s", error.reason)
            return failure_outcome(error, started, outcome)
        except ApiError as error:
            return failure_outcome(error, started, outcome)
        return self.admit(
            key,
            request.command,
            members,
            started=started,
            outcome=outcome,
            signature=request.signature.rstrip("="),
        )

    def admit(
        self,
        key: ApiKey,
        name: str,
        members: dict[str, Any],
        *,
        read_only: bool = False,
        started: float | None = None,
        outcome: Outcome | None = None,
        signature: str = "",
    ) -> Prepared | Outcome:
        """The checks after authentication, for a key already proved: by the request's
        signature (``prepare``) or by a panel session.

        rate limit → command known → scope (``read_only`` refuses commands that create, as
        for a read-only key) → parameters.  ``members`` are the request's members or just
        the command's parameters; ``signature`` makes creating commands idempotent.
        """
        if started is None:
            started = time.perf_counter()
        if outcome is None:
            outcome = Outcome(body={}, command=command_label(name), cdn=key.account_id)
        try:
            try:
                self.limiter.check(key.id)
            except ApiError:
                raise
            except Exception as exc:
                raise _unexpected(exc, outcome.command) from None
            command = REGISTRY.get(name)
            if command is None:
                # Authenticated, so worth a line; cut, so a key cannot flood the log.
                log.info("key %s: unknown command %s", key.id, shown(name))
                raise UnknownCommand(name)
            if command.writes and (key.read_only or read_only):
                raise ScopeDenied(name)
            params = command.parse_params(members)
        except ApiError as error:
            return failure_outcome(error, started, outcome)
        if not members.keys() <= command.accepted_members:
            ignored = sorted(members.keys() - command.accepted_members)
            names = ", ".join(shown(member) for member in ignored[:5])
            more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
            log.info("%s: ignoring unknown members %s%s", command.name, names, more)
        return Prepared(command, params, key, signature, outcome, started)

    def run(self, prepared: Prepared | Outcome) -> Outcome | Awaitable[Outcome]:
        """A prepared request's outcome, or what to await for it (as ``answer``): a failed
        check's as it is, an ``inline`` command's from the event loop when the store is
        SQLite, every other handler's from a worker thread so a heavy query never stalls
        other requests."""
        if isinstance(prepared, Outcome):
            return prepared
        if prepared.command.inline and not self.offload:
            return self.execute_inline(prepared)
        return self._in_thread(self.execute, prepared)

    def execute(self, prepared: Prepared) -> Outcome:
        """Run the handler (any thread): a command that writes in its own transaction, a
        reading one in autocommit on PostgreSQL and in a transaction on SQLite (where BEGIN
        and COMMIT cost no round trip, and one lock is cheaper than one per statement).  A
        handler that failed on a connection the store had dropped runs once more."""
        command = prepared.command
        try:
            payload = once_more_if_stale(lambda: self._run_handler(prepared))
        except ApiError as error:
            return failure_outcome(error, prepared.started, prepared.outcome)
        except Exception as exc:
            return failure_outcome(
                _unexpected(exc, command.name), prepared.started, prepared.outcome
            )
        return self._succeeded(prepared, payload)

    def _run_handler(self, prepared: Prepared) -> Any:
        command = prepared.command
        if command.writes:
            with write_transaction(self.engine) as conn:
                return command.handler(self._context(prepared, conn), prepared.params)
        if not getattr(self._own, "keeps_connection", False):
            with self._reader.connect() if self.offload else self.engine.begin() as conn:
                return command.handler(self._context(prepared, conn), prepared.params)
        conn = self._thread_connection()
        if self.offload:
            return command.handler(self._context(prepared, conn), prepared.params)
        with conn.begin():
            return command.handler(self._context(prepared, conn), prepared.params)

    def execute_inline(self, prepared: Prepared) -> Outcome:
        """Run an ``inline`` command on the event loop's own long-lived connection (SQLite).

        Only ever called from the event loop thread. The connection is in autocommit: an
        inline command is a single read, which needs no transaction around it, and the pool
        check-out, BEGIN and COMMIT would cost more than its query.
        """
        command = prepared.command
        assert command.inline and not command.writes
        try:
            conn = self._loop_connection
            if conn is None or conn.invalidated or conn.closed:
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self._loop_connection = conn
            try:
                payload = command.handler(self._context(prepared, conn), prepared.params)
            except (OperationalError, DBAPIError):
                self._loop_connection = None
                conn.invalidate()
                raise
        except ApiError as error:
            return failure_outcome(error, prepared.started, prepared.outcome)
        except Exception as exc:
            return failure_outcome(
                _unexpected(exc, command.name), prepared.started, prepared.outcome
            )
        return self._succeeded(prepared, payload)

    def _context(self, prepared: Prepared, conn: Connection) -> CallContext:
        return CallContext(
            account_id=prepared.key.account_id,
            key=prepared.key,
            conn=conn,
            settings=self.settings,
            box=self.box,
            clock=self.clock,
            applications=self.applications,
            signature=prepared.signature,
        )

    def _succeeded(self, prepared: Prepared, payload: Any) -> Outcome:
        command, outcome = prepared.command, prepared.outcome
        outcome.body = envelope.success(
            command.message, command.payload_key, payload, time.perf_counter() - prepared.started
        )
        return outcome

    def authenticate(self, raw: bytes, request: Envelope) -> ApiKey:
        """The key that signed this request, or ``AuthenticationFailed``."""
        found = self._find_key(request.api_key)
        if found is None:
            raise _AuthFailure(f"unknown or revoked api_key for cdn {request.cdn}")
        key, signer = found
        if key.account_id != request.cdn:
            raise _AuthFailure(f"key {key.id} does not belong to cdn {request.cdn}")
        signed_text = split_signature(raw).signed_text
        now = self.clock()
        if abs(now - request.timestamp) > self.settings.timestamp_window:
            # Say why only to a caller who proved the secret: no key probing by stale stamps.
            skew = int(request.timestamp - now)
            if signer.matches(signed_text, request.signature):
                raise _AuthFailure(
                    f"timestamp skew {skew}s",
                    "Authentication failed: timestamp is outside the allowed window of "
                    f"±{self.settings.timestamp_window} seconds (off by {skew} s); "
                    "check the client's clock",
                )
            raise _AuthFailure(f"timestamp skew {skew}s and bad signature")
        if not signer.matches(signed_text, request.signature):
            raise _AuthFailure(f"signature mismatch for key {key.id}")
        return key
