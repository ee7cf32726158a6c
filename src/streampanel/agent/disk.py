"""Disk usage from the edge: each storage user's bytes under this server's storage roots,
measured as ``streampanel collect disk`` measures them, sent for the UTC day.

The centre keeps each server's figure and bills the sum over servers.  A report that cannot
be delivered is sent again until it is, or until a newer measurement replaces it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from streampanel.agent.central import CentralError, Refused
from streampanel.agent.config import AgentConfig
from streampanel.agent.session import Shared
from streampanel.disk.collector import measure
from streampanel.intake import wire
from streampanel.uploads.backoff import delay

log = logging.getLogger("streampanel.agent")


class DiskReporter:
    def __init__(self, config: AgentConfig, shared: Shared):
        self.config = config
        self.session = shared.session
        self.link = shared.link
        self.metrics = shared.metrics

    def measure(self) -> wire.DiskReport:
        problems: list[str] = []
        measured = datetime.now(UTC).replace(microsecond=0)
        figures = measure(list(self.config.disk.roots), problems)
        for problem in problems:
            log.warning("disk: %s", problem)
        return wire.DiskReport(
            agent=self.session.agent_id, day=measured.date(), measured=measured, figures=figures
        )

    def send(self, report: wire.DiskReport) -> None:
        """Deliver ``report``; raises ``CentralError`` when it could not be."""
        try:
            self.session.ensure()
            answer = self.session.central.post(wire.DISK, report)
        except CentralError as error:
            self.metrics.disk_reports.labels("failed").inc()
            if isinstance(error, Refused):
                self.link.refused(error.message)
                if error.status == 409:
                    self.session.forget()
            else:
                self.link.unreachable(error.message)
            raise
        self.link.connected()
        self.metrics.disk_reports.labels("sent").inc()
        unknown = answer.get("unknown") or []
        if unknown:
            log.warning(
                "disk: directories under the storage roots that are no storage user: %s",
                ", ".join(str(name) for name in unknown),
            )

    def run(self, stop: threading.Event, *, once: bool = False) -> None:
        """Measure and send every ``disk.interval`` seconds (once: one delivered report)."""
        while not stop.is_set():
            report = self.measure()
            due = report.measured.timestamp() + self.config.disk.interval
            attempt = 0
            while not stop.is_set():
                try:
                    self.send(report)
                    break
                except CentralError:
                    attempt += 1
                    wait = delay(attempt, 1.0, self.config.backoff_max_seconds)
                    if not once and datetime.now(UTC).timestamp() + wait >= due:
                        break  # a new measurement replaces this one
                    stop.wait(wait)
            if once:
                return
            stop.wait(max(0.0, due - datetime.now(UTC).timestamp()))
