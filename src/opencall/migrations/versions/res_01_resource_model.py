"""general resource model: unit labels, calendars, request forms as data, bundles

Revision ID: res_01
Revises: postaward_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "res_01"
down_revision = "postaward_01"


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unit_labels", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("slot_hours", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("request_fields", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "pool_unavailability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["capacity_pools.id"],
            name=op.f("fk_pool_unavailability_pool_id_capacity_pools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_unavailability")),
    )
    with op.batch_alter_table("pool_unavailability", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_unavailability_pool_id"), ["pool_id"], unique=False
        )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("bundle")
    with op.batch_alter_table("pool_unavailability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_unavailability_pool_id"))
    op.drop_table("pool_unavailability")
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("request_fields")
        batch_op.drop_column("slot_hours")
        batch_op.drop_column("period_end")
        batch_op.drop_column("period_start")
        batch_op.drop_column("unit_labels")
