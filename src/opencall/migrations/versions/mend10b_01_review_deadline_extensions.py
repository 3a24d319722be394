"""review_deadline_extensions: a reviewer's own review deadline in a call, granted by
the chair; reviews submitted after the deadline that applies are refused

Revision ID: mend10b_01
Revises: decline8_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "mend10b_01"
down_revision = "decline8_01"


def upgrade() -> None:
    op.create_table(
        "review_deadline_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("until", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks(
            "review_deadline_extensions", call_id="calls", reviewer_id="users", granted_by="users"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_deadline_extensions")),
        sa.UniqueConstraint(
            "call_id", "reviewer_id", name=op.f("uq_review_deadline_extensions_call_id_reviewer_id")
        ),
    )
    batch_indexes("review_deadline_extensions", "call_id", "reviewer_id")


def downgrade() -> None:
    drop_batch_indexes("review_deadline_extensions", "reviewer_id", "call_id")
    op.drop_table("review_deadline_extensions")
