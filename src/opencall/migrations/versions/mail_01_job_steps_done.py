"""job_steps_done: a batch job's progress, one row a step (a mail sent)

Revision ID: mail_01
Revises: res_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import named_fks

revision = "mail_01"
down_revision = "res_01"


def upgrade() -> None:
    op.create_table(
        "job_steps_done",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("done_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks("job_steps_done", job_id=("jobs", "CASCADE")),
        sa.PrimaryKeyConstraint("job_id", "key", name=op.f("pk_job_steps_done")),
    )


def downgrade() -> None:
    op.drop_table("job_steps_done")
