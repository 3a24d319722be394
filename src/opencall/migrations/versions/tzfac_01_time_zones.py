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
from alembic import op

revision = "tzfac_01"
down_revision = "remind_02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="")
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
