"""call_partners: a provider invited into another provider's call (a joint call)

Revision ID: trialfac12_01
Revises: msgid11_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

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
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_call_partners_call_id_calls"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_call_partners_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_call_partners_invited_by_users"),
            ondelete="SET NULL",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["accepted_by"],
            ["users.id"],
            name=op.f("fk_call_partners_accepted_by_users"),
            ondelete="SET NULL",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_partners")),
        sa.UniqueConstraint(
            "call_id", "provider_id", name=op.f("uq_call_partners_call_id_provider_id")
        ),
    )
    with op.batch_alter_table("call_partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_partners_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_call_partners_provider_id"), ["provider_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("call_partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_partners_provider_id"))
        batch_op.drop_index(batch_op.f("ix_call_partners_call_id"))
    op.drop_table("call_partners")
