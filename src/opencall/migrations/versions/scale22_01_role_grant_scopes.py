"""role_grants: an index on provider_id and one on call_id. The chair's reviewer pool
(the roles held on the call's provider or on any of its calls) and a call's people read
every role of the site's history: no index served either column (scale22)

Revision ID: scale22_01
Revises: trialfac21b_01
"""

from __future__ import annotations

from opencall.migrations.helpers import batch_indexes, drop_batch_indexes

revision = "scale22_01"
down_revision = "trialfac21b_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    batch_indexes("role_grants", "provider_id", "call_id")


def downgrade() -> None:
    drop_batch_indexes("role_grants", "provider_id", "call_id")
