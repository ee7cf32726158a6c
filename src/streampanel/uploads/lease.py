"""A claimed job as its transfer sees it: progress, checkpoints, and when to stop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction
from streampanel.store.uploads import Job
from streampanel.uploads.errors import Interrupted, LeaseLost


def now() -> datetime:
    """Naive UTC with microseconds: lease arithmetic needs sub-second precision."""
    return datetime.now(UTC).replace(tzinfo=None)


class Lease:
    def __init__(
        self,
        engine: Engine,
        job: Job,
        owner: str,
        lease_seconds: float,
        stopping: threading.Event,
    ):
        self.engine = engine
        self.job = job
        self.job_id = job.id
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.stopping = stopping
        self.lost = False
        self._lock = threading.Lock()
        self._bytes_done = job.bytes_done
        self._reported = self._bytes_done

    @property
    def bytes_done(self) -> int:
        return self._bytes_done

    def set_bytes(self, value: int) -> None:
        with self._lock:
            self._bytes_done = value

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self._bytes_done += count

    def check(self) -> None:
        """Called by transfers between parts/chunks: raise when they must stop."""
        if self.lost:
            raise LeaseLost(self.job_id)
        if self.stopping.is_set():
            raise Interrupted(self.job_id)

    def heartbeat(self) -> None:
        """Extend the lease and record progress (the worker's heartbeat thread calls this)."""
        if self.lost:
            return
        with self._lock:
            done = self._bytes_done
        values: dict[str, Any] = {}
        if done != self._reported:
            values = {"bytes_done": done, "message": self.progress_message(done)}
        with write_transaction(self.engine) as conn:
            ok = store.extend_lease(
                conn,
                self.job_id,
                self.owner,
                now() + timedelta(seconds=self.lease_seconds),
                **values,
            )
        if ok:
            self._reported = done
        else:
            self.lost = True

    def progress_message(self, done: int) -> str:
        return f"Uploading: {done} of {self.job.bytes_total} bytes sent"

    def checkpoint(self, **values: Any) -> None:
        """Store remote-session state now (before the bytes it protects are sent)."""
        with self._lock:
            values.setdefault("bytes_done", self._bytes_done)
        with write_transaction(self.engine) as conn:
            ok = store.update_job(conn, self.job_id, self.owner, **values)
        if not ok:
            self.lost = True
            raise LeaseLost(self.job_id)
        self._reported = values["bytes_done"]
        self.job.update(values)
