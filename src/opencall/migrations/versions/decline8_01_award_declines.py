"""award declines: a released award declined by its PI, why, and the capacity it freed

Revision ID: decline8_01
Revises: grid8_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "decline8_01"
down_revision = "grid8_01"

JSON = sa.JSON().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "award_declines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("freed", JSON, nullable=False),
        sa.Column("entries_released", sa.Integer(), nullable=False),
        sa.Column("declined_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks("award_declines", call_id="calls", proposal_id="proposals", declined_by="users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_declines")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_award_declines_proposal_id")),
    )
    batch_indexes("award_declines", "call_id", "proposal_id")


def downgrade() -> None:
    drop_batch_indexes("award_declines", "proposal_id", "call_id")
    op.drop_table("award_declines")
