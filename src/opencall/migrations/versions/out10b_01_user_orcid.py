"""users.orcid: a person's ORCID iD (canonical, validated by people.domain.orcid_id)

Revision ID: out10b_01
Revises: trialout10_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "out10b_01"
down_revision = "trialout10_01"


upgrade, downgrade = added_columns(
    "users",
    sa.Column("orcid", sa.String(19), nullable=True),
)
