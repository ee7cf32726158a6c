"""Live viewers from the edge, through the centre's push route (``POST /viewers/push``).

nginx-rtmp's ``/stat`` page is polled every ``interval`` seconds and parsed as the centre's
own collector parses it; HLS viewers are counted from the access log as the centre's HLS
collector counts them (distinct clients per stream in a sliding window), one snapshot per
step.  Each snapshot is the server's whole state for its protocol (``complete=1``): streams
it no longer lists have ended.

Viewer counts are real-time data: a snapshot the centre cannot take now is dropped and
counted (``streampanel_agent_viewer_snapshots{result="dropped"}``), never sent later as if
it were live.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from streampanel.agent.central import CentralError, Refused
from streampanel.agent.config import AgentConfig, HlsLog, NginxRtmp
from streampanel.agent.session import Shared
from streampanel.store.viewers import StreamCount
from streampanel.viewers.hls_collector import SETTLE_SECONDS, HlsLogCounter
from streampanel.viewers.push import PATH as PUSH_PATH
from streampanel.viewers.stat import parse_stat

log = logging.getLogger("streampanel.agent")


class _Pusher:
    """Sends one protocol's snapshots; counts what was sent and what was dropped."""

    protocol = ""
    source = ""

    def __init__(self, config: AgentConfig, shared: Shared):
        self.config = config
        self.session = shared.session
        self.link = shared.link
        self.metrics = shared.metrics
        self.sent = 0
        self.dropped = 0
        # The last snapshot the centre took listed no stream (one empty report is enough).
        self._empty_delivered = False

    def push(self, at: int, counts: Sequence[StreamCount]) -> bool:
        """Send one snapshot (the server's whole state for the protocol); False when it was
        dropped."""
        items: list[dict[str, Any]] = [
            {
                "time": at,
                "vhost": c.vhost,
                "app": c.app,
                "stream": c.stream,
                "viewers": c.viewers,
                "protocol": self.protocol,
            }
            for c in counts
        ]
        params = {"complete": "1"}
        if not items:
            if self._empty_delivered:
                return True  # nothing live, as the centre already knows
            # An empty list names no group: the query says which protocol has no stream.
            params |= {"protocol": self.protocol, "time": str(at)}
        try:
            self.session.central.post(PUSH_PATH, items, params=params)
        except CentralError as error:
            self.dropped += 1
            self.metrics.viewer_snapshots.labels(self.source, "dropped").inc()
            if isinstance(error, Refused):
                self.link.refused(error.message)
            else:
                self.link.unreachable(error.message)
            return False
        self.link.connected()
        self._empty_delivered = not items
        self.sent += 1
        self.metrics.viewer_snapshots.labels(self.source, "sent").inc()
        return True


class RtmpPusher(_Pusher):
    protocol = "rtmp"
    source = "nginx-rtmp"

    def __init__(self, config: AgentConfig, stat: NginxRtmp, shared: Shared):
        super().__init__(config, shared)
        self.stat = stat

        self._failing = False

    def poll_once(self) -> bool:
        try:
            response = httpx.get(str(self.stat.url), timeout=10.0)
            response.raise_for_status()
            counts = parse_stat(response.content, self.stat.vhost)
        except (httpx.HTTPError, ValueError) as exc:
            if not self._failing:  # once per change, not per poll
                log.warning("nginx-rtmp %s cannot be read: %s", self.stat.url, exc)
            self._failing = True
            return False
        if self._failing:
            log.info("nginx-rtmp %s can be read again", self.stat.url)
            self._failing = False
        return self.push(int(time.time()), counts)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            self.poll_once()
            stop.wait(max(0.0, self.stat.interval - (time.monotonic() - started)))


class HlsPusher(_Pusher):
    """HLS viewers of one access log, followed from its end (viewers are who fetches from
    now on), one snapshot per ``step`` of log time."""

    protocol = "hls"
    source = "hls"

    def __init__(self, config: AgentConfig, hls_log: HlsLog, shared: Shared):
        super().__init__(config, shared)
        self.hls_log = hls_log
        self.counter = HlsLogCounter(
            hls_log.path,
            hls_log.format,
            vhost=hls_log.vhost,
            window=hls_log.window,
            step=hls_log.step,
            path_pattern=hls_log.path_pattern,
        )

    def tick(self, now: float | None = None) -> None:
        for snapshot in self.counter.due(now):
            self.push(snapshot.time, snapshot.counts)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.tick()
                # Wake a little after each boundary so the step's lines have landed.
                step = self.hls_log.step
                stop.wait(step - (time.time() % step) + SETTLE_SECONDS + 0.5)
        finally:
            self.counter.close()
