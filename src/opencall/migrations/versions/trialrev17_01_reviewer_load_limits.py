"""reviewer_load_limits: the most proposals a reviewer will review at once across every
call (the reviewer's own limit, held by each call's assignment against the reviews they
still have to write elsewhere)

Revision ID: trialrev17_01
Revises: trialfac15_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opencall.migrations.helpers import user_row_table

revision = "trialrev17_01"
down_revision = "trialfac15_01"


def upgrade() -> None:
    user_row_table("reviewer_load_limits", sa.Column("max_at_once", sa.Integer(), nullable=False))


def downgrade() -> None:
    op.drop_table("reviewer_load_limits")
