"""pool_unavailability.lost_item and .lost_record_id: a lost item's period keeps the item
and the loan record that said it lost, so that its reason is said in the reader's
language and a corrected day moves it (trialop19b). The periods trialop19 stored with the
English reason "<item> lost" (an audited ``pool.item_lost`` of the same resource and
item) become data; the downgrade writes the English reason back.

Revision ID: trialop19b_01
Revises: outcomes19_01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "trialop19b_01"
down_revision = "outcomes19_01"

_FK = "fk_pool_unavailability_lost_record_id_postaward_records"
_IX = "ix_pool_unavailability_lost_record_id"
_U = sa.table(
    "pool_unavailability",
    *(sa.column(c, sa.Integer) for c in ("id", "pool_id")),
    *(sa.column(c, sa.String) for c in ("reason", "lost_item")),
)
_A = sa.table(
    "audit_events", *(sa.column(c, sa.String) for c in ("action", "entity", "entity_id", "data"))
)


def upgrade() -> None:
    fk = sa.ForeignKey("postaward_records.id", name=_FK, ondelete="SET NULL")
    with op.batch_alter_table("pool_unavailability") as batch:
        batch.add_column(sa.Column("lost_item", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("lost_record_id", sa.Integer(), fk, nullable=True))
        batch.create_index(_IX, ["lost_record_id"])
    bind = op.get_bind()
    lost: set[tuple[int, str]] = set()
    for entity_id, data in bind.execute(
        sa.select(_A.c.entity_id, sa.cast(_A.c.data, sa.Text)).where(
            _A.c.action == "pool.item_lost", _A.c.entity == "capacity_pool"
        )
    ):
        said = json.loads(data) if isinstance(data, str) else (data or {})
        if str(said.get("item") or "") and str(entity_id).isdigit():
            lost.add((int(entity_id), str(said["item"])))
    for pool_id, item in lost:
        bind.execute(
            _U.update()
            .where(_U.c.pool_id == pool_id, _U.c.reason == f"{item} lost"[:200])
            .values(reason="", lost_item=item)
        )


def downgrade() -> None:
    bind = op.get_bind()
    for uid, item in bind.execute(sa.select(_U.c.id, _U.c.lost_item).where(_U.c.lost_item != "")):
        bind.execute(_U.update().where(_U.c.id == uid).values(reason=f"{item} lost"[:200]))
    with op.batch_alter_table("pool_unavailability") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.drop_index(_IX)
        batch.drop_column("lost_record_id")
        batch.drop_column("lost_item")
