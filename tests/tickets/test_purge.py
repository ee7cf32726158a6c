"""Attempts older than the retention, and tickets that expired before it, are purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select

from streampanel.runtime import Runtime
from streampanel.store import tickets as store
from streampanel.store.engine import write_transaction
from streampanel.store.tables.tickets import ticket_attempts, tickets
from streampanel.tickets import purge
from tests.conftest import MakeAccount

NOW = datetime(2026, 3, 1, 12)


def _ticket(conn: Connection, key: str, expire: datetime) -> None:
    store.create_ticket(
        conn,
        {
            "account_id": 158,
            "key": key,
            "pass": "pw",
            "app": "live",
            "video": "*",
            "ip": "0.0.0.0/0",
            "uses": 0,
            "used": 0,
            "active": True,
            "created": expire - timedelta(days=1),
            "expire_date": expire,
        },
    )


def test_purge(
    runtime: Runtime, make_account: MakeAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_account(158, apps=("live",))
    monkeypatch.setattr(purge, "_CHUNK", 3)  # several chunks
    with write_transaction(runtime.engine) as conn:
        for days in (40, 35, 31, 31, 31, 29, 1):
            store.log_attempt(
                conn,
                158,
                NOW - timedelta(days=days),
                key="k",
                ip="203.0.113.1",
                app="live",
                video="cam",
                protocol="hls",
                success=True,
                reason="",
                **{"pass": "pw"},
            )
        _ticket(conn, "old", NOW - timedelta(days=31))
        _ticket(conn, "recent", NOW - timedelta(days=29))
    deleted = purge.purge_expired(runtime.engine, 30, now=NOW.replace(tzinfo=UTC).timestamp())
    with runtime.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(ticket_attempts)).scalar_one()
        keys = list(conn.execute(select(tickets.c.key)).scalars())
    assert (deleted, left, keys) == (6, 2, ["recent"])
