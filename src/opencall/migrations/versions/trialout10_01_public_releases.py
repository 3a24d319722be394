"""public releases: what each release of a call's public after-award page published

Revision ID: trialout10_01
Revises: trialcrowd10_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "trialout10_01"
down_revision = "trialcrowd10_01"

JSON = sa.JSON().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "public_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("page", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks("public_releases", call_id="calls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_releases")),
        sa.UniqueConstraint(
            "call_id", "page", "number", name=op.f("uq_public_releases_call_id_page_number")
        ),
    )
    batch_indexes("public_releases", "call_id")


def downgrade() -> None:
    drop_batch_indexes("public_releases", "call_id")
    op.drop_table("public_releases")
