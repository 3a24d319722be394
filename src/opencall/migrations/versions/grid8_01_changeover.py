"""capacity_pools.changeover_slots: the slots a slot-based resource keeps free between two
bookings of different proposals (a lab changing an insert, a probe, a configuration). 0
for existing rows: their schedules book one award right after another, as before.

Revision ID: grid8_01
Revises: dive0_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "grid8_01"
down_revision = "dive0_01"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("changeover_slots", sa.Integer(), nullable=False, server_default="0"),
)
