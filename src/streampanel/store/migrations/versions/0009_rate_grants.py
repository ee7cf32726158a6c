"""Rate limits: how many tokens the last take granted (API processes take them in batches).

Revision ID: 0009
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "rate_buckets",
        sa.Column("granted", sa.Float, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("rate_buckets", "granted")
