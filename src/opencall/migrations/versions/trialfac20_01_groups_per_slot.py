"""capacity_pools.groups_per_slot: how many groups one slot of a slot-based resource holds
at once (a beamline's sample changer takes 4 groups' crystals a shift, a research
vessel's leg 12 berths). 1 for existing rows: a slot is one team's, as before.

Revision ID: trialfac20_01
Revises: trialop19b_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trialfac20_01"
down_revision = "trialop19b_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("groups_per_slot", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("groups_per_slot")
