"""research_outputs.number (a patent's publication number, results.domain.patent_number)
and research_outputs.orcids (the ORCID iDs of a result's authors, canonical)

Revision ID: trialout11_01
Revises: trialfac11_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trialout11_01"
down_revision = "trialfac11_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("research_outputs") as batch:
        batch.add_column(sa.Column("number", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("orcids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("research_outputs") as batch:
        batch.drop_column("orcids")
        batch.drop_column("number")
