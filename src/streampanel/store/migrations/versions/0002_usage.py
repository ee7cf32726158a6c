"""Usage: daily traffic totals, unattributed traffic, ingest checkpoints, disk usage."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("usage",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column(
            "application_id",
            sa.Integer,
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
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
        sa.Column("requests", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_unattributed",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer,
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ingest_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer,
            sa.ForeignKey("servers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("head_len", sa.Integer, nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("device", sa.BigInteger, nullable=True),
        sa.Column("inode", sa.BigInteger, nullable=True),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("lines", sa.BigInteger, nullable=False),
        sa.Column("rejected", sa.BigInteger, nullable=False),
        sa.Column("unattributed", sa.BigInteger, nullable=False),
        sa.Column("rejects_offset", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.UniqueConstraint(
            "server_id", "fingerprint", "head_len", name="uq_ingest_sources_server_id"
        ),
    )
    op.create_table(
        "disk_usage",
        sa.Column(
            "storage_user_id",
            sa.Integer,
            sa.ForeignKey("storage_users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("measured", sa.DateTime, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in ("disk_usage", "ingest_sources", "usage_unattributed", "usage_daily"):
        op.drop_table(table)
