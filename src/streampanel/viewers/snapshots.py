"""Storing one server's report: resolve the server, then record the snapshot in one write."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Engine

from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import RecordResult, StreamCount, record_snapshot

log = logging.getLogger("streampanel.viewers")


def store_report(
    engine: Engine,
    server: str,
    protocol: str,
    time: int,
    counts: Iterable[StreamCount],
    *,
    complete: bool = True,
) -> RecordResult:
    """Record a report of ``server`` (created on first sight) at ``time`` (unix seconds)."""
    counts = list(counts)
    with write_transaction(engine) as conn:
        server_id = accounts.get_or_create_server(conn, server)
        result = record_snapshot(conn, server_id, protocol, time, counts, complete=complete)
    estimated = [f"{c.app}/{c.stream}" for c in counts if c.estimated]
    if estimated:
        # The server listed no clients: counts are <nclients> minus the publisher, which
        # also counts push relays.  Enable client listing in the stat page for exact counts.
        log.warning(
            "%s: no clients listed, viewers estimated from nclients for %s",
            server,
            ", ".join(estimated),
        )
    return result
