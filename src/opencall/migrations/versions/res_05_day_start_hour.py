"""capacity_pools.day_start_hour (the hour, UTC, each day of a resource's period begins
at: its slots start then, e.g. a beamline's 8-hour shifts at 08:00 local time)

Revision ID: res_05
Revises: res_04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "res_05"
down_revision = "res_04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("day_start_hour", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("day_start_hour")
