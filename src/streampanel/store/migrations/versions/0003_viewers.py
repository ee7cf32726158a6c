"""Live viewers: reported streams with their latest snapshot, and the snapshot history."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("viewers",)
depends_on = None

_UNIX_TIME = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "viewer_streams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "server_id", sa.Integer, sa.ForeignKey("servers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("vhost", sa.String(200), nullable=False),
        sa.Column("app", sa.String(200), nullable=False),
        sa.Column("stream", sa.String(500), nullable=False),
        sa.Column("protocol", sa.String(20), nullable=False),
        sa.Column("last_time", _UNIX_TIME, nullable=False),
        sa.Column("last_viewers", sa.Integer, nullable=False),
        sa.Column("live", sa.Boolean, nullable=False),
        sa.UniqueConstraint(
            "server_id", "vhost", "app", "stream", "protocol", name="uq_viewer_streams_server_id"
        ),
    )
    op.create_index("ix_viewer_streams_app_stream", "viewer_streams", ["app", "stream"])
    op.create_table(
        "viewer_snapshots",
        sa.Column("stream_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time", _UNIX_TIME, primary_key=True),
        sa.Column("viewers", sa.Integer, nullable=False),
        sa.Column("estimated", sa.Boolean, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("viewer_snapshots")
    op.drop_table("viewer_streams")
