"""capacity_pools.whole_units: an operator-named unit counted in whole numbers only

Revision ID: res_02
Revises: mail_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "res_02"
down_revision = "mail_01"


upgrade, downgrade = added_columns(
    "capacity_pools",
    sa.Column("whole_units", sa.Boolean(), nullable=False, server_default=sa.false()),
)
