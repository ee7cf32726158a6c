"""The upload worker: threads that claim jobs from the job table and run them.

Like arq's worker: a job is claimed with a lease that a heartbeat thread keeps extending;
transient failures go back to the queue with backoff, permanent ones fail at once; burst
mode returns when nothing is left to do; ``stop()`` (SIGTERM) stops claiming, lets the
transfers in flight finish their current part or chunk, checkpoints them back to the queue,
and returns.  A worker killed outright loses nothing either: its leases expire and the next
worker resumes from the remote session stored in the job.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from streampanel.errors import InvalidParameter, UnknownObject
from streampanel.metrics import Metrics
from streampanel.secretbox import SecretBox
from streampanel.settings import Settings
from streampanel.storage import StoredFile, open_stored_file
from streampanel.store import accounts
from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction
from streampanel.store.outage import Backoff, is_unavailable
from streampanel.store.uploads import CallbackState, Job, JobState
from streampanel.uploads import backoff
from streampanel.uploads.errors import (
    Interrupted,
    LeaseLost,
    PermanentFailure,
    TransientFailure,
    UploadFailure,
)
from streampanel.uploads.lease import Lease, now
from streampanel.uploads.records import record
from streampanel.uploads.transfer import Transferred

log = logging.getLogger("streampanel.uploads.worker")


class Worker:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        box: SecretBox,
        *,
        concurrency: int = 1,
        burst: bool = False,
        name: str | None = None,
        metrics: Metrics | None = None,
    ):
        self.settings = settings
        self.metrics = metrics
        self.engine = engine
        self.box = box
        self.concurrency = max(1, concurrency)
        self.burst = burst
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Storage roots by name (sestoreN): the worker claims only jobs it can read.
        self.roots = sorted({Path(root).name for root in settings.storage_roots})
        self.stopping = threading.Event()
        self._loops_done = threading.Event()
        self._active: dict[int, Lease] = {}
        self._active_lock = threading.Lock()
        self.jobs_run = 0

    # --- lifecycle -----------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; in-flight transfers checkpoint at their next part/chunk boundary."""
        self.stopping.set()

    def run(self) -> None:
        if not self.roots:
            log.warning("worker %s: no storage_roots configured, so no job to claim", self.name)
        log.info(
            "worker %s started (concurrency %d%s)",
            self.name,
            self.concurrency,
            ", burst" if self.burst else "",
        )
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        heartbeat.start()
        threads = [
            threading.Thread(target=self._loop, name=f"upload-{i}") for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._loops_done.set()
        heartbeat.join()
        log.info("worker %s stopped after %d job runs", self.name, self.jobs_run)

    def _heartbeat_loop(self) -> None:
        interval = max(0.1, self.settings.worker_lease_seconds / 3)
        # Beats go on after stop() until the transfers in flight have checkpointed.
        while not self._loops_done.wait(interval):
            with self._active_lock:
                leases = list(self._active.values())
            for lease in leases:
                try:
                    lease.heartbeat()
                except SQLAlchemyError as exc:
                    if not is_unavailable(exc):  # an outage is logged once by the store
                        log.exception("heartbeat for job %s failed", lease.job_id)
                except Exception:
                    log.exception("heartbeat for job %s failed", lease.job_id)

    def _loop(self) -> None:
        backoff = Backoff(first=max(1.0, self.settings.worker_poll_interval))
        while not self.stopping.is_set():
            try:
                job = self._claim()
                if job is None and self.burst and not self._work_left():
                    return
            except SQLAlchemyError as exc:
                # The store is away (restart, network): wait and try again, never die.  The
                # store's watch logs the outage once; anything else is worth a line each time.
                if not is_unavailable(exc):
                    log.warning("cannot claim jobs: %s: %s", exc.__class__.__name__, exc)
                self.stopping.wait(backoff.next())
                continue
            backoff.reset()
            if job is None:
                self.stopping.wait(self.settings.worker_poll_interval)
                continue
            self.jobs_run += 1
            if self.metrics is not None:
                self.metrics.upload_jobs_running.inc()
            try:
                self.run_job(job)
            except SQLAlchemyError as exc:
                # The job's lease expires and a worker resumes it from its checkpoint.
                self._count("lost")
                if is_unavailable(exc):
                    log.info("job %s: cut off from the store; resumes after its lease", job.id)
                else:
                    log.exception("job %s: unexpected error", job.id)
            except Exception:
                self._count("error")
                log.exception("job %s: unexpected error", job.id)
            finally:
                if self.metrics is not None:
                    self.metrics.upload_jobs_running.dec()

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.upload_jobs.labels(outcome).inc()

    def _work_left(self) -> bool:
        with self.engine.connect() as conn:
            return store.has_claimable_work(conn, now(), self.roots)

    def _claim(self) -> Job | None:
        if not self.roots:
            return None  # nothing this worker could read: don't even take the write lock
        with write_transaction(self.engine) as conn:
            job = store.claim(
                conn, self.name, now(), self.settings.worker_lease_seconds, self.roots
            )
            if job is not None and job.state in (JobState.QUEUED, JobState.UPLOADING):
                job.attempts += 1
                job.state = JobState.UPLOADING
                store.update_job(
                    conn,
                    job.id,
                    self.name,
                    attempts=job.attempts,
                    state=JobState.UPLOADING,
                    status=202,
                    message=f"Uploading (attempt {job.attempts})",
                )
        return job

    # --- one job -------------------------------------------------------------------

    def run_job(self, job: Job) -> None:
        lease = Lease(
            self.engine, job, self.name, self.settings.worker_lease_seconds, self.stopping
        )
        with self._active_lock:
            self._active[lease.job_id] = lease
        try:
            if job.state == JobState.UPLOADING and not self._upload(job, lease):
                return
            if job.callback_state == CallbackState.PENDING:
                self._deliver_callback(job, lease)
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; leaving it", job.id)
        finally:
            with self._active_lock:
                self._active.pop(lease.job_id, None)

    def _release(self, lease: Lease, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            if not store.release(conn, lease.job_id, self.name, **values):
                raise LeaseLost(lease.job_id)
        lease.job.update(values)

    def _upload(self, job: Job, lease: Lease) -> bool:
        """Run the transfer; True when the job reached a final state (callback may follow)."""
        started = time.perf_counter()
        try:
            done = self._transfer(job, lease)
        except Interrupted:
            # A stop is not the job's fault: the attempt is given back.
            self._release(
                lease,
                attempts=job.attempts - 1,
                due_at=now(),
                bytes_done=lease.bytes_done,
                message=f"Interrupted at {lease.bytes_done} of "
                f"{job.bytes_total} bytes; will resume",
            )
            log.info("job %s: checkpointed at %d bytes for shutdown", job.id, lease.bytes_done)
            self._count("interrupted")
            return False
        except UploadFailure as failure:
            return self._failed(job, lease, failure)
        except LeaseLost:
            raise
        except Exception as exc:
            log.exception("job %s: unexpected transfer error", job.id)
            return self._failed(job, lease, TransientFailure(f"{type(exc).__name__}: {exc}"))
        self._finish(
            job,
            lease,
            state=JobState.DONE,
            status=200,
            message=done.message,
            results=json.dumps(done.results),
            youtube_id=done.youtube_id,
            bytes_done=job.bytes_total,
            completing=None,
        )
        log.info("job %s: done in %.2f s (%s)", job.id, time.perf_counter() - started, done.message)
        self._count("done")
        return True

    def _failed(self, job: Job, lease: Lease, failure: UploadFailure) -> bool:
        attempts = job.attempts
        if failure.transient and attempts < self.settings.worker_max_attempts:
            wait = backoff.delay(
                attempts, self.settings.worker_backoff_base, self.settings.worker_backoff_max
            )
            self._release(
                lease,
                due_at=now() + timedelta(seconds=wait),
                bytes_done=lease.bytes_done,
                message=f"Retrying in {wait:.0f} s (attempt {attempts} failed): {failure.message}",
            )
            log.info(
                "job %s: transient failure, retry in %.1f s: %s", job.id, wait, failure.message
            )
            self._count("retry")
            return False
        self._finish(
            job,
            lease,
            state=JobState.FAILED,
            status=failure.status or 500,
            message=failure.message,
            bytes_done=lease.bytes_done,
        )
        log.info("job %s: failed: %s", job.id, failure.message)
        self._count("failed")
        if job.kind == "aws" and job.remote_session:
            self._abandon_multipart(job)
        return True

    def _abandon_multipart(self, job: Job) -> None:
        from streampanel.uploads import s3

        with self.engine.connect() as conn:
            destination = store.get_destination(conn, self.box, job.account_id, "aws")
        if destination is not None:
            s3.abandon(job, destination, self.settings)

    def _finish(self, job: Job, lease: Lease, **values: Any) -> None:
        if job.callback:
            values.update(
                callback_state=CallbackState.PENDING,
                callback_event_id=f"evt_{uuid.uuid4().hex}",
                due_at=now(),
            )
            with write_transaction(self.engine) as conn:
                if not store.update_job(conn, lease.job_id, self.name, **values):
                    raise LeaseLost(lease.job_id)
            job.update(values)
        else:
            self._release(lease, due_at=None, **values)

    def _open_stored_file(self, job: Job) -> StoredFile:
        # Opened (and so confined) again at run time: the tree may have changed since the
        # job was queued.  Every byte sent is then read through this one descriptor.
        with self.engine.connect() as conn:
            users = [u["name"] for u in accounts.list_storage_users(conn, job.account_id)]
        try:
            return open_stored_file(self.settings.storage_roots, users, job.path)
        except UnknownObject as exc:
            raise PermanentFailure(f"Stored file {job.path} is missing", 404) from exc
        except InvalidParameter as exc:
            raise PermanentFailure(f"Stored file {job.path} is not allowed: {exc}", 400) from exc

    def _transfer(self, job: Job, lease: Lease) -> Transferred:
        with self._open_stored_file(job) as source:
            with self.engine.connect() as conn:
                destination = store.get_destination(conn, self.box, job.account_id, job.kind)
            if destination is None:
                raise PermanentFailure(f"No {job.kind} destination is configured", 409)
            if source.size != job.bytes_total:
                # The file changed since it was queued: report what is being sent.
                lease.checkpoint(bytes_total=source.size)
            # boto3 and the Google client load on first use, each only when a job needs it:
            # a worker with S3 jobs alone never pays for the Google client's import.
            if job.kind == "aws":
                from streampanel.uploads import s3

                return s3.upload(job, destination, source, lease, self.settings)
            from streampanel.uploads import youtube

            return youtube.upload(job, destination, source, lease, self.settings)

    # --- callbacks -----------------------------------------------------------------

    def _deliver_callback(self, job: Job, lease: Lease) -> None:
        # httpx too loads on first use: most jobs have no callback.
        from streampanel.uploads import callbacks

        with self.engine.connect() as conn:
            key = store.callback_key(conn, self.box, job)
            fresh = store.get_job(conn, lease.job_id)
        assert fresh is not None
        attempts = job.callback_attempts + 1
        if key is None:
            delivery = callbacks.Delivery("refused", None, "No active API key to sign with")
        else:
            body = json.dumps(record(fresh), separators=(",", ":")).encode()
            delivery = callbacks.deliver(
                job.callback,
                body,
                secret=key[1],
                api_key=key[0],
                event_id=job.callback_event_id or "",
                allow_private=self.settings.callback_allow_private,
                timeout=self.settings.callback_timeout,
            )
        values: dict[str, Any] = {
            "callback_attempts": attempts,
            "callback_http_status": delivery.http_status,
            "callback_message": delivery.message,
        }
        if delivery.outcome == "retry" and attempts < self.settings.worker_max_attempts:
            wait = backoff.delay(
                attempts, self.settings.worker_backoff_base, self.settings.worker_backoff_max
            )
            values["due_at"] = now() + timedelta(seconds=wait)
            values["callback_message"] = f"{delivery.message}; retrying in {wait:.0f} s"
        else:
            values["due_at"] = None
            values["callback_state"] = {
                "delivered": CallbackState.DELIVERED,
                "refused": CallbackState.REFUSED,
            }.get(delivery.outcome, CallbackState.FAILED)
        # The record's last_updated is the upload's: delivery bookkeeping leaves it alone.
        values["last_updated"] = fresh.last_updated
        self._release(lease, **values)
        log.info(
            "job %s: callback %s (%s)",
            job.id,
            values.get("callback_state", "retry"),
            delivery.message,
        )
