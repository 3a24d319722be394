"""login_attempts: an index on (ok, at), for the site-wide count of failed sign-ins of
the last minute (the stuffing throttle, trialcrowd10): without it every sign-in scanned
the whole table

Revision ID: trialcrowd10_01
Revises: mend10b_01
"""

from __future__ import annotations

from opencall.migrations.helpers import created_index, dropped_index

revision = "trialcrowd10_01"
down_revision = "mend10b_01"


def upgrade() -> None:
    created_index("login_attempts", "ix_login_attempts_ok_at", ["ok", "at"])


def downgrade() -> None:
    dropped_index("login_attempts", "ix_login_attempts_ok_at")
