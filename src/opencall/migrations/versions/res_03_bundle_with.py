"""capacity_pools.bundle_with (a resource requested only in a bundle with another) and
call_pools.min_per_request (the smallest request a call accepts of a resource)

Revision ID: res_03
Revises: res_02
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import add_columns, drop_columns

revision = "res_03"
down_revision = "chair_01"


def upgrade() -> None:
    add_columns(
        "capacity_pools", sa.Column("bundle_with", sa.JSON(), nullable=False, server_default="[]")
    )
    add_columns("call_pools", sa.Column("min_per_request", sa.Float(), nullable=True))


def downgrade() -> None:
    drop_columns("call_pools", "min_per_request")
    drop_columns("capacity_pools", "bundle_with")
