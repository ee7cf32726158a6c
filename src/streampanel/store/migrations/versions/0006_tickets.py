"""Viewer tickets, their attempt log, and publisher users per stream.

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("tickets",)
depends_on = None

_ACCOUNT = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_ATTEMPT_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _account(nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "account_id",
        _ACCOUNT,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        _account(),
        sa.Column("key", sa.String(96), nullable=False),
        sa.Column("pass", sa.String(255), nullable=False),
        sa.Column("app", sa.Text, nullable=False),
        sa.Column("video", sa.Text, nullable=False),
        sa.Column("ip", sa.Text, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("used_date", sa.DateTime, nullable=True),
        sa.Column("expire_date", sa.DateTime, nullable=False),
        sa.Column("signature", sa.String(64), nullable=True),
        sa.UniqueConstraint("key", name="uq_tickets_key"),
        sa.UniqueConstraint("account_id", "signature", name="uq_tickets_account_signature"),
    )
    op.create_index("ix_tickets_account_id", "tickets", ["account_id"])
    op.create_table(
        "ticket_attempts",
        sa.Column("id", _ATTEMPT_ID, primary_key=True),
        _account(nullable=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("key", sa.String(96), nullable=False),
        sa.Column("pass", sa.String(255), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("app", sa.String(200), nullable=False),
        sa.Column("video", sa.String(500), nullable=False),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_ticket_attempts_account_created", "ticket_attempts", ["account_id", "created"]
    )
    op.create_index("ix_ticket_attempts_key_created", "ticket_attempts", ["key", "created"])
    op.create_index("ix_ticket_attempts_created", "ticket_attempts", ["created"])
    op.create_table(
        "stream_users",
        sa.Column("id", sa.Integer, primary_key=True),
        _account(),
        sa.Column(
            "application_id",
            sa.Integer,
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stream", sa.String(500), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.UniqueConstraint(
            "application_id", "stream", "user", name="uq_stream_users_app_stream_user"
        ),
    )
    op.create_index("ix_stream_users_account_id", "stream_users", ["account_id"])


def downgrade() -> None:
    op.drop_table("stream_users")
    op.drop_table("ticket_attempts")
    op.drop_table("tickets")
