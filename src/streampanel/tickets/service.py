"""What the embedded server runs for tickets: the purge of old attempts, every
``purge_interval`` seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from streampanel.service import ServiceContext
from streampanel.store.outage import is_unavailable
from streampanel.tickets.purge import purge_expired

log = logging.getLogger("streampanel.tickets")


async def _purge_loop(context: ServiceContext, stop: asyncio.Event) -> None:
    days = context.settings.ticket_attempt_retention_days
    failing = False
    while not stop.is_set():
        try:
            deleted = await asyncio.to_thread(purge_expired, context.engine, days)
            if deleted:
                log.info("purged %d ticket attempts and tickets older than %s days", deleted, days)
            if failing:
                log.warning("ticket purge works again")
            failing = False
        except Exception as exc:  # try again next time; say so once
            # A store outage has the store's own line (streampanel.store.outage).
            if not failing and not is_unavailable(exc):
                log.warning("ticket purge failed: %s: %s", exc.__class__.__name__, exc)
                failing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=context.settings.purge_interval)


@asynccontextmanager
async def ticket_purge_service(context: ServiceContext) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(_purge_loop(context, stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=5)
