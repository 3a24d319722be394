"""proposal counters: one row per call, taken under its lock for race-free codes

Revision ID: crowd_01
Revises: lead_03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opencall.migrations.helpers import named_fks

revision = "crowd_01"
down_revision = "lead_03"


def upgrade() -> None:
    # rows are created on a call's first new proposal, seeded from its proposals then
    op.create_table(
        "proposal_counters",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        *named_fks("proposal_counters", call_id=("calls", "CASCADE")),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_proposal_counters")),
    )


def downgrade() -> None:
    op.drop_table("proposal_counters")
