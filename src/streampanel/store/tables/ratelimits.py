"""Token buckets of API keys, shared by every API process on PostgreSQL."""

from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, Table, text

from streampanel.store.tables.base import metadata

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column(
        "api_key_id",
        Integer,
        ForeignKey("api_keys.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("tokens", Float, nullable=False),
    # Unix seconds of the last refill.
    Column("updated", Float, nullable=False),
    # Whether the last take got a token, and how many it got (an API process takes a batch
    # and spends it locally: streampanel.api.ratelimit).
    Column("allowed", Boolean, nullable=False),
    Column("granted", Float, nullable=False, server_default=text("0")),
)
