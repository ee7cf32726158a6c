"""Named points where the agent can be made to die at once (SIGKILL), for crash tests.

``failpoint = "NAME"`` in the configuration (or ``STREAMPANEL_AGENT_FAILPOINT=NAME``) kills
the agent the first time it reaches that point; ``"NAME:N"`` the N-th time.  The points:

- ``spooled``: a block is in the spool, nothing of it sent;
- ``sending``: the first part of a block's request body is on the wire, the rest is not;
- ``answered``: the centre answered that it committed the block, the agent has not
  recorded it (the spool still holds the block).
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = ("spooled", "sending", "answered")


class Failpoints:
    def __init__(self, spec: str):
        name, _, count = spec.partition(":")
        if name and name not in POINTS:
            raise ValueError(f"unknown failpoint {name!r}: one of {', '.join(POINTS)}")
        self._name = name
        self._left = int(count) if count else 1
        self._lock = threading.Lock()

    def hit(self, name: str) -> None:
        if name != self._name:
            return
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                os.kill(os.getpid(), signal.SIGKILL)
