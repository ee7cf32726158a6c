"""Committing what edge agents send, exactly once, each token writing only its own server.

The token names the server (``streampanel admin server ingest-token``); every request acts on
that server alone: a source of another server is refused (403), and so is a hello naming
another server (the agent's configuration and its token disagree).

A block is committed in one transaction that renews the agent's lease, moves the source's
checkpoint from the block's start to its end (only if it still stands at the start) and adds
the block's totals.  A block the checkpoint has already passed is a duplicate: acknowledged,
nothing added.  A block that starts elsewhere is an offset conflict (409) naming the
committed offset, from which the agent reads again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from streampanel.errors import BadRequest, Conflict, Forbidden
from streampanel.ingest import checkpoints
from streampanel.ingest.attribution import ApplicationNames
from streampanel.intake import wire
from streampanel.store import accounts, agents, usage
from streampanel.store.accounts import utcnow
from streampanel.store.engine import write_transaction
from streampanel.store.tables.usage import ingest_sources

# An agent renews its lease with every block and every heartbeat (a third of this).
LEASE_SECONDS = 90.0


@dataclass(frozen=True)
class Server:
    """The server a request's token belongs to."""

    id: int
    name: str


class IntakeConflict(Conflict):
    """A 409 whose answer carries what the agent needs to go on (``details``)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        self.details = details or {}
        super().__init__(message)


class LeaseConflict(IntakeConflict):
    def __init__(self, server: str, holder: agents.Holder | None):
        where = f" on host '{holder.host}'" if holder and holder.host else ""
        super().__init__(
            f"Server '{server}' is held by another agent{where}: one agent per server "
            "(it is free once that agent stops, or "
            f"{int(LEASE_SECONDS)} s after it was last heard from)"
        )


class NoLease(IntakeConflict):
    def __init__(self, server: str):
        super().__init__(f"This agent does not hold server '{server}': say hello first")


class OffsetConflict(IntakeConflict):
    def __init__(self, offset: int):
        super().__init__(
            f"The block does not start at the source's committed offset {offset}: "
            "read again from there",
            {"offset": offset},
        )


class Intake:
    """The operations behind the intake routes (no HTTP here)."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_body_bytes: int,
        application_cache_seconds: float,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        self.lease_seconds = lease_seconds
        self.clock = clock
        # A block naming an application the map does not hold re-reads it (at most every
        # application_cache_seconds; 0: for every block).
        self._apps = ApplicationNames(engine, application_cache_seconds)

    def hello(self, server: Server, message: wire.Hello) -> dict[str, Any]:
        if message.server != server.name:
            raise Forbidden(f"This token belongs to server '{server.name}', not '{message.server}'")
        with write_transaction(self.engine) as conn:
            holder = agents.take_lease(
                conn,
                server.id,
                message.agent,
                message.host,
                now=self.clock(),
                acquired=utcnow(),
                seconds=self.lease_seconds,
            )
            if holder is not None:
                raise LeaseConflict(server.name, holder)
            head_lengths = checkpoints.source_head_lengths(conn, server.id)
        return {
            "server": server.name,
            "lease_seconds": self.lease_seconds,
            "head_lengths": head_lengths,
            "max_body_bytes": self.max_body_bytes,
        }

    def source(self, server: Server, message: wire.SourceQuery) -> dict[str, Any]:
        """The file's checkpoint (created at offset 0 when new), for the agent to resume."""
        if message.head_len not in message.fingerprints:
            raise BadRequest("'fingerprints' must hold the file's own head length 'head_len'")
        with write_transaction(self.engine) as conn:
            self._renew(conn, server, message.agent)
            found, missing = checkpoints.find_by_fingerprints(conn, server.id, message.fingerprints)
            # Identities longer than this file's head cannot be its own.
            missing = [length for length in missing if length <= message.head_len]
            if missing:
                # A file first seen shorter is known by fewer bytes: the agent hashes those too.
                raise MissingHeadLengths(missing)
            new = found is None
            if found is None:
                found = checkpoints.create_source(
                    conn,
                    server_id=server.id,
                    fingerprint=message.fingerprints[message.head_len],
                    head_len=message.head_len,
                    fmt=message.format,
                    path=message.path,
                    device=None,
                    inode=None,
                    now=utcnow(),
                )
            # A new file continues the server's previous one of its format (Wowza's
            # per-client byte counters run on across a rotation): create_source gave it that
            # file's state.
            state = found.state
        return {
            "source": found.id,
            "offset": found.offset,
            "state": state,
            "fingerprint": found.fingerprint,
            "head_len": found.head_len,
            "new": new,
        }

    def block(self, server: Server, message: wire.Block) -> dict[str, Any]:
        if message.end <= message.start:
            raise BadRequest("A block's 'end' must be past its 'start'")
        attributed, unattributed = self._apps.split(message.totals)
        with write_transaction(self.engine) as conn:
            self._renew(conn, server, message.agent)
            source = checkpoints.get_source(conn, message.source)
            if source is None or source.server_id != server.id:
                raise Forbidden(f"Source {message.source} is not one of server '{server.name}'")
            if source.offset != message.start:
                outcome, offset = agents.block_outcome(conn, source.id, message.end)
                if outcome is agents.BlockOutcome.CONFLICT:
                    raise OffsetConflict(offset)
                return {"outcome": outcome.value, "offset": offset}
            values: dict[str, Any] = {
                "offset": message.end,
                "lines": ingest_sources.c.lines + message.lines,
                "rejected": ingest_sources.c.rejected + message.rejected,
                "unattributed": ingest_sources.c.unattributed
                + sum(requests for *_, requests in unattributed),
                "state": message.state,
            }
            if message.identity is not None and message.identity.head_len > source.head_len:
                values["fingerprint"] = message.identity.fingerprint
                values["head_len"] = message.identity.head_len
            if not checkpoints.advance(conn, source, values, utcnow()):
                # Another transaction moved it between the read and the move.
                outcome, offset = agents.block_outcome(conn, source.id, message.end)
                if outcome is agents.BlockOutcome.CONFLICT:
                    raise OffsetConflict(offset)
                return {"outcome": outcome.value, "offset": offset}
            usage.add_usage(conn, server.id, attributed)
            usage.add_unattributed(conn, server.id, unattributed)
        return {"outcome": agents.BlockOutcome.COMMITTED.value, "offset": message.end}

    def disk(self, server: Server, message: wire.DiskReport) -> dict[str, Any]:
        """Record the server's figures; storage users the centre does not know are listed
        back, not recorded, and known ones without a tree on this server count 0 here."""
        with write_transaction(self.engine) as conn:
            self._renew(conn, server, message.agent)
            users = {u["name"]: u["id"] for u in accounts.list_storage_users(conn)}
            figures = {user_id: message.figures.get(name, 0) for name, user_id in users.items()}
            agents.record_server_disk_usage(
                conn, server.id, message.day, figures, message.measured.replace(tzinfo=None)
            )
        return {
            "recorded": len(figures),
            "unknown": sorted(name for name in message.figures if name not in users),
        }

    def bye(self, server: Server, message: wire.Bye) -> dict[str, Any]:
        with write_transaction(self.engine) as conn:
            released = agents.release_lease(conn, server.id, message.agent)
        return {"released": released}

    def _renew(self, conn: Connection, server: Server, agent_id: str) -> None:
        if not agents.renew_lease(
            conn, server.id, agent_id, now=self.clock(), seconds=self.lease_seconds
        ):
            holder = agents.holder(conn, server.id)
            if holder is None or holder.agent_id == agent_id:
                raise NoLease(server.name)
            raise LeaseConflict(server.name, holder)


class MissingHeadLengths(IntakeConflict):
    """The centre knows files of this server by head lengths the agent did not hash."""

    def __init__(self, lengths: list[int]):
        super().__init__(
            "Fingerprints of these head lengths are needed too: "
            + ", ".join(str(n) for n in lengths),
            {"head_lengths": lengths},
        )
