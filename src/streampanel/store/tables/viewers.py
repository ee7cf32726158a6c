"""Live-viewer tables: one row per reported stream, and its per-poll snapshots.

``viewer_streams`` names a stream as one server reports it (server, vhost, app, stream,
protocol) and carries its latest snapshot, so "what is live now" reads a few hundred rows
instead of scanning history.  ``viewer_snapshots`` is the history: one narrow row per
(stream, time), clustered by its primary key so a time range of one stream is contiguous;
purge deletes such a range per stream too, so no index on time is needed (one would make
purging a day of 20 million rows ten times slower on SQLite).
Times are unix seconds (integers): at ~20 million rows they are a third of the size of
SQLite's text date-times and compare as plain integers on both stores.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from streampanel.store.tables.base import metadata

UnixTime = BigInteger().with_variant(Integer, "sqlite")

viewer_streams = Table(
    "viewer_streams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("vhost", String(200), nullable=False),
    # The application's name as the streaming server reports it; applications.name maps it
    # to an account at query time (names are global).
    Column("app", String(200), nullable=False),
    Column("stream", String(500), nullable=False),
    # 'rtmp' (collector / push), 'hls' (derived from access logs), or what a pusher names.
    Column("protocol", String(20), nullable=False),
    # The latest snapshot: the "live now" answer.  live is false once the stream is gone
    # from a complete snapshot of its server.
    Column("last_time", UnixTime, nullable=False),
    Column("last_viewers", Integer, nullable=False),
    Column("live", Boolean, nullable=False),
    UniqueConstraint("server_id", "vhost", "app", "stream", "protocol"),
    Index("ix_viewer_streams_app_stream", "app", "stream"),
)

viewer_snapshots = Table(
    "viewer_snapshots",
    metadata,
    # No foreign key: per-row checks would halve bulk-load speed; purge removes snapshots
    # before the streams they belong to.
    Column("stream_id", Integer, primary_key=True, autoincrement=False),
    Column("time", UnixTime, primary_key=True),
    Column("viewers", Integer, nullable=False),
    # True when the server listed no clients and the count is <nclients> minus the publisher.
    Column("estimated", Boolean, nullable=False),
    sqlite_with_rowid=False,
)
