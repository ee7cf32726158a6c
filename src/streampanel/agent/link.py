"""The agent's view of the centre: reachable, unreachable or refusing, logged once per change.

Every part of the agent (the sender, the viewer pushes, the disk reports) reports each
request's fate here; the log gets one line when the state changes, never one per retry.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("streampanel.agent")


@dataclass(frozen=True)
class LinkState:
    name: str  # "starting", "connected", "unreachable", "refused"
    detail: str
    since: float


class Link:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state = LinkState("starting", "", time.time())

    def connected(self) -> None:
        self._change("connected", "")

    def unreachable(self, detail: str) -> None:
        self._change("unreachable", detail)

    def refused(self, detail: str) -> None:
        self._change("refused", detail)

    @property
    def up(self) -> bool:
        return self.state.name == "connected"

    def _change(self, name: str, detail: str) -> None:
        with self._lock:
            if (name, detail) == (self.state.name, self.state.detail):
                return
            previous = self.state
            self.state = LinkState(name, detail, time.time())
        if name == "connected":
            if previous.name == "starting":
                log.info("centre reachable")
            else:
                away = time.time() - previous.since
                log.info("centre reachable again (was %s for %.0f s)", previous.name, away)
        elif name == "unreachable":
            log.warning("centre unreachable: %s; retrying with backoff", detail)
        else:
            log.error("centre refused: %s; retrying with backoff", detail)
