"""triage_decisions: why a proposal is set aside at triage before the review (out of
scope, technically infeasible, incomplete), with the reason its applicant reads; the
proposal's status is then ``set_aside``

Revision ID: trialrev15_01
Revises: outscale14_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialrev15_01"
down_revision = "outscale14_01"


def upgrade() -> None:
    op.create_table(
        "triage_decisions",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("proposal_id"),
    )
    op.create_index(
        op.f("ix_triage_decisions_call_id"), "triage_decisions", ["call_id"], unique=False
    )


def downgrade() -> None:
    # a proposal set aside goes back to review: the schema before has no such status
    op.execute("UPDATE proposals SET status = 'under_review' WHERE status = 'set_aside'")
    op.drop_index(op.f("ix_triage_decisions_call_id"), table_name="triage_decisions")
    op.drop_table("triage_decisions")
