"""Upload tables: the job table that is also the queue, and each account's destinations.

``upload_jobs`` holds both kinds of request (``kind`` = ``aws`` or ``youtube``): what the
client asked for, the state the API reports, and the worker's bookkeeping — the lease
(``lease_owner``/``lease_expires``), when the row next needs work (``due_at``; NULL when
nothing is left to do, which keeps the claim query on a small index range), the remote
session to resume (S3 upload id or YouTube session URI) and the callback delivery.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from streampanel.store.tables.base import AccountId, metadata

_BYTES = BigInteger().with_variant(Integer, "sqlite")

upload_jobs = Table(
    "upload_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    # The API key that queued the job: its secret signs the callback.
    Column("api_key_id", Integer, nullable=True),
    # Idempotency: the request signature, and the first response given for it.
    Column("signature", String(64), nullable=True),
    Column("first_response", Text, nullable=True),
    # What was asked (both kinds; unused columns stay empty).
    Column("path", Text, nullable=False),
    Column("destination_path", Text, nullable=False, default=""),
    Column("bucket", String(255), nullable=False, default=""),
    Column("metadata", Text, nullable=False, default="{}"),
    Column("acl", String(32), nullable=False, default=""),
    Column("title", String(100), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("tags", String(500), nullable=False, default=""),
    Column("visibility", String(16), nullable=False, default=""),
    Column("callback", Text, nullable=False, default=""),
    # What the API reports.
    Column("state", String(16), nullable=False),
    Column("status", Integer, nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("results", Text, nullable=False, default="{}"),
    Column("youtube_id", String(64), nullable=False, default=""),
    Column("bytes_done", _BYTES, nullable=False, default=0),
    Column("bytes_total", _BYTES, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created", DateTime, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    # Worker bookkeeping.
    Column("due_at", DateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires", DateTime, nullable=True),
    Column("remote_session", Text, nullable=True),
    Column("part_size", _BYTES, nullable=True),
    # JSON list of the parts handed to CompleteMultipartUpload, kept until it answered,
    # so a worker killed in between can recognise the finished object instead of re-sending.
    Column("completing", Text, nullable=True),
    # Callback delivery: none | pending | delivered | failed | refused.
    Column("callback_state", String(16), nullable=False, default="none"),
    Column("callback_event_id", String(64), nullable=True),
    Column("callback_attempts", Integer, nullable=False, default=0),
    Column("callback_http_status", Integer, nullable=True),
    Column("callback_message", Text, nullable=False, default=""),
    UniqueConstraint("account_id", "signature", name="uq_upload_jobs_account_signature"),
    Index("ix_upload_jobs_due_at", "due_at"),
    Index("ix_upload_jobs_account_kind", "account_id", "kind", "id"),
)

# One row per account and destination kind; secrets are SecretBox ciphertext (JSON inside).
upload_destinations = Table(
    "upload_destinations",
    metadata,
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", String(16), primary_key=True),
    # Non-secret settings as JSON (S3: bucket, region, endpoint_url; YouTube: client_id).
    Column("settings", Text, nullable=False),
    Column("secrets_sealed", Text, nullable=False),
    Column("updated", DateTime, nullable=False),
)
