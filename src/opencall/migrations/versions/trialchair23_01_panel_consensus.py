"""panel_consensus: the panel's grade of a proposal and the consensus comment its
applicants read, recorded by a chair at the panel's meeting (trialchair23). No rows for
an existing call: its ranking reads the calibrated grades as before.

Revision ID: trialchair23_01
Revises: trialapp23_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialchair23_01"
down_revision = "trialapp23_01"


def upgrade() -> None:
    op.create_table(
        "panel_consensus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id"),
    )
    op.create_index(op.f("ix_panel_consensus_call_id"), "panel_consensus", ["call_id"])
    op.create_index(op.f("ix_panel_consensus_proposal_id"), "panel_consensus", ["proposal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_consensus_proposal_id"), table_name="panel_consensus")
    op.drop_index(op.f("ix_panel_consensus_call_id"), table_name="panel_consensus")
    op.drop_table("panel_consensus")
