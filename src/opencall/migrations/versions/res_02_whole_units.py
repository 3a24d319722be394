"""capacity_pools.whole_units: an operator-named unit counted in whole numbers only

Revision ID: res_02
Revises: mail_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "res_02"
down_revision = "mail_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("whole_units", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("whole_units")
