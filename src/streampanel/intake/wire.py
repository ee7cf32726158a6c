"""What crosses the network between an edge agent and the centre: aggregates, hashes and
offsets, never log lines.  Shared by both sides, so they cannot drift apart.

A block is the totals of a run of complete lines of one log file: per (UTC day, application
name as logged) bytes and requests, the number of lines and of rejected lines, and the
parser state after it; its ``start`` and ``end`` are content offsets of the file.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from streampanel.ingest.source import HEAD_BYTES

PREFIX = "/agent/v1"
HELLO = f"{PREFIX}/hello"
SOURCES = f"{PREFIX}/sources"
BLOCKS = f"{PREFIX}/blocks"
DISK = f"{PREFIX}/disk"
BYE = f"{PREFIX}/bye"

# The largest integer both stores keep (bigint).
MAX_COUNT = 2**63 - 1
# Totals rows per block: a 24 MiB block of a busy log has a few thousand (days x apps).
MAX_ROWS = 200_000
# An application name as the centre keeps it (longer ones are cut there, as by ingest).
MAX_APP = 1000
# Wowza's parser state (its #Fields and per-client byte counters).
MAX_STATE = 4 << 20

AgentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
HeadLength = Annotated[int, Field(ge=1, le=HEAD_BYTES)]
LogFormat = Literal["nginx-combined", "nginx-json", "wowza"]


class _Message(BaseModel):
    # Refusing unknown members catches an agent and a centre of different versions early.
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: AgentId


class Hello(_Message):
    """Start (or keep) holding the server the token belongs to."""

    server: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    host: Annotated[str, StringConstraints(max_length=255)] = ""
    version: Annotated[str, StringConstraints(max_length=40)] = ""


class SourceQuery(_Message):
    """Which checkpoint is this file's?  ``fingerprints`` maps head lengths to the SHA-256 of
    the file's first that many content bytes: its own length, and every length the centre
    listed in its answer to hello (identities of files first seen shorter)."""

    format: LogFormat
    path: Annotated[str, StringConstraints(max_length=4096)]
    head_len: HeadLength
    fingerprints: Annotated[dict[HeadLength, Fingerprint], Field(min_length=1, max_length=64)]


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: Fingerprint
    head_len: HeadLength


TotalsRow = tuple[date, Annotated[str, StringConstraints(max_length=MAX_APP)], Count, Count]


class Block(_Message):
    """One block's totals and the checkpoint move they belong to."""

    source: Annotated[int, Field(ge=1, le=2**31 - 1)]
    start: Count
    end: Count
    lines: Count
    rejected: Count
    state: Annotated[str, StringConstraints(max_length=MAX_STATE)]
    # The file grew past the head it was first known by: its identity widens to this.
    identity: Identity | None = None
    totals: Annotated[list[TotalsRow], Field(max_length=MAX_ROWS)]


class DiskReport(_Message):
    """Bytes per storage user (directory name under the storage roots) on this server."""

    day: date
    measured: datetime
    figures: Annotated[
        dict[Annotated[str, StringConstraints(max_length=200)], Count], Field(max_length=100_000)
    ]


class Bye(_Message):
    pass
