"""users.time_zone (the IANA zone an account reads times in beside UTC; NULL: UTC only)

Revision ID: tz_01
Revises: postaward_02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tz_01"
down_revision = "postaward_02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
