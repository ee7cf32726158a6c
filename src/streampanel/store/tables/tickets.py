"""Viewer tickets, their attempt log, and publisher users per stream.

``tickets`` is read by key when a playback starts (unique index) and by id while it runs
(primary key); a start updates its row once.  ``ticket_attempts`` gets one row per decision
(a start, or a refused continuation; never a segment) and is read per account or per key
in time order, and purged by time.  ``stream_users`` is read per application and stream when
an encoder publishes.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
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

_ATTEMPT_ID = BigInteger().with_variant(Integer, "sqlite")

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("key", String(96), nullable=False, unique=True),
    # The viewer's password travels in every playback URL, like the key: it is shown back in
    # clear by sevu.request and sevu.status, as the original does.
    Column("pass", String(255), nullable=False),
    # '|'-separated patterns, as given.
    Column("app", Text, nullable=False),
    Column("video", Text, nullable=False),
    # The IP rule; auto entries are replaced by what they bound to.
    Column("ip", Text, nullable=False),
    # Starts allowed (0: unlimited) and starts so far.
    Column("uses", Integer, nullable=False),
    Column("used", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("created", DateTime, nullable=False),
    Column("used_date", DateTime, nullable=True),
    Column("expire_date", DateTime, nullable=False),
    # Idempotency: the signature of the request that created it.
    Column("signature", String(64), nullable=True),
    UniqueConstraint("account_id", "signature", name="uq_tickets_account_signature"),
)

ticket_attempts = Table(
    "ticket_attempts",
    metadata,
    Column("id", _ATTEMPT_ID, primary_key=True),
    # The ticket's account, or the account owning the requested application when the key
    # names no ticket; NULL when neither is known.
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("created", DateTime, nullable=False),
    # What the viewer presented (truncated), and where from.
    Column("key", String(96), nullable=False),
    Column("pass", String(255), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("app", String(200), nullable=False),
    Column("video", String(500), nullable=False),
    Column("protocol", String(8), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("reason", String(64), nullable=False),
    Index("ix_ticket_attempts_account_created", "account_id", "created"),
    Index("ix_ticket_attempts_key_created", "key", "created"),
    Index("ix_ticket_attempts_created", "created"),
)

stream_users = Table(
    "stream_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "application_id",
        Integer,
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # A stream name, or '*' for every stream of the application.
    Column("stream", String(500), nullable=False),
    # '' for the entry added with user null: the stream publishes without credentials.
    Column("user", String(64), nullable=False),
    # passwords.hash_password() of the publisher's password; NULL with user ''.
    Column("password_hash", String(200), nullable=True),
    # Recording, segmenting and DVR settings as JSON, kept as given.
    Column("settings", Text, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("updated", DateTime, nullable=False),
    UniqueConstraint("application_id", "stream", "user", name="uq_stream_users_app_stream_user"),
)
