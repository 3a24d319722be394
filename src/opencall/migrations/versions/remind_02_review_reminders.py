"""review_reminders: the review reminders mailed before the review deadline, one row
per assignment and threshold (days before the deadline), so that ``opencall remind``
run twice mails nobody twice

Revision ID: remind_02
Revises: scale_01
"""

from __future__ import annotations

from alembic import op

from opencall.migrations.helpers import sent_reminders_table

revision = "remind_02"
down_revision = "scale_01"


def upgrade() -> None:
    sent_reminders_table(
        "review_reminders", "assignment_id", "review_assignments", ondelete="CASCADE"
    )


def downgrade() -> None:
    op.drop_table("review_reminders")
