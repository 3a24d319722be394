"""postaward_records indexed by ``award_id`` (a call's node pages read the records of its
awards by award: without the index every record of the site was read) and by ``(kind,
complete)`` (the daily reminders' open loans: without it every record ever written was
read, ten years of returned loans among them).

Revision ID: scale23_01
Revises: outcomes23_01
"""

from __future__ import annotations

from alembic import op

from opencall.migrations.helpers import batch_indexes, drop_batch_indexes

revision = "scale23_01"
down_revision = "outcomes23_01"


def upgrade() -> None:
    batch_indexes("postaward_records", "award_id")
    with op.batch_alter_table("postaward_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_postaward_records_kind_complete", ["kind", "complete"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("postaward_records", schema=None) as batch_op:
        batch_op.drop_index("ix_postaward_records_kind_complete")
    drop_batch_indexes("postaward_records", "award_id")
