"""An access log's requests as HLS viewer counting sees them, read by the ingest formats'
own line definitions (``streampanel.ingest.formats``): one definition per log format.

Loads polars: imported where a log is read, not with every command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streampanel.ingest.formats import request_reader
from streampanel.viewers.hls import Hit


@dataclass(frozen=True)
class Hits:
    """The requests of a block of complete lines, and how many lines it had and could not
    be read as a request."""

    hits: list[Hit]
    lines: int
    unparsed: int


def hit_reader(log_format: str) -> Callable[[bytes], Hits]:
    """What reads a block of ``log_format`` lines into hits (ValueError for a format without
    one request per line)."""
    read = request_reader(log_format)

    def hits(block: bytes) -> Hits:
        found = read(block)
        # Columns in Hit's order: time, remote address, User-Agent, target, status.
        return Hits([Hit(*row) for row in found.rows.iter_rows()], found.lines, found.rejected)

    return hits
