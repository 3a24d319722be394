"""login_attempts: an index on (ok, at), for the site-wide count of failed sign-ins of
the last minute (the stuffing throttle, trialcrowd10): without it every sign-in scanned
the whole table

Revision ID: trialcrowd10_01
Revises: mend10b_01
"""

from __future__ import annotations

from alembic import op

revision = "trialcrowd10_01"
down_revision = "mend10b_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_ok_at", ["ok", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_ok_at")
