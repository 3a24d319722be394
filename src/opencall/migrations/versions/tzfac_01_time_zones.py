"""capacity_pools.time_zone (a site's IANA time zone: the resource's days, slots and
unavailable days keep its local wall clock across daylight saving changes) and
calls.time_zone (the zone a call's dates are stated in, "1 March 17:00 Europe/Berlin").
Both "" for existing rows: their resources stay in UTC (``day_start_hour`` UTC, as before)
and their dates stated in UTC.

Revision ID: tzfac_01
Revises: remind_02
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import add_columns, drop_columns

revision = "tzfac_01"
down_revision = "remind_02"


def upgrade() -> None:
    add_columns(
        "capacity_pools", sa.Column("time_zone", sa.String(64), nullable=False, server_default="")
    )
    add_columns("calls", sa.Column("time_zone", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    drop_columns("calls", "time_zone")
    drop_columns("capacity_pools", "time_zone")
