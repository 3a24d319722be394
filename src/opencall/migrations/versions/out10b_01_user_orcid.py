"""users.orcid: a person's ORCID iD (canonical, validated by people.domain.orcid_id)

Revision ID: out10b_01
Revises: trialout10_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "out10b_01"
down_revision = "trialout10_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("orcid", sa.String(19), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("orcid")
