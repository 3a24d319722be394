"""role invitations: roles offered by e-mail, accepted after registering

Revision ID: lead_01
Revises: 3207fae640c7
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

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
        *named_fks(
            "role_invitations",
            accepted_by=("users", "SET NULL"),
            call_id=("calls", "CASCADE"),
            invited_by=("users", "SET NULL"),
            provider_id=("providers", "CASCADE"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_role_invitations_token_hash")),
    )
    batch_indexes("role_invitations", "email", "provider_id")


def downgrade() -> None:
    drop_batch_indexes("role_invitations", "provider_id", "email")
    op.drop_table("role_invitations")
