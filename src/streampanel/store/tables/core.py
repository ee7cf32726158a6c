"""Accounts, their API keys, applications, storage users, and the CDN's servers."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from streampanel.store.tables.base import AccountId, metadata

# An account is a CDN customer; its id is the `cdn` member of every request.
accounts = Table(
    "accounts",
    metadata,
    Column("id", AccountId, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("created", DateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("api_key", String(128), nullable=False, unique=True),
    # Fernet ciphertext of the HMAC secret (streampanel.secretbox).
    Column("secret_sealed", Text, nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("read_only", Boolean, nullable=False, default=False),
    Column("created", DateTime, nullable=False),
    Column("revoked", DateTime, nullable=True),
)

# Application names are global: ingestion maps a URL's application to its account by name.
applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=False, unique=True),
    Column("created", DateTime, nullable=False),
)

servers = Table(
    "servers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("location", String(200), nullable=False, default=""),
    # sha256 hex of the per-server ingest token used by the viewer push route.
    Column("ingest_token_hash", String(64), nullable=True),
)

# Storage ("cpu") users own the sestoreN/<name>/ trees.
storage_users = Table(
    "storage_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id",
        AccountId,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=False, unique=True),
    Column("created", DateTime, nullable=False),
)
