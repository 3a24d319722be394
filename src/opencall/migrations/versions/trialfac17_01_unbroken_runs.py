"""capacity_pools.unbroken: every award on the resource is booked as one unbroken run of
consecutive slots (a crop in a growth chamber cannot pause for a closure or another team).
False for existing rows: their schedules keep an award's slots together only where they
can, as before.

Revision ID: trialfac17_01
Revises: trialrev17_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "trialfac17_01"
down_revision = "trialrev17_01"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("unbroken", sa.Boolean(), nullable=False, server_default=sa.false()),
)
