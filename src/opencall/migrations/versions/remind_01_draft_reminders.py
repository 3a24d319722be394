"""draft_reminders: the reminders mailed to the PI of a draft before its call closes,
one row per draft and threshold (days before the close)

Revision ID: remind_01
Revises: tz_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "remind_01"
down_revision = "tz_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draft_reminders",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("sent_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("proposal_id", "days"),
    )


def downgrade() -> None:
    op.drop_table("draft_reminders")
