"""tac_adjustments and tac_locks: the TAC chair's moves and bands on the calibrated ranked
list of a call, each with its reason, and the lock of that list (trialtac18). No rows for
an existing call: its allocation reads the calibrated order as before.

Revision ID: trialtac18_01
Revises: trialfac17_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialtac18_01"
down_revision = "trialfac17_01"


def upgrade() -> None:
    op.create_table(
        "tac_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tac_adjustments_call_id", "tac_adjustments", ["call_id"])
    op.create_index("ix_tac_adjustments_proposal_id", "tac_adjustments", ["proposal_id"])
    op.create_table(
        "tac_locks",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.Integer(), nullable=True),
        sa.Column("locked_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.ForeignKeyConstraint(["locked_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("call_id"),
    )


def downgrade() -> None:
    op.drop_table("tac_locks")
    op.drop_index("ix_tac_adjustments_proposal_id", table_name="tac_adjustments")
    op.drop_index("ix_tac_adjustments_call_id", table_name="tac_adjustments")
    op.drop_table("tac_adjustments")
