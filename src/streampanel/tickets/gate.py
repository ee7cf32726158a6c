"""The decisions: may this viewer start (or go on with) a playback, may this encoder publish.

**Start** (an HLS playlist requested with ``key`` and ``pass``, or an RTMP play): one write
transaction reads the ticket by key, checks it in a fixed order — key and pass, revoked,
expired, application, video, IP rule, uses — and either refuses or counts the use (binding an
``auto`` IP entry) with a guarded update; the attempt is logged in the same transaction,
allowed or refused.  An allowed HLS start gets a session (``links``).

**Continue** (a playlist requested with a session): no write when allowed.  The session's
signature proves ticket, address and expiry; what may change after the start (revocation) is
read from a per-process cache of the ticket kept ``ticket_cache_seconds``, so a revoked ticket
stops running sessions within that.  A refused continuation is logged.  While the store is
down, a cached ticket keeps deciding (players keep playing); anything else answers
``StoreUnavailable``.

**Publish**: the stream users of the application's stream and of its ``*`` entry; an entry
without user opens the stream, otherwise user and password must match one (scrypt).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from streampanel.errors import StoreUnavailable
from streampanel.settings import Settings
from streampanel.store import tickets as store
from streampanel.store.engine import write_transaction
from streampanel.tickets import rules
from streampanel.tickets.links import SessionSigner, segment_token
from streampanel.tickets.passwords import verify_password

log = logging.getLogger("streampanel.tickets")

# A start that lost a race for the same ticket decides again, a bounded number of times.
_START_ROUNDS = 5
_CACHE_LIMIT = 100_000


class Viewer(NamedTuple):
    """One request of a viewer, as the streaming server reports it."""

    protocol: str  # 'hls' or 'rtmp'
    address: str
    app: str
    video: str
    key: str = ""
    password: str = ""


class Decision(NamedTuple):
    allowed: bool
    reason: str
    # For allowed HLS decisions: the query the playlist's URIs carry (session and segment
    # link), or the session alone for a start.
    session: str = ""
    query: str = ""


def _unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class _TicketState:
    """What a running session needs to know of its ticket."""

    account_id: int
    key: str
    app: str
    video: str
    active: bool
    expires: int


class TicketGate:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        session_key: bytes,
        link_secret: str,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.engine = engine
        self.sessions = SessionSigner(session_key)
        self.link_secret = link_secret
        self.clock = clock
        # ticket id -> (valid until, state); application name -> (valid until, account id)
        self._tickets: dict[int, tuple[float, _TicketState]] = {}
        self._owners: dict[str, tuple[float, int | None]] = {}
        self._store_down = False

    # Starts

    def start(self, viewer: Viewer) -> Decision:
        """Decide a start, count its use and log it (one write transaction)."""
        try:
            for _ in range(_START_ROUNDS):
                with write_transaction(self.engine) as conn:
                    decision = self._start_once(conn, viewer)
                if decision is not None:
                    self._note_store(up=True)
                    return decision
        except DBAPIError as exc:
            self._note_store(up=False, error=exc)
            raise StoreUnavailable() from None
        # Every round lost a race for the same row: refuse rather than loop.
        log.warning("ticket start for %r gave up after %d rounds", viewer.key, _START_ROUNDS)
        raise StoreUnavailable()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None, microsecond=0)

    def _start_once(self, conn: Connection, viewer: Viewer) -> Decision | None:
        now = self._now()
        ticket = store.ticket_by_key(conn, viewer.key) if viewer.key else None
        if ticket is None or not hmac.compare_digest(
            ticket["pass"].encode(), viewer.password.encode()
        ):
            account = ticket["account_id"] if ticket else store.application_owner(conn, viewer.app)
            return self._refuse(conn, account, viewer, rules.INVALID_AUTH, now)
        account = ticket["account_id"]
        reason = self._ticket_refusal(conn, ticket, viewer, now)
        if reason:
            return self._refuse(conn, account, viewer, reason, now)
        admitted = rules.parse_ip_rule(ticket["ip"]).admit(viewer.address)
        if admitted is None:
            return self._refuse(conn, account, viewer, rules.INVALID_IP, now)
        if ticket["uses"] and ticket["used"] >= ticket["uses"]:
            return self._refuse(conn, account, viewer, rules.USED_UP, now)
        if not store.record_start(conn, ticket, admitted.text, now):
            return None
        self._log(conn, account, viewer, rules.ALLOWED, now)
        expires = _unix(ticket["expire_date"])
        session = self.sessions.issue(ticket["id"], expires, _unix(now), viewer.address)
        return Decision(True, rules.ALLOWED, session=session)

    def _ticket_refusal(
        self, conn: Connection, ticket: dict[str, Any], viewer: Viewer, now: datetime
    ) -> str:
        if not ticket["active"]:
            return rules.REVOKED
        if now > ticket["expire_date"]:
            return rules.EXPIRED
        owner = store.application_owner(conn, viewer.app)
        if owner != ticket["account_id"] or not rules.matches(ticket["app"], viewer.app):
            return rules.INVALID_APP
        if not rules.matches(ticket["video"], viewer.video):
            return rules.INVALID_VIDEO
        return ""

    def _refuse(
        self, conn: Connection, account: int | None, viewer: Viewer, reason: str, now: datetime
    ) -> Decision:
        self._log(conn, account, viewer, reason, now)
        return Decision(False, reason)

    @staticmethod
    def _log(
        conn: Connection, account: int | None, viewer: Viewer, reason: str, now: datetime
    ) -> None:
        store.log_attempt(
            conn,
            account,
            now,
            key=viewer.key,
            **{"pass": viewer.password},
            ip=viewer.address,
            app=viewer.app,
            video=viewer.video,
            protocol=viewer.protocol,
            success=reason == rules.ALLOWED,
            reason=reason,
        )

    # Continuations

    def continue_cached(self, viewer: Viewer, token: str, segment_seconds: int) -> Decision | None:
        """An allowed continuation decided from the caches alone, or None: then ``resume``
        decides (it may read the store, and logs a refusal)."""
        now = self.clock()
        session = self.sessions.verify(token, viewer.address)
        if session is None:
            return None
        state = self._cached(self._tickets, session.ticket_id, now)
        owner = self._cached(self._owners, viewer.app, now)
        if state is None or owner is None:
            return None
        if self._continue_refusal(state, owner, viewer, int(now)):
            return None
        return self._continue(token, state, viewer, int(now), segment_seconds)

    def resume(self, viewer: Viewer, token: str, segment_seconds: int) -> Decision:
        """Decide a continuation, reading the store where the caches are stale."""
        now = self.clock()
        session = self.sessions.verify(token, viewer.address) if token else None
        if session is None:
            reason = rules.INVALID_SESSION if token else rules.INVALID_AUTH
            return self._refuse_continuation(None, viewer, reason)
        state = self._ticket_state(session.ticket_id, now)
        owner = self._owner(viewer.app, now)
        if state is None:
            return self._refuse_continuation(None, viewer, rules.INVALID_SESSION)
        reason = self._continue_refusal(state, owner, viewer, int(now))
        if reason:
            return self._refuse_continuation(state, viewer, reason)
        return self._continue(token, state, viewer, int(now), segment_seconds)

    @staticmethod
    def _continue_refusal(state: _TicketState, owner: int | None, viewer: Viewer, now: int) -> str:
        if owner != state.account_id or not rules.matches(state.app, viewer.app):
            return rules.INVALID_APP
        if not rules.matches(state.video, viewer.video):
            return rules.INVALID_VIDEO
        if not state.active:
            return rules.REVOKED
        if now > state.expires:
            return rules.EXPIRED
        return ""

    def _continue(
        self, token: str, state: _TicketState, viewer: Viewer, now: int, segment_seconds: int
    ) -> Decision:
        expires = state.expires
        if segment_seconds > 0:
            expires = min(expires, now + segment_seconds)
        link = segment_token(self.link_secret, expires, viewer.app, viewer.video, viewer.address)
        return Decision(True, rules.ALLOWED, session=token, query=f"s={token}&e={expires}&t={link}")

    def _refuse_continuation(
        self, state: _TicketState | None, viewer: Viewer, reason: str
    ) -> Decision:
        # The session's ticket (never the presented text) names the attempt.
        logged = Viewer(
            viewer.protocol,
            viewer.address,
            viewer.app,
            viewer.video,
            key=state.key if state else viewer.key,
        )
        try:
            with write_transaction(self.engine) as conn:
                account = state.account_id if state else self._owner(viewer.app, self.clock())
                self._log(conn, account, logged, reason, self._now())
        except (DBAPIError, StoreUnavailable) as exc:
            # The refusal stands; only its log line is lost.
            self._note_store(up=False, error=exc)
        return Decision(False, reason)

    # Caches

    @staticmethod
    def _cached(entries: dict[Any, tuple[float, Any]], name: Any, now: float) -> Any:
        entry = entries.get(name)
        if entry is None or entry[0] < now:
            return None
        return entry[1]

    def _remember(self, entries: dict[Any, tuple[float, Any]], name: Any, value: Any) -> None:
        if len(entries) >= _CACHE_LIMIT:
            entries.clear()
        entries[name] = (self.clock() + self.settings.ticket_cache_seconds, value)

    def _read(
        self, entries: dict[Any, tuple[float, Any]], name: Any, read: Callable[[Connection], Any]
    ) -> Any:
        try:
            with self.engine.connect() as conn:
                value = read(conn)
        except DBAPIError as exc:
            self._note_store(up=False, error=exc)
            stale = entries.get(name)
            if stale is None:
                raise StoreUnavailable() from None
            return stale[1]
        self._note_store(up=True)
        self._remember(entries, name, value)
        return value

    def _ticket_state(self, ticket_id: int, now: float) -> _TicketState | None:
        state: _TicketState | None = self._cached(self._tickets, ticket_id, now)
        if state is not None:
            return state

        def read(conn: Connection) -> _TicketState | None:
            row = store.ticket_by_id(conn, ticket_id)
            if row is None:
                return None
            return _TicketState(
                row["account_id"],
                row["key"],
                row["app"],
                row["video"],
                bool(row["active"]),
                _unix(row["expire_date"]),
            )

        result: _TicketState | None = self._read(self._tickets, ticket_id, read)
        return result

    def _owner(self, app: str, now: float) -> int | None:
        entry = self._owners.get(app)
        if entry is not None and entry[0] >= now:
            return entry[1]
        owner: int | None = self._read(
            self._owners, app, lambda conn: store.application_owner(conn, app)
        )
        return owner

    def _note_store(self, up: bool, error: Exception | None = None) -> None:
        # Once per change of state, not once per request.
        if up and self._store_down:
            log.warning("ticket decisions: store reachable again")
        elif not up and not self._store_down:
            log.warning(
                "ticket decisions: store unavailable (%s); cached tickets keep deciding",
                error.__class__.__name__ if error else "error",
            )
        self._store_down = not up

    # Publishing

    def may_publish(self, app: str, stream: str, user: str, password: str) -> bool:
        try:
            with self.engine.connect() as conn:
                entries = store.publishers(conn, app, stream)
        except DBAPIError as exc:
            self._note_store(up=False, error=exc)
            raise StoreUnavailable() from None
        # A stream's own entries decide for it; the application's '*' entries for the rest.
        own = [entry for entry in entries if entry["stream"] == stream]
        for entry in own or entries:
            if entry["user"] == "":
                return True
            if (
                user
                and hmac.compare_digest(entry["user"].encode(), user.encode())
                and entry["password_hash"]
                and verify_password(password, entry["password_hash"])
            ):
                return True
        return False
