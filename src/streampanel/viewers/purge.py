"""Removing live-viewer rows older than the retention (14 days by default)."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from streampanel.store import viewers
from streampanel.store.engine import write_transaction

DAY = 86400


def purge_expired(engine: Engine, retention_days: float, now: float | None = None) -> int:
    """Delete snapshots older than ``retention_days``; returns how many rows went."""
    cutoff = int((now if now is not None else time.time()) - retention_days * DAY)
    with write_transaction(engine) as conn:
        return viewers.purge(conn, cutoff)
