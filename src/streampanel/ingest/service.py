"""The embedded server's access-log followers: each configured log (``Settings.access_logs``)
is followed like ``tail -F`` by the real ingester, in a thread of its own.

Exactly-once does not depend on a clean shutdown: every block's totals are committed with
its checkpoint, so a server killed at any point resumes from the last commit on restart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from streampanel.settings import AccessLogSettings
from streampanel.store.outage import Backoff, is_unavailable

if TYPE_CHECKING:
    from streampanel.ingest.pipeline import FileReport, Ingester, Progress
    from streampanel.metrics import Metrics
    from streampanel.service import ServiceContext

log = logging.getLogger("streampanel.ingest")


def metered(metrics: Metrics) -> Progress:
    """A progress callback that counts what is committed into the metrics (reports are
    cumulative): lines by outcome, and when the last block was committed."""
    counted: dict[int, tuple[int, int]] = {}

    def progress(report: FileReport, _done: int, _total: int) -> None:
        lines, rejected = counted.get(id(report), (0, 0))
        metrics.ingest_lines.labels("parsed").inc(
            (report.lines - report.rejected) - (lines - rejected)
        )
        metrics.ingest_lines.labels("rejected").inc(report.rejected - rejected)
        metrics.ingest_commit_time.set_to_current_time()
        counted[id(report)] = (report.lines, report.rejected)

    return progress


def follow_log(
    make_ingester: Callable[[], Ingester], path: str, stop: threading.Event
) -> list[FileReport]:
    """Follow ``path`` like ``tail -F`` with an ingester ``make_ingester`` builds, until
    ``stop``, riding out failures: each attempt resumes from the last committed checkpoint,
    so nothing is counted twice or lost.  A store outage is waited out with capped backoff
    (the store logs it once); any other failure is logged when it starts or changes.
    ``ConcurrentIngest`` (another run moved the checkpoint) is raised: not for retrying."""
    from streampanel.ingest.pipeline import ConcurrentIngest

    reports: list[FileReport] = []
    backoff = Backoff()
    failing: str | None = None
    while not stop.is_set():
        try:
            reports.extend(make_ingester().follow(path, stop))
        except ConcurrentIngest:
            raise
        except Exception as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            if reason != failing and not is_unavailable(exc):
                log.warning("following %s failed: %s; retrying", path, reason)
            failing = reason
            stop.wait(backoff.next())
            continue
        failing = None
        backoff.reset()
    return reports


def _follow(context: ServiceContext, source: AccessLogSettings, stop: threading.Event) -> None:
    # The pipeline (polars) loads only where logs are followed, not with every command.
    from streampanel.ingest.pipeline import ConcurrentIngest, Ingester

    def make_ingester() -> Ingester:
        return Ingester(
            context.engine,
            server=source.server,
            fmt=source.format,
            app_pattern=context.settings.ingest_app_pattern,
            rejects_dir=context.settings.data_dir / "rejects",
            progress=metered(context.metrics),
        )

    while not stop.is_set():
        try:
            follow_log(make_ingester, str(source.path), stop)
        except ConcurrentIngest as exc:
            # Another process ingests the same log: the server keeps watching, not counting.
            log.error("following %s: %s; trying again in a minute", source.path, exc)
            stop.wait(60.0)


@asynccontextmanager
async def access_log_service(context: ServiceContext) -> AsyncIterator[None]:
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_follow, args=(context, source, stop), name=f"ingest {source.path}", daemon=True
        )
        for source in context.settings.access_logs
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            await asyncio.to_thread(thread.join, 10)
