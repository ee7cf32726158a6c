"""Access-log formats.  Each module is pure (bytes in, frames out) and exposes ``NAME``
and a parser; ``make_parser`` gives the pipeline one object per log file, carrying the
state a format needs across blocks (Wowza's ``#Fields`` and cumulative byte counters).
``request_reader`` gives the per-request view of the formats that log one HTTP request per
line, read by the same line definitions (HLS viewers).  Names: ``format_names``.

- ``nginx_combined``: nginx/Apache ``combined``.
- ``nginx_json``: one JSON object per line (see docs/ingest.md for the recommended
  ``log_format``).
- ``wowza``: Wowza Streaming Engine's W3C access log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from streampanel.ingest.format_names import FORMATS, REQUEST_FORMATS
from streampanel.ingest.formats import nginx_combined, nginx_json, wowza
from streampanel.ingest.formats.common import AppPattern, BlockResult, Requests


class Parser(Protocol):
    # Whether blocks may be parsed at the same time, in any order (no state between them).
    independent_blocks: bool

    def parse(self, block: bytes) -> BlockResult:
        """Parse a block of complete lines."""
        ...

    def state(self) -> str:
        """JSON of what must survive to the next block (committed with the offset)."""
        ...


class _Stateless:
    independent_blocks = True

    def __init__(self, module: object, apps: AppPattern):
        self._parse = module.parse  # type: ignore[attr-defined]
        self._apps = apps

    def parse(self, block: bytes) -> BlockResult:
        return self._parse(block, self._apps)  # type: ignore[no-any-return]

    def state(self) -> str:
        return "{}"


def make_parser(name: str, app_pattern: str, state: str = "{}") -> Parser:
    apps = AppPattern(app_pattern)
    if name == nginx_combined.NAME:
        return _Stateless(nginx_combined, apps)
    if name == nginx_json.NAME:
        return _Stateless(nginx_json, apps)
    if name == wowza.NAME:
        return wowza.WowzaParser(state)
    raise ValueError(f"unknown log format {name!r} (one of {', '.join(FORMATS)})")


def request_reader(name: str) -> Callable[[bytes], Requests]:
    """The per-request view of format ``name``: a block of complete lines in, its requests
    out."""
    if name == nginx_combined.NAME:
        return nginx_combined.requests
    if name == nginx_json.NAME:
        return nginx_json.requests
    if name == wowza.NAME:
        raise ValueError("the wowza log has a line per session event, not per HTTP request")
    raise ValueError(f"unknown log format {name!r} (one of {', '.join(REQUEST_FORMATS)})")


__all__ = [
    "FORMATS",
    "REQUEST_FORMATS",
    "AppPattern",
    "BlockResult",
    "Parser",
    "Requests",
    "make_parser",
    "request_reader",
]
