"""capacity_pools.day_start_hour (the hour, UTC, each day of a resource's period begins
at: its slots start then, e.g. a beamline's 8-hour shifts at 08:00 local time)

Revision ID: res_05
Revises: res_04
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "res_05"
down_revision = "res_04"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("day_start_hour", sa.Float(), nullable=False, server_default="0"),
)
