"""The HLS collector: follow an access log and store HLS viewer snapshots.

``replay()`` reads a whole log and stores a snapshot at every step boundary it covers plus
one at its end (``collect hls --once``, backfills, the demo).  ``run()`` follows the log
like ``tail -F`` from its end (reopening it when rotated or truncated) and, every step,
stores the snapshots of the boundaries the log or the clock passed, so a quiet log still
ends its viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from streampanel.store.viewers import RecordResult
from streampanel.viewers.accesslog import PARSERS
from streampanel.viewers.hls import HlsSnapshot, HlsViewerWindow, stream_hit
from streampanel.viewers.snapshots import store_reports
from streampanel.viewers.stat import DEFAULT_VHOST

log = logging.getLogger("streampanel.viewers")

PROTOCOL = "hls"
# Log lines land when a request completes: leave them this long before closing a step.
SETTLE_SECONDS = 2


@dataclass
class LineStats:
    lines: int = 0
    unparsed: int = 0
    hls: int = 0


@dataclass
class HlsCollector:
    engine: Engine
    server: str
    log_path: Path
    log_format: str = "combined"
    vhost: str = DEFAULT_VHOST
    window: int = 60
    step: int = 60
    path_pattern: str | None = None
    stats: LineStats = field(default_factory=LineStats)

    def __post_init__(self) -> None:
        if self.log_format not in PARSERS:
            raise ValueError(f"unknown log format {self.log_format!r}: use {', '.join(PARSERS)}")
        self._parse = PARSERS[self.log_format]
        self._pattern = re.compile(self.path_pattern) if self.path_pattern else None
        self._counter = HlsViewerWindow(self.vhost, self.window, self.step)
        self._handle: IO[str] | None = None
        self._inode: int | None = None
        self._partial = ""

    def _feed_lines(self, lines: list[str]) -> list[HlsSnapshot]:
        snapshots: list[HlsSnapshot] = []
        for line in lines:
            if not line.strip():
                continue
            self.stats.lines += 1
            hit = self._parse(line)
            if hit is None:
                self.stats.unparsed += 1
                continue
            found = stream_hit(hit, self._pattern)
            if found is not None:
                self.stats.hls += 1
                snapshots.extend(self._counter.feed(found))
        return snapshots

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
        with self.log_path.open(encoding="utf-8", errors="replace") as handle:
            snapshots = self._feed_lines(handle.readlines())
        snapshots.extend(self._counter.flush())
        return len(snapshots), self._store(snapshots)

    def _read_new_lines(self) -> list[str]:
        try:
            inode = os.stat(self.log_path).st_ino
        except FileNotFoundError:
            return []
        if self._handle is not None and (
            inode != self._inode or os.fstat(self._handle.fileno()).st_size < self._handle.tell()
        ):
            # Rotated or truncated: finish the old handle, start the new file from its top.
            rest = self._handle.read()
            self._handle.close()
            self._handle = None
            lines = self._split(rest)
            return lines + self._open_and_read(inode, from_start=True)
        if self._handle is None:
            return self._open_and_read(inode, from_start=self._inode is not None)
        return self._split(self._handle.read())

    def _open_and_read(self, inode: int, *, from_start: bool) -> list[str]:
        self._handle = self.log_path.open(encoding="utf-8", errors="replace")
        self._inode = inode
        if not from_start:
            # First open of a live follow: viewers are who fetches from now on.
            self._handle.seek(0, os.SEEK_END)
        return self._split(self._handle.read())

    def _split(self, text: str) -> list[str]:
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()
        return lines

    def tick(self, now: float | None = None) -> RecordResult:
        """Read what the log gained and store the snapshots due by ``now``."""
        at = int(now if now is not None else time.time()) - SETTLE_SECONDS
        snapshots = self._feed_lines(self._read_new_lines())
        snapshots.extend(self._counter.advance(at))
        return self._store(snapshots)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(self.tick)
                except Exception as exc:  # keep following whatever one step hit
                    log.warning(
                        "%s: HLS step on %s failed: %s: %s",
                        self.server,
                        self.log_path,
                        exc.__class__.__name__,
                        exc,
                    )
                # Wake a little after each boundary so the step's lines have landed.
                delay = self.step - (time.time() % self.step) + SETTLE_SECONDS + 0.5
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            self.close()
