"""partial_uploads: a PDF sent in chunks that resumes after a dropped connection
(trialapp23). No rows at the upgrade: uploads in progress start with the new code.

Revision ID: trialapp23_01
Revises: trialrev22_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import cascade_fk

revision = "trialapp23_01"
down_revision = "trialrev22_01"


def upgrade() -> None:
    op.create_table(
        "partial_uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        cascade_fk("partial_uploads", "proposal_id", "proposals", named=False),
        cascade_fk("partial_uploads", "user_id", "users", named=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partial_uploads_proposal_id", "partial_uploads", ["proposal_id"])
    op.create_index("ix_partial_uploads_user_id", "partial_uploads", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_partial_uploads_user_id", table_name="partial_uploads")
    op.drop_index("ix_partial_uploads_proposal_id", table_name="partial_uploads")
    op.drop_table("partial_uploads")
