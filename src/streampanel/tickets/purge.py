"""Removing old attempts and long-expired tickets (``ticket_attempt_retention_days``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from streampanel.store import tickets as store
from streampanel.store.engine import write_transaction

_CHUNK = 10_000


def purge_expired(engine: Engine, retention_days: float, now: float | None = None) -> int:
    """Delete attempts older than the retention and tickets that expired before it; returns
    how many rows went."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    cutoff = moment.replace(tzinfo=None) - timedelta(days=retention_days)
    deleted = 0
    while True:
        with write_transaction(engine) as conn:
            chunk = store.purge_attempts(conn, cutoff, _CHUNK)
        deleted += chunk
        if chunk < _CHUNK:
            break
    with write_transaction(engine) as conn:
        deleted += store.purge_tickets(conn, cutoff)
    return deleted
