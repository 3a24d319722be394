"""reviews.version: the review's version, carried by the review form, so that a save from
a tab opened before another tab's save is refused instead of written over it. 1 for the
existing rows.

Revision ID: trialrev22_01
Revises: outcomes22_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "trialrev22_01"
down_revision = "outcomes22_01"


upgrade, downgrade = added_columns(
    "reviews",
    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
)
