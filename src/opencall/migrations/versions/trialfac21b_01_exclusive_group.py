"""capacity_pools.exclusive_group: resources of a facility that share one instrument (a
beamline's two machine modes) name the same group; at most one of them is in use at any
moment (trialfac21b). "" for existing rows: no group, as before.

Revision ID: trialfac21b_01
Revises: scale21_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trialfac21b_01"
down_revision = "scale21_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a column with a default: SQLite adds it without rebuilding the table
    column = sa.Column("exclusive_group", sa.String(80), nullable=False, server_default="")
    op.add_column("capacity_pools", column)


def downgrade() -> None:
    with op.batch_alter_table("capacity_pools", schema=None) as batch_op:
        batch_op.drop_column("exclusive_group")
