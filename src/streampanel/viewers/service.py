"""What the embedded server runs for live viewers: the configured collectors, and purge.

``Settings.collectors`` lists nginx-rtmp collectors, ``Settings.hls_collectors`` access-log
followers; each runs as a task beside the API.  Purge runs every ``purge_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from streampanel.store.outage import is_unavailable
from streampanel.viewers.collector import RtmpCollector
from streampanel.viewers.hls_collector import HlsCollector
from streampanel.viewers.purge import purge_expired

if TYPE_CHECKING:
    from streampanel.service import ServiceContext

log = logging.getLogger("streampanel.viewers")


@asynccontextmanager
async def _tasks(
    loops: list[Coroutine[Any, Any, None]], stop: asyncio.Event
) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=5)


def viewer_collectors_service(
    context: ServiceContext,
) -> contextlib.AbstractAsyncContextManager[None]:
    stop = asyncio.Event()
    loops: list[Coroutine[Any, Any, None]] = []
    for rtmp in context.settings.collectors:
        collector = RtmpCollector(
            context.engine,
            rtmp.server,
            rtmp.nginx_rtmp,
            rtmp.vhost,
            rtmp.interval,
            metrics=context.metrics,
        )
        loops.append(collector.run(stop))
    for hls in context.settings.hls_collectors:
        follower = HlsCollector(
            context.engine,
            hls.server,
            hls.log,
            hls.format,
            hls.vhost,
            hls.window,
            hls.interval,
            hls.path_pattern,
            metrics=context.metrics,
        )
        loops.append(follower.run(stop))
    return _tasks(loops, stop)


async def _purge_loop(context: ServiceContext, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            deleted = await asyncio.to_thread(
                purge_expired, context.engine, context.settings.viewer_retention_days
            )
            if deleted:
                log.info(
                    "purged %d viewer rows older than %s days",
                    deleted,
                    context.settings.viewer_retention_days,
                )
        except Exception as exc:  # try again next time
            if not is_unavailable(exc):  # an outage is logged once, by the store's watch
                log.warning("viewer purge failed: %s: %s", exc.__class__.__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=context.settings.purge_interval)


def viewer_purge_service(context: ServiceContext) -> contextlib.AbstractAsyncContextManager[None]:
    stop = asyncio.Event()
    return _tasks([_purge_loop(context, stop)], stop)
