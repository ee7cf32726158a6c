"""Storing a server's reports: resolve the server, then record the snapshots in one write."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import Engine

from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import RecordResult, StreamCount, record_snapshot

log = logging.getLogger("streampanel.viewers")

Report = tuple[int, Sequence[StreamCount]]


def store_reports(
    engine: Engine,
    server: str,
    protocol: str,
    reports: Iterable[Report],
    *,
    complete: bool = True,
    vhosts: Collection[str] | None = None,
) -> RecordResult:
    """Record reports ``(unix time, counts)`` of ``server`` (created on first sight), in order.

    ``complete``/``vhosts``: see :func:`streampanel.store.viewers.record_snapshot`.
    """
    rows = closed = 0
    estimated: set[str] = set()
    with write_transaction(engine) as conn:
        server_id = accounts.get_or_create_server(conn, server)
        for at, counts in reports:
            result = record_snapshot(
                conn, server_id, protocol, at, counts, complete=complete, vhosts=vhosts
            )
            rows += result.rows
            closed += result.closed
            estimated.update(f"{c.app}/{c.stream}" for c in counts if c.estimated)
    if estimated:
        # The server listed no clients: counts are <nclients> minus the publisher, which
        # also counts push relays.  `rtmp_stat all` lists clients and gives exact counts.
        log.warning(
            "%s: no clients listed, viewers estimated from nclients for %s",
            server,
            ", ".join(sorted(estimated)),
        )
    return RecordResult(rows=rows, closed=closed)


def store_report(
    engine: Engine,
    server: str,
    protocol: str,
    time: int,
    counts: Sequence[StreamCount],
    *,
    complete: bool = True,
    vhosts: Collection[str] | None = None,
) -> RecordResult:
    """Record one report of ``server`` at ``time`` (unix seconds)."""
    return store_reports(
        engine, server, protocol, [(time, counts)], complete=complete, vhosts=vhosts
    )
