"""reviewer_load_limits: the most proposals a reviewer will review at once across every
call (the reviewer's own limit, held by each call's assignment against the reviews they
still have to write elsewhere)

Revision ID: trialrev17_01
Revises: trialfac15_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialrev17_01"
down_revision = "trialfac15_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewer_load_limits",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("max_at_once", sa.Integer(), nullable=False),
        sa.Column("updated_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("reviewer_load_limits")
