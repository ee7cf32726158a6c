"""The embedded server's disk collector: at start-up, then every ``disk_collect_interval``
seconds (a day by default).  A run the same day replaces that day's figures, so restarts
cost nothing but the walk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from streampanel.disk.collector import collect
from streampanel.store.outage import is_unavailable

if TYPE_CHECKING:
    from streampanel.service import ServiceContext

log = logging.getLogger("streampanel.disk")


async def _loop(context: ServiceContext, stop: asyncio.Event) -> None:
    settings = context.settings
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(collect, context.engine, list(settings.storage_roots))
            log.info(
                "disk usage recorded for %s: %d storage users", report.day, len(report.figures)
            )
        except Exception as exc:
            if not is_unavailable(exc):  # an outage is logged once, by the store's watch
                log.exception("disk collector failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.disk_collect_interval)


@asynccontextmanager
async def disk_collector_service(context: ServiceContext) -> AsyncIterator[None]:
    if not context.settings.storage_roots:
        yield  # nothing to walk
        return
    stop = asyncio.Event()
    task = asyncio.create_task(_loop(context, stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
