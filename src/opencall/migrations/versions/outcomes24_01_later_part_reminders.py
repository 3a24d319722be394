"""award_later_parts.reminders_sent, reminded_on: the PI's reminders that a held later
part's progress report is due (outcomes24), so that each run of ``postaward remind``
mails a PI at most once every 14 days and at most three times.

Revision ID: outcomes24_01
Revises: usage23_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "outcomes24_01"
down_revision = "usage23_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # columns with a default or nullable: SQLite adds them without rebuilding the table
    sent = sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0")
    op.add_column("award_later_parts", sent)
    op.add_column("award_later_parts", sa.Column("reminded_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("award_later_parts", schema=None) as batch_op:
        batch_op.drop_column("reminded_on")
        batch_op.drop_column("reminders_sent")
