"""submission_extensions: one proposal's own submission deadline, later than its call's,
granted by the user office with a reason (trialop21b)

Revision ID: trialop21b_01
Revises: trialop20b_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialop21b_01"
down_revision = "trialop20b_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("until", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_submission_extensions_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_submission_extensions_proposal_id_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_submission_extensions_granted_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_extensions")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_submission_extensions_proposal_id")),
    )
    with op.batch_alter_table("submission_extensions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_extensions_call_id"), ["call_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_submission_extensions_proposal_id"), ["proposal_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_extensions_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_submission_extensions_call_id"))
    op.drop_table("submission_extensions")
