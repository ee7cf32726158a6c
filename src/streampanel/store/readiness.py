"""Readiness: whether this process can serve from its store right now, and if not, why.

Ready means three things, checked in one connection: the store answers a round trip, its
schema is at this code's heads, and this process's master key opens the store's check value.
The reasons name no host, user or driver detail: they are shown to whoever asks.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from streampanel.secretbox import SecretBox
from streampanel.store.keycheck import read_check_value
from streampanel.store.schema import SchemaStatus, read_revisions

log = logging.getLogger("streampanel.store.readiness")


def unready_reason(engine: Engine, box: SecretBox) -> str | None:
    """None when ready; otherwise one line saying what is wrong."""
    try:
        with engine.connect() as conn:
            status = SchemaStatus(read_revisions(conn))
            sealed = read_check_value(conn) if status.current else None
    except SQLAlchemyError as exc:
        log.debug("readiness: the store did not answer: %s", exc)
        return "the store does not answer"
    if not status.current:
        return status.describe()
    if sealed is None:
        return "the store has no master key check value yet (run `streampanel migrate`)"
    if not box.opens_check_value(sealed):
        return "the master key differs from the one that sealed this store's secrets"
    return None
