"""unreviewed_resolutions: the chair's answer for a proposal short of reviews

Revision ID: chair_01
Revises: res_02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, named_fks

revision = "chair_01"
down_revision = "res_02"


def upgrade() -> None:
    op.create_table(
        "unreviewed_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks(
            "unreviewed_resolutions", call_id="calls", decided_by="users", proposal_id="proposals"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unreviewed_resolutions")),
        sa.UniqueConstraint(
            "call_id", "proposal_id", name=op.f("uq_unreviewed_resolutions_call_id_proposal_id")
        ),
    )
    batch_indexes("unreviewed_resolutions", "call_id", "proposal_id")


def downgrade() -> None:
    op.drop_table("unreviewed_resolutions")
