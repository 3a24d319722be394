"""draft_reminders: the reminders mailed to the PI of a draft before its call closes,
one row per draft and threshold (days before the close)

Revision ID: remind_01
Revises: tz_01
"""

from __future__ import annotations

from alembic import op

from opencall.migrations.helpers import sent_reminders_table

revision = "remind_01"
down_revision = "tz_01"


def upgrade() -> None:
    sent_reminders_table("draft_reminders", "proposal_id", "proposals")


def downgrade() -> None:
    op.drop_table("draft_reminders")
