"""decisions.explanation_msg: a decision's explanation as message ids and parameters

Revision ID: msgid11_01
Revises: trialout11_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "msgid11_01"
down_revision = "trialout11_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("explanation_msg", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("explanation_msg")
