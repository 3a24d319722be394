"""general resource model: unit labels, calendars, request forms as data, bundles

Revision ID: res_01
Revises: postaward_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

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
        *named_fks("pool_unavailability", pool_id=("capacity_pools", "CASCADE")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_unavailability")),
    )
    batch_indexes("pool_unavailability", "pool_id")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("bundle")
    drop_batch_indexes("pool_unavailability", "pool_id")
    op.drop_table("pool_unavailability")
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("request_fields")
        batch_op.drop_column("slot_hours")
        batch_op.drop_column("period_end")
        batch_op.drop_column("period_start")
        batch_op.drop_column("unit_labels")
