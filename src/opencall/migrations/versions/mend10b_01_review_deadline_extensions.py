"""review_deadline_extensions: a reviewer's own review deadline in a call, granted by
the chair; reviews submitted after the deadline that applies are refused

Revision ID: mend10b_01
Revises: decline8_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

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
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_review_deadline_extensions_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_review_deadline_extensions_reviewer_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"],
            ["users.id"],
            name=op.f("fk_review_deadline_extensions_granted_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_deadline_extensions")),
        sa.UniqueConstraint(
            "call_id", "reviewer_id", name=op.f("uq_review_deadline_extensions_call_id_reviewer_id")
        ),
    )
    with op.batch_alter_table("review_deadline_extensions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_deadline_extensions_call_id"), ["call_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_deadline_extensions_reviewer_id"), ["reviewer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_deadline_extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_deadline_extensions_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_review_deadline_extensions_call_id"))
    op.drop_table("review_deadline_extensions")
