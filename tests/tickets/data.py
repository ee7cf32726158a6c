"""A ticket, two attempts and a stream user written straight to the store, for tests of other
features that need an account with ticket data (tests/web/test_result_fields.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from streampanel.store import tickets as store
from streampanel.tickets.passwords import hash_password


def fill(
    conn: Connection, account_id: int, app: str, application_id: int, now: datetime
) -> dict[str, Any]:
    """Returns ``{"ticket": key, "streamuser": id}``."""
    key = "cam.0123456789abcdef0123456789abcdef.00000001"
    store.create_ticket(
        conn,
        {
            "account_id": account_id,
            "key": key,
            "pass": "p4ss",
            "app": app,
            "video": "cam*",
            "ip": "0.0.0.0/0",
            "uses": 3,
            "used": 1,
            "active": True,
            "created": now - timedelta(hours=1),
            "used_date": now,
            "expire_date": now + timedelta(days=1),
        },
    )
    for success, reason in ((True, ""), (False, "Invalid IP Address")):
        store.log_attempt(
            conn,
            account_id,
            now,
            key=key,
            ip="203.0.113.7",
            app=app,
            video="cam",
            protocol="hls",
            success=success,
            reason=reason,
            **{"pass": "p4ss"},
        )
    streamuser = store.save_stream_user(
        conn,
        {
            "account_id": account_id,
            "application_id": application_id,
            "stream": "cam",
            "user": "encoder",
            "password_hash": hash_password("pw"),
            "settings": "{}",
            "created": now,
            "updated": now,
        },
    )
    return {"ticket": key, "streamuser": streamuser}
