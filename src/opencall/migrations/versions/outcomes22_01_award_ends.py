"""award ends: a released award the user office ended after its PI returned it, why, and
the capacity returned (outcomes22)

Revision ID: outcomes22_01
Revises: mend22_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "outcomes22_01"
down_revision = "mend22_01"


def upgrade() -> None:
    op.create_table(
        "award_ends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("returned", sa.JSON(), nullable=False),
        sa.Column("entries_released", sa.Integer(), nullable=False),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks("award_ends", call_id="calls", proposal_id="proposals", ended_by="users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_ends")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_award_ends_proposal_id")),
    )
    batch_indexes("award_ends", "call_id", "proposal_id")


def downgrade() -> None:
    drop_batch_indexes("award_ends", "proposal_id", "call_id")
    op.drop_table("award_ends")
