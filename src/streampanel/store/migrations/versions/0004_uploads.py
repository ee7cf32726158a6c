"""Uploads: the job table (also the queue) and the accounts' upload destinations."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("uploads",)
depends_on = None

_ACCOUNT = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_BYTES = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "upload_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "account_id", _ACCOUNT, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("api_key_id", sa.Integer, nullable=True),
        sa.Column("signature", sa.String(64), nullable=True),
        sa.Column("first_response", sa.Text, nullable=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("destination_path", sa.Text, nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("acl", sa.String(32), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", sa.String(500), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("callback", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("results", sa.Text, nullable=False),
        sa.Column("youtube_id", sa.String(64), nullable=False),
        sa.Column("bytes_done", _BYTES, nullable=False),
        sa.Column("bytes_total", _BYTES, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("last_updated", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires", sa.DateTime, nullable=True),
        sa.Column("remote_session", sa.Text, nullable=True),
        sa.Column("part_size", _BYTES, nullable=True),
        sa.Column("completing", sa.Text, nullable=True),
        sa.Column("callback_state", sa.String(16), nullable=False),
        sa.Column("callback_event_id", sa.String(64), nullable=True),
        sa.Column("callback_attempts", sa.Integer, nullable=False),
        sa.Column("callback_http_status", sa.Integer, nullable=True),
        sa.Column("callback_message", sa.Text, nullable=False),
        sa.UniqueConstraint("account_id", "signature", name="uq_upload_jobs_account_signature"),
    )
    op.create_index("ix_upload_jobs_due_at", "upload_jobs", ["due_at"])
    op.create_index("ix_upload_jobs_account_kind", "upload_jobs", ["account_id", "kind", "id"])
    op.create_table(
        "upload_destinations",
        sa.Column(
            "account_id",
            _ACCOUNT,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("secrets_sealed", sa.Text, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_destinations")
    op.drop_index("ix_upload_jobs_account_kind", "upload_jobs")
    op.drop_index("ix_upload_jobs_due_at", "upload_jobs")
    op.drop_table("upload_jobs")
