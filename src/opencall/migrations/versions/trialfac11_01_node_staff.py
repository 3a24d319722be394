"""node_staff: a person staffing one resource (a node of a network facility)

Revision ID: trialfac11_01
Revises: out10b_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "trialfac11_01"
down_revision = "out10b_01"


def upgrade() -> None:
    op.create_table(
        "node_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks(
            "node_staff",
            user_id=("users", "CASCADE"),
            pool_id=("capacity_pools", "CASCADE"),
            granted_by=("users", "SET NULL"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_staff")),
        sa.UniqueConstraint("user_id", "pool_id", name=op.f("uq_node_staff_user_id_pool_id")),
    )
    batch_indexes("node_staff", "user_id", "pool_id")


def downgrade() -> None:
    drop_batch_indexes("node_staff", "pool_id", "user_id")
    op.drop_table("node_staff")
