"""research_outputs.retracted_on and research_outputs.retraction_note: a result
retracted or withdrawn after it was linked (a paper retracted by its journal, a dataset
withdrawn) is kept on the award's page, marked, and no longer counted
(results.services.retract_output)

Revision ID: trialout13_01
Revises: trialfac12_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trialout13_01"
down_revision = "trialfac12_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("research_outputs") as batch:
        batch.add_column(sa.Column("retracted_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("retraction_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("research_outputs") as batch:
        batch.drop_column("retraction_note")
        batch.drop_column("retracted_on")
