"""research_outputs.retracted_on and research_outputs.retraction_note: a result
retracted or withdrawn after it was linked (a paper retracted by its journal, a dataset
withdrawn) is kept on the award's page, marked, and no longer counted
(results.services.retract_output)

Revision ID: trialout13_01
Revises: trialfac12_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "trialout13_01"
down_revision = "trialfac12_01"


upgrade, downgrade = added_columns(
    "research_outputs",
    sa.Column("retracted_on", sa.Date(), nullable=True),
    sa.Column("retraction_note", sa.Text(), nullable=False, server_default=""),
)
