"""proposals.continues_id: the earlier award a proposal continues (a multi-cycle
programme's renewal, a trainee's second season, a loan extended), so that the outcomes
count the programme's beneficiaries, awards and results once

Revision ID: outcomes19_01
Revises: trialrev18_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "outcomes19_01"
down_revision = "trialrev18_01"


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("continues_id", sa.Integer(), nullable=True))
        batch.create_index("ix_proposals_continues_id", ["continues_id"])
        batch.create_foreign_key(
            "fk_proposals_continues_id_proposals",
            "proposals",
            ["continues_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_constraint("fk_proposals_continues_id_proposals", type_="foreignkey")
        batch.drop_index("ix_proposals_continues_id")
        batch.drop_column("continues_id")
