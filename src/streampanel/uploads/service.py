"""The upload worker inside ``streampanel serve`` (the embedded default: one process, no queue
service to run beside it)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from streampanel.uploads.worker import Worker

if TYPE_CHECKING:
    from streampanel.service import ServiceContext

# Jobs the embedded worker runs at once; more capacity comes from `streampanel worker`.
EMBEDDED_CONCURRENCY = 2


@asynccontextmanager
async def upload_worker_service(context: ServiceContext) -> AsyncIterator[Worker]:
    """Run one worker thread for the app's lifetime; on shutdown it checkpoints and stops."""
    worker = Worker(
        context.settings,
        context.engine,
        context.box,
        concurrency=EMBEDDED_CONCURRENCY,
        metrics=context.metrics,
    )
    thread = threading.Thread(target=worker.run, name="upload-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.to_thread(thread.join)
