"""decisions.explanation_msg: a decision's explanation as message ids and parameters

Revision ID: msgid11_01
Revises: trialout11_01
"""

from __future__ import annotations

import sqlalchemy as sa

from opencall.migrations.helpers import added_columns

revision = "msgid11_01"
down_revision = "trialout11_01"


upgrade, downgrade = added_columns(
    "decisions",
    sa.Column("explanation_msg", sa.JSON(), nullable=True),
)
