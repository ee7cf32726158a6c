"""The HLS collector: follow an access log and store HLS viewer snapshots.

``replay()`` reads a whole log and stores a snapshot at every step boundary it covers plus
one at its end (``collect hls --once``, backfills, the demo).  ``run()`` follows the log
like ``tail -F`` from its end and, every step, stores the snapshots of the boundaries the
log or the clock passed, so a quiet log still ends its viewers.

The log is read as ``ingest access-log`` reads it: the same block reader and ``tail -F``
rules (``streampanel.ingest.source`` and ``follow``), the same line definitions
(``streampanel.ingest.formats``, through ``viewers.accesslog``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from streampanel.ingest.follow import Follower
from streampanel.ingest.format_names import NGINX_COMBINED, format_name
from streampanel.ingest.source import open_content
from streampanel.metrics import Metrics
from streampanel.store.viewers import RecordResult
from streampanel.viewers.collector import FailureNote
from streampanel.viewers.hls import HlsSnapshot, HlsViewerWindow, stream_hit
from streampanel.viewers.snapshots import store_reports
from streampanel.viewers.stat import DEFAULT_VHOST

log = logging.getLogger("streampanel.viewers")

PROTOCOL = "hls"
# Log lines land when a request completes: leave them this long before closing a step.
SETTLE_SECONDS = 2
# Every request of a block becomes a Python object here: blocks far smaller than ingest's.
BLOCK_BYTES = 4 << 20
# The follower polls once a step (a minute by default): a rotated log is read to its end when
# the rotation is seen and left at once, not a few steps later (its viewers would wait).
_SETTLE_POLLS = 0
# Snapshots kept for a store that is away, stored when it is back (a day of minute steps);
# beyond, the oldest are dropped.
MAX_PENDING_SNAPSHOTS = 1440


@dataclass
class LineStats:
    lines: int = 0
    unparsed: int = 0
    hls: int = 0


class HlsLogCounter:
    """An access log's HLS viewer snapshots, not stored: the collector stores them, the edge
    agent sends them to the centre.  ``due`` follows the log from its end (viewers now are
    who fetches from now on), ``replay`` reads it whole."""

    def __init__(
        self,
        log_path: Path,
        log_format: str,
        *,
        vhost: str = DEFAULT_VHOST,
        window: int = 60,
        step: int = 60,
        path_pattern: str | None = None,
        stats: LineStats | None = None,
    ):
        # The formats (polars) load where a log is read, not with every command.
        from streampanel.viewers.accesslog import hit_reader

        self.log_path = log_path
        self.stats = stats if stats is not None else LineStats()
        self._read = hit_reader(log_format)
        self._pattern = re.compile(path_pattern) if path_pattern else None
        self._counter = HlsViewerWindow(vhost, window, step)
        self._follower = Follower(
            str(log_path), BLOCK_BYTES, settle_polls=_SETTLE_POLLS, start_at_end=True
        )

    def _feed(self, block: bytes) -> list[HlsSnapshot]:
        found = self._read(block)
        self.stats.lines += found.lines
        self.stats.unparsed += found.unparsed
        snapshots: list[HlsSnapshot] = []
        for hit in found.hits:
            request = stream_hit(hit, self._pattern)
            if request is not None:
                self.stats.hls += 1
                snapshots.extend(self._counter.feed(request))
        return snapshots

    def replay(self) -> list[HlsSnapshot]:
        """The snapshots of the whole log: every step boundary it covers, and its end."""
        snapshots: list[HlsSnapshot] = []
        content = open_content(str(self.log_path))
        try:
            while block := content.read_block(BLOCK_BYTES, final=True)[0]:
                snapshots.extend(self._feed(block))
        finally:
            content.close()
        snapshots.extend(self._counter.flush())
        return snapshots

    def due(self, now: float | None = None) -> list[HlsSnapshot]:
        """Read what the log gained; the snapshots due by ``now``."""
        at = int(now if now is not None else time.time()) - SETTLE_SECONDS
        snapshots: list[HlsSnapshot] = []
        for block in self._follower.poll():
            snapshots.extend(self._feed(block))
        snapshots.extend(self._counter.advance(at))
        return snapshots

    def close(self) -> None:
        self._follower.close()


@dataclass
class HlsCollector:
    engine: Engine
    server: str
    log_path: Path
    log_format: str = NGINX_COMBINED
    vhost: str = DEFAULT_VHOST
    window: int = 60
    step: int = 60
    path_pattern: str | None = None
    stats: LineStats = field(default_factory=LineStats)
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        # Snapshots counted but not stored yet (the store was away): stored first next time.
        self._pending: list[HlsSnapshot] = []
        # Viewers in the last snapshot stored.
        self.viewers_now = 0
        self.log_format = format_name(self.log_format)
        self.counter = HlsLogCounter(
            self.log_path,
            self.log_format,
            vhost=self.vhost,
            window=self.window,
            step=self.step,
            path_pattern=self.path_pattern,
            stats=self.stats,
        )

    def _store(self, snapshots: list[HlsSnapshot]) -> RecordResult:
        return store_reports(
            self.engine,
            self.server,
            PROTOCOL,
            [(s.time, s.counts) for s in snapshots],
            vhosts={self.vhost},
        )

    def replay(self) -> tuple[int, RecordResult]:
        """Read the whole log; returns (snapshots, stored rows)."""
        snapshots = self.counter.replay()
        return len(snapshots), self._store(snapshots)

    def tick(self, now: float | None = None) -> RecordResult:
        """Read what the log gained and store the snapshots due by ``now``, after those a
        store outage held back."""
        snapshots = self._pending + self.counter.due(now)
        try:
            stored = self._store(snapshots)
        except BaseException:
            self._pending = snapshots[-MAX_PENDING_SNAPSHOTS:]
            raise
        self._pending = []
        if snapshots:
            self.viewers_now = sum(count.viewers for count in snapshots[-1].counts)
        return stored

    def close(self) -> None:
        self.counter.close()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        failing = FailureNote(self.server, f"HLS step on {self.log_path}")
        try:
            while not stop.is_set():
                try:
                    stored = await asyncio.to_thread(self.tick)
                    failing.passed()
                    self._count("ok", stored)
                except Exception as exc:  # keep following whatever one step hit
                    failing.failed(exc)
                    self._count("failed", None)
                # Wake a little after each boundary so the step's lines have landed.
                delay = self.step - (time.time() % self.step) + SETTLE_SECONDS + 0.5
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            self.close()

    def _count(self, result: str, stored: RecordResult | None) -> None:
        if self.metrics is None:
            return
        self.metrics.viewer_polls.labels(self.server, PROTOCOL, result).inc()
        if stored is not None:
            self.metrics.viewers.labels(self.server, PROTOCOL).set(self.viewers_now)
