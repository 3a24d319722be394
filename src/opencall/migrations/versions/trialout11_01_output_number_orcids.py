"""research_outputs.number (a patent's publication number, results.domain.patent_number)
and research_outputs.orcids (the ORCID iDs of a result's authors, canonical)

Revision ID: trialout11_01
Revises: trialfac11_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "trialout11_01"
down_revision = "trialfac11_01"


upgrade, downgrade = added_columns(
    "research_outputs",
    sa.Column("number", sa.String(40), nullable=False, server_default=""),
    sa.Column("orcids", sa.JSON(), nullable=False, server_default="[]"),
)
