"""award later parts: the parts of a multi-period (long-term) programme's award for later
allocation periods, held against the later calls' offers until the progress report is
accepted (outcomes23)

Revision ID: outcomes23_01
Revises: trialchair23_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "outcomes23_01"
down_revision = "trialchair23_01"


def upgrade() -> None:
    op.create_table(
        "award_later_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("later_call_id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        *named_fks(
            "award_later_parts",
            call_id="calls",
            proposal_id="proposals",
            later_call_id="calls",
            pool_id="capacity_pools",
            created_by="users",
            decided_by="users",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_later_parts")),
        sa.UniqueConstraint(
            "proposal_id",
            "later_call_id",
            "pool_id",
            name=op.f("uq_award_later_parts_proposal_id_later_call_id_pool_id"),
        ),
    )
    batch_indexes("award_later_parts", "call_id", "proposal_id", "later_call_id", "pool_id")


def downgrade() -> None:
    drop_batch_indexes("award_later_parts", "pool_id", "later_call_id", "proposal_id", "call_id")
    op.drop_table("award_later_parts")
