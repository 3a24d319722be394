"""capacity_pools.bundle_with (a resource requested only in a bundle with another) and
call_pools.min_per_request (the smallest request a call accepts of a resource)

Revision ID: res_03
Revises: res_02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "res_03"
down_revision = "chair_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bundle_with", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("call_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_per_request", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_pools", schema=None) as batch_op:
        batch_op.drop_column("min_per_request")
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("bundle_with")
