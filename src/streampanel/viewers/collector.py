"""The nginx-rtmp collector: poll ``/stat`` every interval and store a snapshot.

One poll is synchronous (:meth:`RtmpCollector.poll_once`, used by ``--once`` and tests); the
loop (:meth:`RtmpCollector.run`) is async so the embedded server runs collectors beside the
API.  A failing poll (server down, bad XML, store busy) is logged and retried; the loop only
ends when asked to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from streampanel.metrics import Metrics
from streampanel.store.outage import is_unavailable
from streampanel.store.viewers import RecordResult
from streampanel.viewers.snapshots import store_report
from streampanel.viewers.stat import DEFAULT_VHOST, parse_stat

log = logging.getLogger("streampanel.viewers")

PROTOCOL = "rtmp"
# After a failed poll, try again sooner than a long interval would.
RETRY_SECONDS = 15.0


@dataclass
class PollResult:
    time: int
    streams: int
    viewers: int
    stored: RecordResult


@dataclass
class RtmpCollector:
    engine: Engine
    server: str
    url: str
    vhost: str = DEFAULT_VHOST
    interval: float = 60.0
    timeout: float = 10.0
    metrics: Metrics | None = None

    def fetch(self) -> bytes:
        response = httpx.get(self.url, timeout=self.timeout, follow_redirects=True)
        response.raise_for_status()
        return response.content

    def poll_once(self, now: float | None = None) -> PollResult:
        document = self.fetch()
        counts = parse_stat(document, self.vhost)
        at = int(now if now is not None else time.time())
        # Only this collector's vhost: another collector may report the server's other vhosts.
        stored = store_report(self.engine, self.server, PROTOCOL, at, counts, vhosts={self.vhost})
        return PollResult(at, len(counts), sum(c.viewers for c in counts), stored)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll until ``stop`` is set (or forever), every ``interval`` seconds."""
        stop = stop or asyncio.Event()
        failing = FailureNote(self.server, f"poll of {self.url}")
        while not stop.is_set():
            started = time.monotonic()
            delay = self.interval
            try:
                result = await asyncio.to_thread(self.poll_once)
                log.info("%s: %d streams, %d viewers", self.server, result.streams, result.viewers)
                failing.passed()
                if self.metrics is not None:
                    self.metrics.viewer_polls.labels(self.server, PROTOCOL, "ok").inc()
                    self.metrics.viewers.labels(self.server, PROTOCOL).set(result.viewers)
            except Exception as exc:  # keep collecting whatever one poll hit
                failing.failed(exc)
                if self.metrics is not None:
                    self.metrics.viewer_polls.labels(self.server, PROTOCOL, "failed").inc()
                delay = min(self.interval, RETRY_SECONDS)
            remaining = delay - (time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(remaining, 0.0))


class FailureNote:
    """A collector's failing steps in the log: one line when they start failing or fail
    otherwise, one when they work again, never one per retry.  A store outage is left to
    the store's own line (``streampanel.store.outage``)."""

    def __init__(self, server: str, what: str):
        self.server = server
        self.what = what
        self._reason: str | None = None

    def failed(self, exc: BaseException) -> None:
        reason = f"{exc.__class__.__name__}: {exc}"
        if reason == self._reason:
            return
        if not is_unavailable(exc):
            log.warning("%s: %s failed: %s; retrying", self.server, self.what, reason)
        self._reason = reason

    def passed(self) -> None:
        if self._reason is not None:
            log.info("%s: %s works again", self.server, self.what)
            self._reason = None
