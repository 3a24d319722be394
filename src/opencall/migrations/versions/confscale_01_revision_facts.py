"""revision_facts: what the team of each submitted revision is known by (e-mails,
institution ids, institution name keys, name keys), one row a fact with an index on
(kind, value), so that a person's possible conflicts in a call are found in the
database; filled here for the revisions already stored

Revision ID: confscale_01
Revises: rolling_01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from opencall.proposals.domain import revision_facts

revision = "confscale_01"
down_revision = "rolling_01"


def upgrade() -> None:
    facts = op.create_table(
        "revision_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["revision_id"], ["proposal_revisions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("revision_id", "kind", "value"),
    )
    op.create_index("ix_revision_facts_kind_value", "revision_facts", ["kind", "value"])
    conn = op.get_bind()
    revisions = sa.table(
        "proposal_revisions", sa.column("id", sa.Integer()), sa.column("content", sa.Text())
    )
    last = 0
    while True:  # the revisions already stored, 2,000 at a time
        rows = conn.execute(
            sa.select(revisions.c.id, revisions.c.content)
            .where(revisions.c.id > last)
            .order_by(revisions.c.id)
            .limit(2000)
        ).all()
        if not rows:
            break
        batch = []
        for rev_id, content in rows:
            doc = json.loads(content) if isinstance(content, str) else content
            for kind, value in sorted(revision_facts(doc or {})):
                batch.append({"revision_id": rev_id, "kind": kind, "value": value})
        if batch:
            conn.execute(sa.insert(facts), batch)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_revision_facts_kind_value", table_name="revision_facts")
    op.drop_table("revision_facts")
