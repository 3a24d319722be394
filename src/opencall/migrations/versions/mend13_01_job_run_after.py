"""jobs.run_after: a failed job's next attempt waits for its back-off

Revision ID: mend13_01
Revises: trialout13_01
"""

from __future__ import annotations

import sqlalchemy as sa

import opencall.db
from opencall.migrations.helpers import added_columns

revision = "mend13_01"
down_revision = "trialout13_01"


upgrade, downgrade = added_columns(
    "jobs",
    sa.Column("run_after", opencall.db.UTCDateTime(timezone=True), nullable=True),
)
