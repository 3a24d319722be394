"""node_staff: a person staffing one resource (a node of a network facility)

Revision ID: trialfac11_01
Revises: out10b_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

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
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_node_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["capacity_pools.id"],
            name=op.f("fk_node_staff_pool_id_capacity_pools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"],
            ["users.id"],
            name=op.f("fk_node_staff_granted_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_staff")),
        sa.UniqueConstraint("user_id", "pool_id", name=op.f("uq_node_staff_user_id_pool_id")),
    )
    with op.batch_alter_table("node_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_node_staff_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_node_staff_pool_id"), ["pool_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("node_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_node_staff_pool_id"))
        batch_op.drop_index(batch_op.f("ix_node_staff_user_id"))
    op.drop_table("node_staff")
