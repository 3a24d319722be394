"""postaward_records.award_id indexed: a call's node pages read the records of its
awards by award, and without an index every record of the site was read.

Revision ID: scale23_01
Revises: trialrev22_01
"""

from __future__ import annotations

from opencall.migrations.helpers import batch_indexes, drop_batch_indexes

revision = "scale23_01"
down_revision = "trialrev22_01"


def upgrade() -> None:
    batch_indexes("postaward_records", "award_id")


def downgrade() -> None:
    drop_batch_indexes("postaward_records", "award_id")
