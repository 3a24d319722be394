"""review_reminders: the review reminders mailed before the review deadline, one row
per assignment and threshold (days before the deadline), so that ``opencall remind``
run twice mails nobody twice

Revision ID: remind_02
Revises: scale_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "remind_02"
down_revision = "scale_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_reminders",
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("sent_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["review_assignments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assignment_id", "days"),
    )


def downgrade() -> None:
    op.drop_table("review_reminders")
