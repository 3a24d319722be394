"""capacity_pools.usage_kind: how the use recorded against an award of a resource adds up
(usage23): "consumed" sums the records (core-hours spent, the behaviour so far, so every
existing resource keeps it), "occupied" counts the peak level recorded (TB of storage held
each month, a rack slot).

Revision ID: usage23_01
Revises: scale23_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "usage23_01"
down_revision = "scale23_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a column with a default: SQLite adds it without rebuilding the table
    column = sa.Column("usage_kind", sa.String(16), nullable=False, server_default="consumed")
    op.add_column("capacity_pools", column)


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("usage_kind")
