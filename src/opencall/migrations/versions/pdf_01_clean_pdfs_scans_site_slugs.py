"""clean PDF copies, cached anonymity scans, call slugs unique across the site

Revision ID: pdf_01
Revises: auth_01

Call slugs were unique per provider only, and every route looks a call up by its
slug, so a second provider could shadow a call. A unique index on ``calls.slug``
now forbids that. Existing duplicates are de-duplicated, not refused: the call
created first (lowest id, the one whose URL people know) keeps its slug and each
later one becomes ``<slug>-<provider slug>`` (then ``-2``, ``-3`` ... if taken); every
rename is printed and logged (logger ``alembic.runtime.migration``), so the user
office can tell the affected provider its new URL.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

import opencall.db
from opencall.migrations.helpers import batch_indexes, drop_batch_indexes, named_fks

revision = "pdf_01"
down_revision = "auth_01"

log = logging.getLogger("alembic.runtime.migration")


def _dedupe_slugs() -> list[tuple[int, str, str]]:
    conn = op.get_bind()
    dupes = conn.execute(
        sa.text("SELECT slug FROM calls GROUP BY slug HAVING COUNT(*) > 1 ORDER BY slug")
    ).scalars()
    taken = set(conn.execute(sa.text("SELECT slug FROM calls")).scalars())
    renamed: list[tuple[int, str, str]] = []
    for slug in list(dupes):
        rows = conn.execute(
            sa.text(
                "SELECT c.id, p.slug FROM calls c JOIN providers p ON p.id = c.provider_id "
                "WHERE c.slug = :slug ORDER BY c.id"
            ),
            {"slug": slug},
        ).all()
        for call_id, provider_slug in rows[1:]:
            base = f"{slug}-{provider_slug}"[:80]
            new, n = base, 2
            while new in taken:
                suffix = f"-{n}"
                new, n = base[: 80 - len(suffix)] + suffix, n + 1
            conn.execute(
                sa.text("UPDATE calls SET slug = :new WHERE id = :id"), {"new": new, "id": call_id}
            )
            taken.add(new)
            renamed.append((call_id, slug, new))
    for call_id, old, new in renamed:
        msg = f"pdf_01: call {call_id} shared the slug {old!r} with an older call; renamed {new!r}"
        log.warning(msg)
        print(msg)  # noqa: T201 - the operator must see it
    return renamed


def upgrade() -> None:
    _dedupe_slugs()
    op.create_index("uq_calls_slug", "calls", ["slug"], unique=True)

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clean_storage_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("clean_size", sa.Integer(), nullable=True))

    op.create_table(
        "anonymity_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("findings", sa.JSON().with_variant(sa.JSON(), "postgresql"), nullable=False),
        sa.Column("notes", sa.JSON().with_variant(sa.JSON(), "postgresql"), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", opencall.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", opencall.db.UTCDateTime(timezone=True), nullable=True),
        *named_fks(
            "anonymity_scans",
            attachment_id=("attachments", "SET NULL"),
            proposal_id=("proposals", "CASCADE"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anonymity_scans")),
        sa.UniqueConstraint("proposal_id", "key", name=op.f("uq_anonymity_scans_proposal_id_key")),
    )
    batch_indexes("anonymity_scans", "attachment_id", "proposal_id")


def downgrade() -> None:
    drop_batch_indexes("anonymity_scans", "proposal_id", "attachment_id")
    op.drop_table("anonymity_scans")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("clean_size")
        batch_op.drop_column("clean_storage_key")
    op.drop_index("uq_calls_slug", table_name="calls")
