"""capacity_pools.items and pool_item_outages: a resource lending several identical items
(5 ROVs of one vessel) loses only the lost item's share of its places (trialop20b). 1 for
existing rows: an item lost closes the resource whole, as before.

Revision ID: trialop20b_01
Revises: trialcrowd20_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opencall.db import UTCDateTime

revision = "trialop20b_01"
down_revision = "trialcrowd20_01"


def _fk(column: str, table: str, *, nullable: bool) -> sa.Column[int]:
    """A column of pool_item_outages referring to ``table``'s id, deleted with it."""
    name = f"fk_pool_item_outages_{column}_{table}"
    fk = sa.ForeignKey(f"{table}.id", name=name, ondelete="CASCADE")
    return sa.Column(column, sa.Integer(), fk, nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("items", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "pool_item_outages",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("pool_id", "capacity_pools", nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("item", sa.String(200), nullable=False, server_default=""),
        _fk("lost_record_id", "postaward_records", nullable=True),
    )
    op.create_index("ix_pool_item_outages_pool_id", "pool_item_outages", ["pool_id"])
    op.create_index("ix_pool_item_outages_lost_record_id", "pool_item_outages", ["lost_record_id"])


def downgrade() -> None:
    op.drop_index("ix_pool_item_outages_lost_record_id", "pool_item_outages")
    op.drop_index("ix_pool_item_outages_pool_id", "pool_item_outages")
    op.drop_table("pool_item_outages")
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("items")
