"""Edge agents: which agent holds a server, and each server's own disk figures.

``agent_leases`` holds one row per server whose edge agent is running: the agent's instance
id (kept in its state directory, so a restarted agent is the same instance) and until when
the lease holds.  A second agent claiming the same server while the lease holds is refused,
so two agents never read the same logs into the same server's totals.
``disk_usage_servers`` keeps each server's measurement of each storage user per UTC day;
``disk_usage`` holds their sum, the figure ``disk.usage`` reads.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
)

from streampanel.store.tables.base import metadata

agent_leases = Table(
    "agent_leases",
    metadata,
    Column(
        "server_id",
        Integer,
        ForeignKey("servers.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("agent_id", String(64), nullable=False),
    # The host name the agent reported, for the refusal message of a second agent.
    Column("host", String(255), nullable=False),
    Column("acquired", DateTime, nullable=False),
    # Unix seconds: after this, another agent may take the server over.
    Column("expires", Float, nullable=False),
)

disk_usage_servers = Table(
    "disk_usage_servers",
    metadata,
    Column(
        "storage_user_id",
        Integer,
        ForeignKey("storage_users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", Date, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("measured", DateTime, nullable=False),
    sqlite_with_rowid=False,
)
