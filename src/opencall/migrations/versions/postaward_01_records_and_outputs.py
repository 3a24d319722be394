"""post-award records and research outputs

Revision ID: postaward_01
Revises: pdf_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "postaward_01"
down_revision = "pdf_01"

JSON = sa.JSON().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "postaward_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_reminded_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks(
            "postaward_records",
            award_id="awards",
            call_id="calls",
            created_by="users",
            proposal_id="proposals",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postaward_records")),
    )
    batch_indexes("postaward_records", "call_id", "proposal_id")
    op.create_table(
        "research_outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("doi", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("authors", JSON, nullable=False),
        sa.Column("countries", JSON, nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("acknowledgement", sa.Text(), nullable=False),
        sa.Column("acknowledges", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        *named_fks(
            "research_outputs", call_id="calls", created_by="users", proposal_id="proposals"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_outputs")),
    )
    batch_indexes("research_outputs", "call_id", "proposal_id")


def downgrade() -> None:
    drop_batch_indexes("research_outputs", "proposal_id", "call_id")
    op.drop_table("research_outputs")
    drop_batch_indexes("postaward_records", "proposal_id", "call_id")
    op.drop_table("postaward_records")
