"""server-side sessions, API token scopes and expiry, login client address,
e-mail throttle, audit MAC

Revision ID: auth_01
Revises: crowd_01
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "auth_01"
down_revision = "crowd_01"


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=30), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        *named_fks("user_sessions", user_id=("users", "CASCADE")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    batch_indexes("user_sessions", "user_id")
    op.create_table(
        "email_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_sends")),
    )
    with op.batch_alter_table("email_sends", schema=None) as batch_op:
        batch_op.create_index("ix_email_sends_email_at", ["email", "at"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        # tokens made before scopes existed keep what they could do
        batch_op.add_column(
            sa.Column(
                "scopes", sa.String(length=100), nullable=False, server_default="read review manage"
            )
        )
        batch_op.add_column(
            sa.Column("expires_at", opencall.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("scopes", server_default=None)
    tokens = sa.table("api_tokens", sa.column("expires_at", opencall.db.UTCDateTime(timezone=True)))
    op.execute(tokens.update().values(expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=90)))
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client", sa.String(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.alter_column("client", server_default=None)
        batch_op.create_index(batch_op.f("ix_login_attempts_client"), ["client"], unique=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("mac")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_client"))
        batch_op.drop_column("client")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scopes")
    with op.batch_alter_table("email_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_email_sends_email_at")
    op.drop_table("email_sends")
    drop_batch_indexes("user_sessions", "user_id")
    op.drop_table("user_sessions")
