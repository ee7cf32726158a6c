"""The embedded server's access-log followers: each configured log (``Settings.access_logs``)
is followed like ``tail -F`` by the real ingester, in a thread of its own.

Exactly-once does not depend on a clean shutdown: every block's totals are committed with
its checkpoint, so a server killed at any point resumes from the last commit on restart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from streampanel.settings import AccessLogSettings

if TYPE_CHECKING:
    from streampanel.ingest.pipeline import FileReport, Progress
    from streampanel.service import ServiceContext

log = logging.getLogger("streampanel.ingest")


def _metered(context: ServiceContext) -> Progress:
    """A progress callback that counts lines into ``/metrics`` (reports are cumulative)."""
    counted: dict[int, tuple[int, int]] = {}

    def progress(report: FileReport, _done: int, _total: int) -> None:
        lines, rejected = counted.get(id(report), (0, 0))
        context.metrics.ingest_lines.labels("parsed").inc(
            (report.lines - report.rejected) - (lines - rejected)
        )
        context.metrics.ingest_lines.labels("rejected").inc(report.rejected - rejected)
        counted[id(report)] = (report.lines, report.rejected)

    return progress


def _follow(context: ServiceContext, source: AccessLogSettings, stop: threading.Event) -> None:
    # The pipeline (polars) loads only where logs are followed, not with every command.
    from streampanel.ingest.pipeline import Ingester

    while not stop.is_set():
        try:
            ingester = Ingester(
                context.engine,
                server=source.server,
                fmt=source.format,
                app_pattern=context.settings.ingest_app_pattern,
                rejects_dir=context.settings.data_dir / "rejects",
                progress=_metered(context),
            )
            ingester.follow(str(source.path), stop)
        except Exception:
            # A store outage or an unreadable file: log it, wait, and pick up from the
            # last committed checkpoint.
            log.exception("following %s failed; retrying", source.path)
            stop.wait(5.0)


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
