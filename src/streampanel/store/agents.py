"""Edge agents' side of the store: server leases, block commits, per-server disk figures.
Query functions; the caller owns the transaction.

One agent per server: an agent holds its server by a lease (its instance id and an expiry),
taken or renewed in one statement that succeeds only when the lease is free, expired or
already its own.  Every block an agent sends is committed in a transaction that renews the
lease first, so an agent that lost its server (it stayed away past the expiry and another
agent took over) cannot write to it.

A block counts once: its totals are added in the transaction that moves the source's
checkpoint from the block's start offset to its end, and the move happens only when the
checkpoint still stands at the start (``ingest.checkpoints.advance``).  A block whose range
the checkpoint has already passed (sent again after a timeout, a restart, a lost answer) is
recognised as a duplicate and adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from streampanel.store import usage
from streampanel.store.tables.agents import agent_leases, disk_usage_servers
from streampanel.store.tables.usage import ingest_sources


@dataclass(frozen=True)
class Holder:
    """The agent holding a server."""

    agent_id: str
    host: str
    acquired: datetime
    expires: float


def take_lease(
    conn: Connection,
    server_id: int,
    agent_id: str,
    host: str,
    *,
    now: float,
    acquired: datetime,
    seconds: float,
) -> Holder | None:
    """Take or renew the server's lease for ``agent_id``; None when another agent holds it.

    One upsert whose update applies only to a lease that is this agent's or has expired:
    two agents racing for a free server cannot both get it.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(agent_leases).values(
        server_id=server_id,
        agent_id=agent_id,
        host=host[:255],
        acquired=acquired,
        expires=now + seconds,
    )
    mine = agent_leases.c.agent_id == insert.excluded.agent_id
    statement = insert.on_conflict_do_update(
        index_elements=["server_id"],
        set_={
            "agent_id": insert.excluded.agent_id,
            "host": insert.excluded.host,
            "acquired": case((mine, agent_leases.c.acquired), else_=insert.excluded.acquired),
            "expires": insert.excluded.expires,
        },
        where=mine | (agent_leases.c.expires < now),
    ).returning(agent_leases.c.agent_id)
    if conn.execute(statement).first() is not None:
        return None
    return holder(conn, server_id)


def renew_lease(
    conn: Connection, server_id: int, agent_id: str, *, now: float, seconds: float
) -> bool:
    """Extend ``agent_id``'s lease (expired or not, as long as nobody took it over); False
    when it does not hold the server.  The first statement of each of its writes: the row
    stays locked until the write commits."""
    result = conn.execute(
        update(agent_leases)
        .where(agent_leases.c.server_id == server_id, agent_leases.c.agent_id == agent_id)
        .values(expires=now + seconds)
    )
    return bool(result.rowcount)


def holder(conn: Connection, server_id: int) -> Holder | None:
    row = conn.execute(select(agent_leases).where(agent_leases.c.server_id == server_id)).first()
    if row is None:
        return None
    return Holder(str(row.agent_id), str(row.host), row.acquired, float(row.expires))


def release_lease(conn: Connection, server_id: int, agent_id: str) -> bool:
    """Give the server up (a clean stop), so another agent may take it at once."""
    result = conn.execute(
        agent_leases.delete().where(
            agent_leases.c.server_id == server_id, agent_leases.c.agent_id == agent_id
        )
    )
    return bool(result.rowcount)


# -- sources ------------------------------------------------------------------------------


class BlockOutcome(StrEnum):
    COMMITTED = "committed"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


def block_outcome(conn: Connection, source_id: int, end: int) -> tuple[BlockOutcome, int]:
    """After a guarded move failed: a duplicate when the checkpoint already passed the
    block's end, else a conflict; with the checkpoint's offset."""
    stored = conn.execute(
        select(ingest_sources.c.offset).where(ingest_sources.c.id == source_id)
    ).scalar_one()
    return (BlockOutcome.DUPLICATE if stored >= end else BlockOutcome.CONFLICT), int(stored)


# -- disk ---------------------------------------------------------------------------------

# Any constant: disk reports of all servers take turns (they are rare and small).
_DISK_LOCK = 0x5354_4449


def record_server_disk_usage(
    conn: Connection, server_id: int, day: date, figures: Mapping[int, int], measured: datetime
) -> None:
    """Store one server's figure per storage user for ``day`` (replacing its earlier one) and
    set each user's ``disk_usage`` for the day to the sum over servers."""
    if conn.dialect.name == "postgresql":
        # Two servers reporting at once must not each sum without the other's figure.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DISK_LOCK})
    rows: list[dict[str, Any]] = [
        {
            "storage_user_id": user_id,
            "day": day,
            "server_id": server_id,
            "bytes": size,
            "measured": measured,
        }
        for user_id, size in figures.items()
    ]
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(disk_usage_servers)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["storage_user_id", "day", "server_id"],
            set_={"bytes": insert.excluded.bytes, "measured": insert.excluded.measured},
        ),
        rows,
    )
    sums = conn.execute(
        select(disk_usage_servers.c.storage_user_id, func.sum(disk_usage_servers.c.bytes))
        .where(
            disk_usage_servers.c.day == day,
            disk_usage_servers.c.storage_user_id.in_(list(figures)),
        )
        .group_by(disk_usage_servers.c.storage_user_id)
    )
    usage.record_disk_usage(conn, day, {int(u): int(b) for u, b in sums}, measured)
