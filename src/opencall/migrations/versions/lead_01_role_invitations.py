"""role invitations: roles offered by e-mail, accepted after registering

Revision ID: lead_01
Revises: 3207fae640c7
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

revision = "lead_01"
down_revision = "3207fae640c7"


def upgrade() -> None:
    op.create_table(
        "role_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by"],
            ["users.id"],
            name=op.f("fk_role_invitations_accepted_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_role_invitations_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_role_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_role_invitations_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_role_invitations_token_hash")),
    )
    with op.batch_alter_table("role_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_invitations_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_role_invitations_provider_id"), ["provider_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("role_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_invitations_provider_id"))
        batch_op.drop_index(batch_op.f("ix_role_invitations_email"))
    op.drop_table("role_invitations")
