"""Usage tables: daily traffic totals from access logs, ingest checkpoints, disk usage.

``usage_daily`` holds one row per (application, UTC day, server) with bytes and requests,
clustered by that key so ``video.servers`` reads a contiguous, indexed range per application.
``usage_unattributed`` keeps the traffic of lines whose application is unknown (by server,
day and the name seen), so nothing read from a log is silently dropped.
``ingest_sources`` is the exactly-once checkpoint: one row per log file (identified by a hash
of its first bytes), with the offset committed in the same transaction as the totals.
``disk_usage`` is the disk collector's figure per storage user and UTC day (last one wins).
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from streampanel.store.tables.base import metadata

usage_daily = Table(
    "usage_daily",
    metadata,
    Column(
        "application_id",
        Integer,
        ForeignKey("applications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", Date, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

usage_unattributed = Table(
    "usage_unattributed",
    metadata,
    Column("day", Date, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True),
    # The application name the line named ('' when the URL yielded none).
    Column("app", String(200), primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
)

ingest_sources = Table(
    "ingest_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    # sha256 hex of the first head_len bytes of the (decompressed) content: survives renames
    # and gzip, changes when a new file appears at the same path.
    Column("fingerprint", String(64), nullable=False),
    Column("head_len", Integer, nullable=False),
    Column("format", String(40), nullable=False),
    Column("path", Text, nullable=False),
    Column("device", BigInteger, nullable=True),
    Column("inode", BigInteger, nullable=True),
    # Bytes of the content consumed (complete lines only); committed with the totals.
    Column("offset", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("unattributed", BigInteger, nullable=False),
    # Length of this source's rejects file at the last commit: a resumed run truncates back.
    Column("rejects_offset", BigInteger, nullable=False),
    # Parser state carried across blocks (Wowza's #Fields and cumulative bytes), JSON.
    Column("state", Text, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("updated", DateTime, nullable=False),
    UniqueConstraint("server_id", "fingerprint", "head_len"),
)

disk_usage = Table(
    "disk_usage",
    metadata,
    Column(
        "storage_user_id",
        Integer,
        ForeignKey("storage_users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", Date, primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("measured", DateTime, nullable=False),
    sqlite_with_rowid=False,
)
