"""reviewer_languages and proposals.language: the languages a reviewer reviews in, and
the language a proposal is written in (a reviewer who declared languages is not given a
proposal in another); reviewer_year_limits: the most reviews a reviewer takes a year

Revision ID: trialrev18_01
Revises: trialtac18_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opencall.migrations.helpers import add_columns, drop_columns, user_row_table

revision = "trialrev18_01"
down_revision = "trialtac18_01"


def upgrade() -> None:
    user_row_table(
        "reviewer_languages", sa.Column("languages", sa.String(length=200), nullable=False)
    )
    user_row_table("reviewer_year_limits", sa.Column("max_per_year", sa.Integer(), nullable=False))
    add_columns("proposals", sa.Column("language", sa.String(length=3), nullable=True))


def downgrade() -> None:
    drop_columns("proposals", "language")
    op.drop_table("reviewer_year_limits")
    op.drop_table("reviewer_languages")
