"""calls taking proposals continuously, reviewed in batches at cut-offs: the call's mode
(``deadline`` or ``continuous``), its cut-offs, the days to a decision after each, how
many cut-offs are done, and, on a batch, its parent call and number

Revision ID: rolling_01
Revises: tzfac_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rolling_01"
down_revision = "tzfac_01"


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=12), nullable=False, server_default="deadline")
        )
        batch_op.add_column(sa.Column("cutoffs", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("decision_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("cutoffs_done", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("batch_number", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_calls_parent_id_calls", "calls", ["parent_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_calls_parent_id", ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_parent_id")
        batch_op.drop_constraint("fk_calls_parent_id_calls", type_="foreignkey")
        for name in ("batch_number", "parent_id", "cutoffs_done", "decision_days", "cutoffs"):
            batch_op.drop_column(name)
        batch_op.drop_column("mode")
