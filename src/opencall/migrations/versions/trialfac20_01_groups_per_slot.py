"""capacity_pools.groups_per_slot: how many groups one slot of a slot-based resource holds
at once (a beamline's sample changer takes 4 groups' crystals a shift, a research
vessel's leg 12 berths). 1 for existing rows: a slot is one team's, as before.

Revision ID: trialfac20_01
Revises: trialop19b_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "trialfac20_01"
down_revision = "trialop19b_01"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("groups_per_slot", sa.Integer(), nullable=False, server_default="1"),
)
