"""post-award records and research outputs

Revision ID: postaward_01
Revises: pdf_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import opencall.db

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
        sa.ForeignKeyConstraint(
            ["award_id"], ["awards.id"], name=op.f("fk_postaward_records_award_id_awards")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_postaward_records_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_postaward_records_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_postaward_records_proposal_id_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postaward_records")),
    )
    with op.batch_alter_table("postaward_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postaward_records_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_postaward_records_proposal_id"), ["proposal_id"], unique=False
        )
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
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_research_outputs_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_research_outputs_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_research_outputs_proposal_id_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_outputs")),
    )
    with op.batch_alter_table("research_outputs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_research_outputs_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_research_outputs_proposal_id"), ["proposal_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("research_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_outputs_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_research_outputs_call_id"))
    op.drop_table("research_outputs")
    with op.batch_alter_table("postaward_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postaward_records_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_postaward_records_call_id"))
    op.drop_table("postaward_records")
