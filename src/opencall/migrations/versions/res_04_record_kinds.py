"""capacity_pools.record_kinds (the post-award record kinds a resource is followed with;
empty: those its pool type and unit imply)

Revision ID: res_04
Revises: res_03
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "res_04"
down_revision = "res_03"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("record_kinds", sa.JSON(), nullable=False, server_default="[]"),
)
