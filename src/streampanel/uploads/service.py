"""The upload worker inside ``streampanel serve`` (the embedded default, DESIGN §4)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from streampanel.uploads.worker import Worker


@asynccontextmanager
async def upload_worker_service(state: Any) -> AsyncIterator[Worker]:
    """Run one worker thread for the app's lifetime; on shutdown it checkpoints and stops."""
    worker = Worker(state.settings, state.engine, state.box, concurrency=2, name=None)
    thread = threading.Thread(target=worker.run, name="upload-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.to_thread(thread.join)
