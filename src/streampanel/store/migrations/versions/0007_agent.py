"""Edge agents: server leases and per-server disk figures.

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = ("agent",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_leases",
        sa.Column(
            "server_id",
            sa.Integer,
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("acquired", sa.DateTime, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_table(
        "disk_usage_servers",
        sa.Column(
            "storage_user_id",
            sa.Integer,
            sa.ForeignKey("storage_users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer,
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("measured", sa.DateTime, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("disk_usage_servers")
    op.drop_table("agent_leases")
