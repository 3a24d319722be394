"""postaward_records.used and postaward_records.complete: whether a record's use
happened and is over (results.domain.is_used and is_complete of its kind and data),
kept on every write so that the stages of a facility's cycles are read from two small
columns rather than every record's JSON; the rows there are filled in here

Revision ID: outscale14_01
Revises: trialrev14_01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "outscale14_01"
down_revision = "trialrev14_01"

#: records read and written back at a time
BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("postaward_records") as batch:
        batch.add_column(sa.Column("used", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    backfill(op.get_bind())


def backfill(conn: Any) -> None:
    """Each existing record's flags from its kind and data (both false is the default:
    only the rows with a true one are written)."""
    from opencall.results import domain as d

    t = sa.table(
        "postaward_records",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("data", sa.JSON),
        sa.column("used", sa.Boolean),
        sa.column("complete", sa.Boolean),
    )
    set_flags = (
        t.update()
        .where(t.c.id == sa.bindparam("rid"))
        .values(used=sa.bindparam("u"), complete=sa.bindparam("c"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(t.c.id, t.c.kind, t.c.data).where(t.c.id > last).order_by(t.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        flags = [
            {"rid": rid, "u": d.is_used(kind, data or {}), "c": d.is_complete(kind, data or {})}
            for rid, kind, data in rows
        ]
        changed = [f for f in flags if f["u"] or f["c"]]
        if changed:
            conn.execute(set_flags, changed)


def downgrade() -> None:
    with op.batch_alter_table("postaward_records") as batch:
        batch.drop_column("complete")
        batch.drop_column("used")
