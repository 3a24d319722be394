"""capacity_pools.changeover_slots: the slots a slot-based resource keeps free between two
bookings of different proposals (a lab changing an insert, a probe, a configuration). 0
for existing rows: their schedules book one award right after another, as before.

Revision ID: grid8_01
Revises: dive0_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "grid8_01"
down_revision = "dive0_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("changeover_slots", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("changeover_slots")
