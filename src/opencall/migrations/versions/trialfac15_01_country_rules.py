"""capacity_pools.country_rules (who a resource may go to, by the PI's country: the
countries it cannot go to, an export permit or an entry visa refused, and the days its
first day must lie ahead of the allocation for a team of each country, a permit's or a
visa's lead time; empty: no rule)

Revision ID: trialfac15_01
Revises: trialrev15_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "trialfac15_01"
down_revision = "trialrev15_01"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("country_rules", sa.JSON(), nullable=False, server_default="{}"),
)
