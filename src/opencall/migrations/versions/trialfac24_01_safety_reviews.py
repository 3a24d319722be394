"""safety_reviews: the safety officer's review of a proposal's samples (trialfac24): its
hazard class and decision (pending, approved, refused), notes to the panel and to the team.

Revision ID: trialfac24_01
Revises: outcomes24_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opencall.db import UTCDateTime

revision = "trialfac24_01"
down_revision = "outcomes24_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("hazard_class", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("notes_to_panel", sa.Text(), nullable=False),
        sa.Column("notes_to_applicants", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id"),
    )
    with op.batch_alter_table("safety_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_reviews_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_safety_reviews_proposal_id"), ["proposal_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("safety_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_reviews_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_safety_reviews_call_id"))
    op.drop_table("safety_reviews")
