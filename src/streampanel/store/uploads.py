"""Upload jobs and destinations: query functions (the caller owns the transaction).

The job table is the queue.  A worker claims the oldest due row whose lease is free by
writing its own lease into it; every later write of the worker is guarded by that lease, so
a worker that lost its lease (it stalled past the expiry and another worker took over)
cannot overwrite the newer worker's progress.

Rows come back as ``Job``: every column typed, the two state columns as enums.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, bindparam, func, or_, select, update

from streampanel.secretbox import SecretBox
from streampanel.store.accounts import utcnow
from streampanel.store.driverquery import DriverQuery
from streampanel.store.tables import api_keys
from streampanel.store.tables.uploads import upload_destinations, upload_jobs

KINDS = ("aws", "youtube")


class JobState(StrEnum):
    """What the API reports as ``state``: queued → uploading → done | failed."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"


class CallbackState(StrEnum):
    """The callback's delivery: none (no callback) or pending → delivered | failed | refused."""

    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"


@dataclass
class Job:
    """One row of the job table (see ``tables.uploads`` for what each column is for)."""

    id: int
    account_id: int
    kind: str  # one of KINDS
    api_key_id: int | None
    signature: str | None
    first_response: str | None
    # What was asked (both kinds; the other kind's fields stay empty).
    path: str
    destination_path: str
    bucket: str
    metadata: str  # JSON text
    acl: str
    title: str
    description: str
    tags: str
    visibility: str
    callback: str
    # What the API reports.
    state: JobState
    status: int
    message: str
    results: str  # JSON text
    youtube_id: str
    bytes_done: int
    bytes_total: int
    attempts: int
    created: datetime
    last_updated: datetime
    # Worker bookkeeping.
    due_at: datetime | None
    lease_owner: str | None
    lease_expires: datetime | None
    remote_session: str | None
    part_size: int | None
    completing: str | None  # JSON text: the parts handed to CompleteMultipartUpload
    callback_state: CallbackState
    callback_event_id: str | None
    callback_attempts: int
    callback_http_status: int | None
    callback_message: str

    def __post_init__(self) -> None:
        # The store holds the two states as text.
        self.state = JobState(self.state)
        self.callback_state = CallbackState(self.callback_state)

    @classmethod
    def from_row(cls, row: RowMapping) -> Job:
        return cls(**row)

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> Job:
        """A row of ``select(upload_jobs)`` as the driver gives it: the table's columns, in
        the order of this class's fields."""
        return cls(*values)

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply column values just written to the row (names are column names)."""
        for name, value in values.items():
            assert name in _JOB_FIELDS, name
            setattr(self, name, value)


_JOB_FIELDS = frozenset(f.name for f in fields(Job))


def create_job(conn: Connection, values: dict[str, Any]) -> int:
    now = utcnow()
    row = {
        "destination_path": "",
        "bucket": "",
        "metadata": "{}",
        "acl": "",
        "title": "",
        "description": "",
        "tags": "",
        "visibility": "",
        "callback": "",
        "state": JobState.QUEUED,
        "status": 202,
        "message": "Queued",
        "results": "{}",
        "youtube_id": "",
        "bytes_done": 0,
        "bytes_total": 0,
        "attempts": 0,
        "callback_state": CallbackState.NONE,
        "callback_attempts": 0,
        "callback_message": "",
        "created": now,
        "last_updated": now,
        "due_at": now,
        **values,
    }
    job_id = conn.execute(upload_jobs.insert().values(**row).returning(upload_jobs.c.id))
    return int(job_id.scalar_one())


def set_first_response(conn: Connection, job_id: int, payload: Any) -> None:
    conn.execute(
        update(upload_jobs)
        .where(upload_jobs.c.id == job_id)
        .values(first_response=json.dumps(payload))
    )


def get_job(
    conn: Connection, job_id: int, *, account_id: int | None = None, kind: str | None = None
) -> Job | None:
    query = select(upload_jobs).where(upload_jobs.c.id == job_id)
    if account_id is not None:
        query = query.where(upload_jobs.c.account_id == account_id)
    if kind is not None:
        query = query.where(upload_jobs.c.kind == kind)
    row = conn.execute(query).mappings().first()
    return Job.from_row(row) if row else None


def find_by_signature(conn: Connection, account_id: int, signature: str) -> Job | None:
    query = select(upload_jobs).where(
        upload_jobs.c.account_id == account_id, upload_jobs.c.signature == signature
    )
    row = conn.execute(query).mappings().first()
    return Job.from_row(row) if row else None


# On aws.status's path: compiled once, run on the driver (``DriverQuery``: SQLAlchemy's
# result set-up reads the driver's description of all 37 columns, which cost PostgreSQL's
# path more than the query).
_NEWEST_JOBS = DriverQuery(
    select(upload_jobs)
    .where(
        upload_jobs.c.account_id == bindparam("account_id"),
        upload_jobs.c.kind == bindparam("kind"),
    )
    .order_by(upload_jobs.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def list_jobs(conn: Connection, account_id: int, kind: str, limit: int, offset: int) -> list[Job]:
    parameters = {"account_id": account_id, "kind": kind, "limit": limit, "offset": offset}
    return [Job.from_values(row) for row in _NEWEST_JOBS.rows(conn, parameters)]


# --- the queue -------------------------------------------------------------------------


def _under(roots: Sequence[str]) -> Any:
    """Jobs whose file lies under one of these storage roots (``sestoreN`` names): a worker
    takes only what it can read, so machines with different mounts share one queue."""
    return or_(*(upload_jobs.c.path.startswith(f"{name}/", autoescape=True) for name in roots))


def _lease_free(now: datetime) -> Any:
    return or_(upload_jobs.c.lease_expires.is_(None), upload_jobs.c.lease_expires < now)


def claim(
    conn: Connection, owner: str, now: datetime, lease_seconds: float, roots: Sequence[str]
) -> Job | None:
    """Take the oldest due job with a free lease, or None.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent workers pass over each other's
    candidates.  SQLite ignores the clause; the caller's ``BEGIN IMMEDIATE`` serialises
    claims, and the UPDATE repeats the conditions so a claim is atomic either way.
    """
    if not roots:
        return None
    conditions = and_(
        upload_jobs.c.due_at.is_not(None),
        upload_jobs.c.due_at <= now,
        _lease_free(now),
        _under(roots),
    )
    candidate = conn.execute(
        select(upload_jobs.c.id)
        .where(conditions)
        .order_by(upload_jobs.c.due_at, upload_jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if candidate is None:
        return None
    result = conn.execute(
        update(upload_jobs)
        .where(upload_jobs.c.id == candidate.id, conditions)
        .values(lease_owner=owner, lease_expires=now + timedelta(seconds=lease_seconds))
    )
    if result.rowcount != 1:
        return None
    return get_job(conn, candidate.id)


def extend_lease(conn: Connection, job_id: int, owner: str, until: datetime, **values: Any) -> bool:
    """Heartbeat: push the lease forward (and record progress); False when it was lost."""
    result = conn.execute(
        update(upload_jobs)
        .where(upload_jobs.c.id == job_id, upload_jobs.c.lease_owner == owner)
        .values(lease_expires=until, **values)
    )
    return result.rowcount == 1


def update_job(conn: Connection, job_id: int, owner: str, **values: Any) -> bool:
    """A write by the lease holder; False when the lease is no longer ours."""
    values.setdefault("last_updated", utcnow())
    result = conn.execute(
        update(upload_jobs)
        .where(upload_jobs.c.id == job_id, upload_jobs.c.lease_owner == owner)
        .values(**values)
    )
    return result.rowcount == 1


def release(conn: Connection, job_id: int, owner: str, **values: Any) -> bool:
    """Give the job back (finished, rescheduled or checkpointed) and drop the lease."""
    return update_job(conn, job_id, owner, lease_owner=None, lease_expires=None, **values)


def has_claimable_work(conn: Connection, now: datetime, roots: Sequence[str]) -> bool:
    """Any job of these roots not finished whose lease is free (due now or later): burst
    mode waits for it."""
    if not roots:
        return False
    query = select(upload_jobs.c.id).where(
        upload_jobs.c.due_at.is_not(None), _lease_free(now), _under(roots)
    )
    return conn.execute(query.limit(1)).first() is not None


def queue_depth(conn: Connection) -> int:
    query = select(func.count()).select_from(upload_jobs).where(upload_jobs.c.due_at.is_not(None))
    return int(conn.execute(query).scalar_one())


# --- destinations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    account_id: int
    kind: str
    settings: dict[str, Any]
    secrets: dict[str, str]


def set_destination(
    conn: Connection,
    box: SecretBox,
    account_id: int,
    kind: str,
    settings: dict[str, Any],
    secrets: dict[str, str],
) -> None:
    assert kind in KINDS
    values = {
        "settings": json.dumps(settings),
        "secrets_sealed": box.seal(json.dumps(secrets)),
        "updated": utcnow(),
    }
    exists = conn.execute(
        select(upload_destinations.c.kind).where(
            upload_destinations.c.account_id == account_id, upload_destinations.c.kind == kind
        )
    ).first()
    if exists:
        conn.execute(
            update(upload_destinations)
            .where(
                upload_destinations.c.account_id == account_id,
                upload_destinations.c.kind == kind,
            )
            .values(**values)
        )
    else:
        conn.execute(
            upload_destinations.insert().values(account_id=account_id, kind=kind, **values)
        )


def get_destination(
    conn: Connection, box: SecretBox, account_id: int, kind: str
) -> Destination | None:
    row = conn.execute(
        select(upload_destinations).where(
            upload_destinations.c.account_id == account_id, upload_destinations.c.kind == kind
        )
    ).first()
    if row is None:
        return None
    return Destination(
        account_id, kind, json.loads(row.settings), json.loads(box.open(row.secrets_sealed))
    )


def list_destinations(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """Settings without secrets (which are never read back out for display)."""
    rows = conn.execute(
        select(upload_destinations)
        .where(upload_destinations.c.account_id == account_id)
        .order_by(upload_destinations.c.kind)
    )
    return [{"kind": r.kind, **json.loads(r.settings), "updated": r.updated} for r in rows]


def delete_destination(conn: Connection, account_id: int, kind: str) -> bool:
    result = conn.execute(
        upload_destinations.delete().where(
            upload_destinations.c.account_id == account_id, upload_destinations.c.kind == kind
        )
    )
    return result.rowcount > 0


def callback_key(conn: Connection, box: SecretBox, job: Job) -> tuple[str, str] | None:
    """``(api_key, secret)`` that signs the job's callback: the key that queued the job, or
    the account's newest active key when that one has been revoked since."""
    row = None
    if job.api_key_id is not None:
        row = conn.execute(
            select(api_keys).where(api_keys.c.id == job.api_key_id, api_keys.c.revoked.is_(None))
        ).first()
    if row is None:
        row = conn.execute(
            select(api_keys)
            .where(api_keys.c.account_id == job.account_id, api_keys.c.revoked.is_(None))
            .order_by(api_keys.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return str(row.api_key), box.open(row.secret_sealed)
