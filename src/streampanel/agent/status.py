"""How far behind the agent is, per log: written every few seconds to
``STATE_DIR/status.json`` (read by ``streampanel agent status``) and to the metrics.

Lag is measured against the centre's acknowledgements: *bytes* are the file's size minus
what the centre has acknowledged of it; *seconds* are how long it has been since the centre
last held all of it (0 when it does).  A file rotated away counts until the centre holds all
that was read of it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from streampanel.agent.link import Link
from streampanel.agent.metrics import AgentMetrics
from streampanel.agent.spool import LocalSource, Spool

STATUS_FILE = "status.json"
# A status file older than this was written by an agent that is no longer running.
STALE_SECONDS = 30.0


@dataclass
class LogLag:
    log: str
    path: str
    # The file is no longer at ``path`` (rotated away): it counts until delivered.
    rotated: bool
    format: str
    read: int
    acknowledged: int
    size: int
    lag_bytes: int
    lag_seconds: float
    spooled_blocks: int


@dataclass
class Status:
    pid: int
    server: str
    centre: str
    centre_detail: str
    centre_since: float
    written: float
    spooled_blocks: int
    spool_bytes: int
    logs: list[LogLag] = field(default_factory=list)
    viewer_snapshots_dropped: int = 0
    # The agent's last status, written as it stopped.
    stopped: bool = False


class StatusWriter:
    def __init__(
        self,
        state_dir: Path,
        server: str,
        logs: list[tuple[str, str]],
        spool: Spool,
        link: Link,
        metrics: AgentMetrics,
    ):
        self.path = state_dir / STATUS_FILE
        self.server = server
        # The configured access logs: (path, format).
        self.logs = logs
        self.spool = spool
        self.link = link
        self.metrics = metrics
        self.started = time.time()
        # Per source: when the centre last held all of it.
        self._caught_up: dict[int, float] = {}
        self.viewer_snapshots_dropped = 0

    def write(self, *, stopped: bool = False) -> Status:
        now = time.time()
        pending = self.spool.pending()
        logs: list[LogLag] = []
        for source in self.spool.sources():
            blocks, oldest = pending.get(source.id, (0, now))
            if source.finished and not blocks:
                continue
            size, rotated = _size(source)
            lag = max(0, size - source.acked_offset)
            if lag == 0:
                self._caught_up[source.id] = now
            # Behind since the centre last held all of it; for a file never caught up with,
            # since its oldest block waiting (or the agent's start, when none waits).
            since = self._caught_up.get(source.id, oldest if blocks else self.started)
            logs.append(
                LogLag(
                    log=source.log,
                    path=source.path,
                    rotated=rotated,
                    format=source.format,
                    read=source.read_offset,
                    acknowledged=source.acked_offset,
                    size=size,
                    lag_bytes=lag,
                    lag_seconds=0.0 if lag == 0 else round(now - since, 1),
                    spooled_blocks=blocks,
                )
            )
        logs += self._unread(logs, now)
        state = self.link.state
        status = Status(
            pid=os.getpid(),
            server=self.server,
            centre=state.name,
            centre_detail=state.detail,
            centre_since=state.since,
            written=now,
            spooled_blocks=sum(blocks for blocks, _ in pending.values()),
            spool_bytes=self.spool.size_on_disk(),
            logs=logs,
            viewer_snapshots_dropped=self.viewer_snapshots_dropped,
            stopped=stopped,
        )
        self._export(status)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(status), indent=1), encoding="utf-8")
        os.replace(partial, self.path)
        return status

    def _unread(self, known: list[LogLag], now: float) -> list[LogLag]:
        """Configured logs whose current file the agent has not started on (on its first run
        it waits for the centre to say where to start): all of it is behind."""
        current = {lag.log for lag in known if not lag.rotated}
        unread: list[LogLag] = []
        for log, fmt in self.logs:
            if log in current:
                continue
            try:
                size = os.stat(log).st_size
            except OSError:
                continue
            unread.append(
                LogLag(
                    log=log,
                    path=log,
                    rotated=False,
                    format=fmt,
                    read=0,
                    acknowledged=0,
                    size=size,
                    lag_bytes=size,
                    lag_seconds=round(now - self.started, 1) if size else 0.0,
                    spooled_blocks=0,
                )
            )
        return unread

    def _export(self, status: Status) -> None:
        self.metrics.spooled_blocks.set(status.spooled_blocks)
        by_log: dict[str, tuple[int, float]] = {}
        for lag in status.logs:
            sent, seconds = by_log.get(lag.log, (0, 0.0))
            by_log[lag.log] = (sent + lag.lag_bytes, max(seconds, lag.lag_seconds))
        for name, (lag_bytes, seconds) in by_log.items():
            self.metrics.lag_bytes.labels(name).set(lag_bytes)
            self.metrics.lag_seconds.labels(name).set(seconds)


def _size(source: LocalSource) -> tuple[int, bool]:
    """The file's current size when it is still where it was seen (plain files), else what
    was read of it; and whether it was rotated away."""
    try:
        stat = os.stat(source.path)
    except OSError:
        return source.read_offset, True
    if (stat.st_dev, stat.st_ino) != (source.device, source.inode):
        return source.read_offset, True
    return max(stat.st_size, source.read_offset), False


def is_running(status: dict[str, Any]) -> bool:
    """Whether the agent that wrote ``status`` still runs (recent, not stopped, alive)."""
    if status.get("stopped") or time.time() - float(status["written"]) > STALE_SECONDS:
        return False
    try:
        os.kill(int(status["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The last status an agent wrote in ``state_dir``, or None."""
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
