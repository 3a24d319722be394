"""award declines: a released award declined by its PI, why, and the capacity it freed

Revision ID: decline8_01
Revises: grid8_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "decline8_01"
down_revision = "grid8_01"

JSON = sa.JSON().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "award_declines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("freed", JSON, nullable=False),
        sa.Column("entries_released", sa.Integer(), nullable=False),
        sa.Column("declined_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_award_declines_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_award_declines_proposal_id_proposals")
        ),
        sa.ForeignKeyConstraint(
            ["declined_by"], ["users.id"], name=op.f("fk_award_declines_declined_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_declines")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_award_declines_proposal_id")),
    )
    with op.batch_alter_table("award_declines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_award_declines_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_award_declines_proposal_id"), ["proposal_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("award_declines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_award_declines_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_award_declines_call_id"))
    op.drop_table("award_declines")
