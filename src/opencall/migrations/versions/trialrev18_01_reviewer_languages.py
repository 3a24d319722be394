"""reviewer_languages and proposals.language: the languages a reviewer reviews in, and
the language a proposal is written in (a reviewer who declared languages is not given a
proposal in another); reviewer_year_limits: the most reviews a reviewer takes a year

Revision ID: trialrev18_01
Revises: trialtac18_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialrev18_01"
down_revision = "trialtac18_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewer_languages",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("updated_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "reviewer_year_limits",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("max_per_year", sa.Integer(), nullable=False),
        sa.Column("updated_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("language", sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("language")
    op.drop_table("reviewer_year_limits")
    op.drop_table("reviewer_languages")
