"""The decisions on the store (both stores): every reason, uses, auto binding, sessions that
go on without writing, revocation within the cache time, expiry, outages, publishing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select

from streampanel.runtime import Runtime
from streampanel.store import tickets as store
from streampanel.store.engine import write_transaction
from streampanel.store.tables.tickets import ticket_attempts, tickets
from streampanel.tickets import rules
from streampanel.tickets.gate import TicketGate, Viewer
from streampanel.tickets.links import segment_token
from streampanel.tickets.passwords import hash_password
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import dispatch

NOW = 1772366400.0  # 2026-03-01 12:00:00 UTC
EXPIRES = NOW + 86400


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate(runtime: Runtime, clock: Clock) -> TicketGate:
    return TicketGate(runtime.settings, runtime.engine, b"k" * 32, "link-secret", clock)


@pytest.fixture
def creds(make_account: MakeAccount) -> Credentials:
    make_account(159, apps=("other-live",))
    return make_account(158, apps=("live", "vod"))


def ticket(runtime: Runtime, creds: Credentials, **params: Any) -> str:
    values = {
        "app": "live",
        "video": "cam*",
        "pass": "pw",
        "ip": "0.0.0.0/0",
        "uses": 0,
        "expire": int(EXPIRES),
        **params,
    }
    answer = dispatch(runtime, creds, "sevu.request", now=NOW, **values)
    assert answer["status"] == "success", answer
    return str(answer["ticket"]["key"])


def viewer(key: str = "", password: str = "pw", **changes: Any) -> Viewer:
    values = {"protocol": "hls", "address": "203.0.113.7", "app": "live", "video": "cam"}
    return Viewer(**{**values, **changes}, key=key, password=password)


def attempts(runtime: Runtime) -> list[tuple[Any, ...]]:
    columns = (
        ticket_attempts.c.account_id,
        ticket_attempts.c.key,
        ticket_attempts.c.success,
        ticket_attempts.c.reason,
    )
    with runtime.engine.connect() as conn:
        query = select(*columns).order_by(ticket_attempts.c.id)
        return [tuple(row) for row in conn.execute(query)]


def test_an_allowed_start_counts_a_use_and_logs_it(
    runtime: Runtime, creds: Credentials, gate: TicketGate
) -> None:
    key = ticket(runtime, creds, uses=2)
    decision = gate.start(viewer(key))
    assert decision.allowed and decision.reason == ""
    session = gate.sessions.verify(decision.session, "203.0.113.7")
    assert session is not None and session.expires == int(EXPIRES)
    status = dispatch(runtime, creds, "sevu.status", key=key)["ticket"]
    assert (status["used"], status["uses_remaining"]) == (1, 1)
    assert status["used_date"] == "2026-03-01 12:00:00"
    assert attempts(runtime) == [(158, key, True, "")]
    log = dispatch(runtime, creds, "sevu.errorlog", key=key)["data"]
    assert [(r["ip"], r["app"], r["video"], r["protocol"], r["success"]) for r in log] == [
        ("203.0.113.7", "live", "cam", "hls", 1)
    ]


def test_every_refusal_gives_its_reason(
    runtime: Runtime, creds: Credentials, gate: TicketGate, clock: Clock
) -> None:
    key = ticket(runtime, creds, app="live|other-*", ip="10.0.0.0/8|203.0.113.0/24", uses=1)
    revoked = ticket(runtime, creds)
    dispatch(runtime, creds, "sevu.revoke", key=revoked)
    expired = ticket(runtime, creds, expire=int(NOW) - 1)
    cases = [
        (viewer(""), rules.INVALID_AUTH),
        (viewer("cam_.nosuch.1"), rules.INVALID_AUTH),
        (viewer(key, "wrong"), rules.INVALID_AUTH),
        (viewer(revoked), rules.REVOKED),
        (viewer(expired), rules.EXPIRED),
        (viewer(key, app="vod"), rules.INVALID_APP),
        # Matches the pattern, but is another account's application.
        (viewer(key, app="other-live"), rules.INVALID_APP),
        (viewer(key, video="other"), rules.INVALID_VIDEO),
        (viewer(key, address="198.51.100.1"), rules.INVALID_IP),
    ]
    for request, reason in cases:
        decision = gate.start(request)
        assert (decision.allowed, decision.reason) == (False, reason), request
    assert gate.start(viewer(key)).allowed
    assert gate.start(viewer(key)).reason == rules.USED_UP
    logged = attempts(runtime)
    assert [(r[2], r[3]) for r in logged] == [(False, reason) for _, reason in cases] + [
        (True, ""),
        (False, rules.USED_UP),
    ]
    # An attempt without a ticket is the account's whose application was asked for.
    assert logged[0][0] == 158
    assert dispatch(runtime, creds, "sevu.errorlog")["data"][0]["reason"] == rules.INVALID_AUTH
    counts = dispatch(runtime, creds, "sevu.errorcount", key=key, success=0)["data"]
    per_reason: Counter[str] = Counter()
    for row in counts:
        per_reason[row["reason"]] += row["attempts"]
    assert per_reason == {
        rules.INVALID_AUTH: 1,
        rules.INVALID_APP: 2,
        rules.INVALID_VIDEO: 1,
        rules.INVALID_IP: 1,
        rules.USED_UP: 1,
    }


def test_auto_24_binds_the_first_viewers_network(
    runtime: Runtime, creds: Credentials, gate: TicketGate
) -> None:
    key = ticket(runtime, creds, ip="auto/24")
    assert gate.start(viewer(key, address="203.0.113.7")).allowed
    assert dispatch(runtime, creds, "sevu.status", key=key)["ticket"]["ip"] == "203.0.113.0/24"
    assert gate.start(viewer(key, address="203.0.113.200")).allowed
    refused = gate.start(viewer(key, address="198.51.100.7"))
    assert refused.reason == rules.INVALID_IP
    assert dispatch(runtime, creds, "sevu.status", key=key)["ticket"]["ip"] == "203.0.113.0/24"


def test_a_refused_start_binds_nothing(
    runtime: Runtime, creds: Credentials, gate: TicketGate
) -> None:
    key = ticket(runtime, creds, ip="auto", video="cam")
    assert gate.start(viewer(key, video="other")).reason == rules.INVALID_VIDEO
    assert dispatch(runtime, creds, "sevu.status", key=key)["ticket"]["ip"] == "auto"


def test_rtmp_plays_are_starts(runtime: Runtime, creds: Credentials, gate: TicketGate) -> None:
    key = ticket(runtime, creds, uses=1)
    assert gate.start(viewer(key, protocol="rtmp")).allowed
    assert gate.start(viewer(key, protocol="rtmp")).reason == rules.USED_UP


@pytest.fixture
def statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(runtime.engine, "before_cursor_execute", record)
    yield seen
    event.remove(runtime.engine, "before_cursor_execute", record)


def test_a_session_goes_on_without_writing(
    runtime: Runtime, creds: Credentials, gate: TicketGate, statements: list[str]
) -> None:
    key = ticket(runtime, creds, uses=1)
    session = gate.start(viewer(key)).session
    statements.clear()
    for video in ("cam", "cam_hi", "cam_lo"):
        decision = gate.resume(viewer(video=video), session, 60)
        assert decision.allowed, decision
        expires = int(NOW) + 60
        link = segment_token("link-secret", expires, "live", video, "203.0.113.7")
        assert decision.query == f"s={session}&e={expires}&t={link}"
    # Once read, the ticket is decided from the cache: no statement at all.
    read = len(statements)
    assert gate.continue_cached(viewer(video="cam"), session, 60) is not None
    assert len(statements) == read
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    # Without segment seconds, segment links last until the ticket expires.
    assert f"&e={int(EXPIRES)}&" in gate.resume(viewer(), session, 0).query
    # The use was counted once, at the start.
    assert dispatch(runtime, creds, "sevu.status", key=key)["ticket"]["used"] == 1


def test_a_session_is_worth_nothing_elsewhere(
    runtime: Runtime, creds: Credentials, gate: TicketGate
) -> None:
    key = ticket(runtime, creds, video="cam")
    session = gate.start(viewer(key)).session
    assert gate.continue_cached(viewer(address="203.0.113.8"), session, 60) is None
    assert gate.resume(viewer(address="203.0.113.8"), session, 60).reason == rules.INVALID_SESSION
    assert gate.resume(viewer(video="dog"), session, 60).reason == rules.INVALID_VIDEO
    assert gate.resume(viewer(app="vod"), session, 60).reason == rules.INVALID_APP
    assert gate.resume(viewer(), "", 60).reason == rules.INVALID_AUTH
    assert gate.resume(viewer(), session + "x", 60).reason == rules.INVALID_SESSION
    assert [r[3] for r in attempts(runtime)][1:] == [
        rules.INVALID_SESSION,
        rules.INVALID_VIDEO,
        rules.INVALID_APP,
        rules.INVALID_AUTH,
        rules.INVALID_SESSION,
    ]


def test_revocation_stops_a_session_within_the_cache_time(
    runtime: Runtime, creds: Credentials, gate: TicketGate, clock: Clock
) -> None:
    key = ticket(runtime, creds)
    session = gate.start(viewer(key)).session
    assert gate.resume(viewer(), session, 60).allowed
    dispatch(runtime, creds, "sevu.revoke", key=key)
    # New starts stop at once.
    assert gate.start(viewer(key)).reason == rules.REVOKED
    # The running session within ticket_cache_seconds.
    assert gate.continue_cached(viewer(), session, 60) is not None
    clock.now += runtime.settings.ticket_cache_seconds + 0.1
    assert gate.continue_cached(viewer(), session, 60) is None
    decision = gate.resume(viewer(), session, 60)
    assert decision.reason == rules.REVOKED
    assert attempts(runtime)[-1] == (158, key, False, rules.REVOKED)


def test_expiry_stops_sessions_and_bounds_segment_links(
    runtime: Runtime, creds: Credentials, gate: TicketGate, clock: Clock
) -> None:
    key = ticket(runtime, creds, expire=int(NOW) + 30)
    session = gate.start(viewer(key)).session
    assert f"&e={int(NOW) + 30}&" in gate.resume(viewer(), session, 60).query
    clock.now += 31
    assert gate.continue_cached(viewer(), session, 60) is None
    assert gate.resume(viewer(), session, 60).reason == rules.EXPIRED
    assert gate.start(viewer(key)).reason == rules.EXPIRED


def test_starts_at_once_never_exceed_the_uses(
    runtime: Runtime, creds: Credentials, gate: TicketGate
) -> None:
    key = ticket(runtime, creds, uses=3)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(gate.start(viewer(key)).allowed)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True] * 3
    with runtime.engine.connect() as conn:
        assert conn.execute(select(tickets.c.used)).scalar_one() == 3


def test_a_store_outage_keeps_running_sessions_and_refuses_starts(
    runtime: Runtime, creds: Credentials, gate: TicketGate, clock: Clock
) -> None:
    from streampanel.errors import StoreUnavailable

    key = ticket(runtime, creds)
    session = gate.start(viewer(key)).session
    assert gate.resume(viewer(), session, 60).allowed
    down: Engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    gate.engine = down
    try:
        clock.now += 60  # the cache is stale: the stale entry decides
        assert gate.resume(viewer(), session, 60).allowed
        with pytest.raises(StoreUnavailable):
            gate.start(viewer(key))
        # A session never read by this process cannot be decided.
        other = gate.sessions.issue(999, int(EXPIRES), int(NOW), "203.0.113.7")
        with pytest.raises(StoreUnavailable):
            gate.resume(viewer(), other, 60)
    finally:
        down.dispose()


def add_publisher(
    runtime: Runtime, creds: Credentials, app: str, stream: str, user: str, password: str | None
) -> None:
    with write_transaction(runtime.engine) as conn:
        store.save_stream_user(
            conn,
            {
                "account_id": creds.cdn,
                "application_id": creds.apps[app],
                "stream": stream,
                "user": user,
                "password_hash": hash_password(password) if password else None,
                "settings": "{}",
                "created": runtime_now(),
                "updated": runtime_now(),
            },
        )


def runtime_now() -> Any:
    from datetime import datetime

    return datetime(2026, 3, 1, 12)


def test_publishing(runtime: Runtime, creds: Credentials, gate: TicketGate) -> None:
    add_publisher(runtime, creds, "live", "*", "studio", "any-stream-pw")
    add_publisher(runtime, creds, "live", "cam", "encoder", "cam-pw")
    add_publisher(runtime, creds, "vod", "*", "", None)
    # A stream's own entries decide for it.
    assert gate.may_publish("live", "cam", "encoder", "cam-pw")
    assert not gate.may_publish("live", "cam", "encoder", "wrong")
    assert not gate.may_publish("live", "cam", "studio", "any-stream-pw")
    # Other streams: the application's '*' entries.
    assert gate.may_publish("live", "dog", "studio", "any-stream-pw")
    assert not gate.may_publish("live", "dog", "encoder", "cam-pw")
    assert not gate.may_publish("live", "dog", "", "")
    # An entry without user opens the streams it covers.
    assert gate.may_publish("vod", "anything", "", "")
    # No entry at all, or an unknown application: refused.
    assert not gate.may_publish("other-live", "cam", "encoder", "cam-pw")
    assert not gate.may_publish("nosuch", "cam", "", "")
