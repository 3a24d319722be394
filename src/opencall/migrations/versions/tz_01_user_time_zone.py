"""users.time_zone (the IANA zone an account reads times in beside UTC; NULL: UTC only)

Revision ID: tz_01
Revises: postaward_02
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "tz_01"
down_revision = "postaward_02"


upgrade, downgrade = added_columns(
    "users",
    sa.Column("time_zone", sa.String(length=64), nullable=True),
)
