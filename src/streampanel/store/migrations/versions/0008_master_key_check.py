"""Master key check value: one sealed row proving which key sealed the store's secrets.

Revision ID: 0008
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = ("keycheck",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "master_key_check",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("master_key_check")
