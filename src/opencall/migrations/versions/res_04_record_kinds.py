"""capacity_pools.record_kinds (the post-award record kinds a resource is followed with;
empty: those its pool type and unit imply)

Revision ID: res_04
Revises: res_03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "res_04"
down_revision = "res_03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("record_kinds", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("record_kinds")
