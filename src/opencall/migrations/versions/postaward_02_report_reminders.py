"""postaward_report_reminders (awardees chased for a first report)

Revision ID: postaward_02
Revises: res_05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opencall.migrations.helpers import batch_indexes, named_fks

revision = "postaward_02"
down_revision = "res_05"


def upgrade() -> None:
    op.create_table(
        "postaward_report_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("first_reminded_on", sa.Date(), nullable=False),
        sa.Column("last_reminded_on", sa.Date(), nullable=False),
        *named_fks("postaward_report_reminders", call_id="calls", proposal_id="proposals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postaward_report_reminders")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_postaward_report_reminders_proposal_id")),
    )
    batch_indexes("postaward_report_reminders", "call_id", "proposal_id")


def downgrade() -> None:
    op.drop_table("postaward_report_reminders")
