"""The agent's standing with the centre: its lease on the server, and looking files up.

``hello`` takes the server's lease (or renews it) and tells the agent the head lengths the
centre knows files by; the agent says it again every third of the lease, and every block it
sends renews the lease too.  ``lookup`` finds a file's checkpoint at the centre by
fingerprints of its first bytes, never by the bytes themselves.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from streampanel.agent.central import Central, Refused
from streampanel.agent.config import AgentConfig
from streampanel.agent.failpoints import Failpoints
from streampanel.agent.link import Link
from streampanel.agent.metrics import AgentMetrics
from streampanel.agent.spool import Spool
from streampanel.ingest.source import fingerprint
from streampanel.intake import wire

VERSION = "1"


class Session:
    def __init__(self, central: Central, config: AgentConfig, agent_id: str):
        self.central = central
        self.config = config
        self.agent_id = agent_id
        self._lock = threading.Lock()
        self._renewed = 0.0
        self.lease_seconds = 0.0
        self.head_lengths: list[int] = []
        self.max_body_bytes = 0

    def ensure(self) -> None:
        """Say hello when the lease is not known to be held, or a third of it has passed."""
        with self._lock:
            if self.lease_seconds and time.monotonic() - self._renewed < self.lease_seconds / 3:
                return
            answer = self.central.post(
                wire.HELLO,
                wire.Hello(
                    agent=self.agent_id,
                    server=self.config.server,
                    host=socket.gethostname(),
                    version=VERSION,
                ),
            )
            self.lease_seconds = float(answer["lease_seconds"])
            self.head_lengths = [int(n) for n in answer["head_lengths"]]
            self.max_body_bytes = int(answer["max_body_bytes"])
            self._renewed = time.monotonic()

    def renewed(self) -> None:
        """A write the centre accepted renewed the lease."""
        with self._lock:
            self._renewed = time.monotonic()

    def forget(self) -> None:
        """The centre says the lease is not ours: hello again before the next write."""
        with self._lock:
            self.lease_seconds = 0.0

    def lookup(self, fmt: str, path: str, head: bytes) -> dict[str, Any]:
        """The centre's checkpoint of the file starting with ``head`` (created when new)."""
        self.ensure()
        lengths = set(self.head_lengths)
        for _ in range(3):
            fingerprints = {
                length: fingerprint(head[:length])
                for length in {*lengths, len(head)}
                if length <= len(head)
            }
            query = wire.SourceQuery(
                agent=self.agent_id,
                format=fmt,  # type: ignore[arg-type]
                path=path[:4096],
                head_len=len(head),
                fingerprints=fingerprints,
            )
            try:
                return self.central.post(wire.SOURCES, query)
            except Refused as refused:
                missing = refused.details.get("head_lengths")
                if refused.status != 409 or not isinstance(missing, list):
                    raise
                lengths.update(int(n) for n in missing)
        raise Refused(409, "the centre keeps asking for other head lengths", {})

    def bye(self) -> None:
        with self._lock:
            self.lease_seconds = 0.0
        self.central.post(wire.BYE, wire.Bye(agent=self.agent_id))


@dataclass(frozen=True)
class Shared:
    """What every part of the agent that talks to the centre uses."""

    session: Session
    link: Link
    metrics: AgentMetrics


@dataclass(frozen=True)
class Pipeline:
    """What the access-log readers and the sender share besides ``Shared``: the spool
    between them, the failpoints the crash tests stop them at, and the event that wakes the
    sender when a block was spooled."""

    shared: Shared
    spool: Spool
    failpoints: Failpoints
    wake: threading.Event
