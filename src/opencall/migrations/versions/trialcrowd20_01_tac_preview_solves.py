"""tac_preview_solves: the TAC preview's solves, claimed in the database before they run and
kept once done, so that the views of one list at the same moment, in any web worker, solve
its allocation once (trialcrowd20, ``allocation.preview_solves``). A cache: no rows for an
existing call (its next preview solves as before), none kept by the downgrade.

Revision ID: trialcrowd20_01
Revises: trialfac20_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "trialcrowd20_01"
down_revision = "trialfac20_01"


def upgrade() -> None:
    op.create_table(
        "tac_preview_solves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("awards", sa.JSON(), nullable=False),
        sa.Column("claimed_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("solved_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tac_preview_solves"),
        sa.UniqueConstraint("key", name="uq_tac_preview_solves_key"),
    )
    op.create_index("ix_tac_preview_solves_call_id", "tac_preview_solves", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_tac_preview_solves_call_id", table_name="tac_preview_solves")
    op.drop_table("tac_preview_solves")
