"""postaward_report_reminders (awardees chased for a first report)

Revision ID: postaward_02
Revises: res_05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_postaward_report_reminders_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_postaward_report_reminders_proposal_id_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postaward_report_reminders")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_postaward_report_reminders_proposal_id")),
    )
    with op.batch_alter_table("postaward_report_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_postaward_report_reminders_call_id"), ["call_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_postaward_report_reminders_proposal_id"), ["proposal_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("postaward_report_reminders")
