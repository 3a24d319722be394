"""call_partners: a provider invited into another provider's call (a joint call)

Revision ID: trialfac12_01
Revises: msgid11_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "trialfac12_01"
down_revision = "msgid11_01"


def upgrade() -> None:
    op.create_table(
        "call_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("invited_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("accepted_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        *named_fks(
            "call_partners",
            call_id=("calls", "CASCADE"),
            provider_id="providers",
            invited_by=("users", "SET NULL"),
            accepted_by=("users", "SET NULL"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_partners")),
        sa.UniqueConstraint(
            "call_id", "provider_id", name=op.f("uq_call_partners_call_id_provider_id")
        ),
    )
    batch_indexes("call_partners", "call_id", "provider_id")


def downgrade() -> None:
    drop_batch_indexes("call_partners", "provider_id", "call_id")
    op.drop_table("call_partners")
