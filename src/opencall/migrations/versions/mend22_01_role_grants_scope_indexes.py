"""role_grants: indexes on provider_id and call_id. The provider's reviewer pool (the
recruitment page, ``GET /api/v1/calls/<slug>/reviewer-pool``) reads the reviewing grants
on the provider and on its calls; no index served either, and every role grant of the
site was read for a page of the pool (mend22)

Revision ID: mend22_01
Revises: trialfac21b_01
"""

from __future__ import annotations

from opencall.migrations.helpers import batch_indexes, drop_batch_indexes

revision = "mend22_01"
down_revision = "trialfac21b_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    batch_indexes("role_grants", "provider_id", "call_id")


def downgrade() -> None:
    drop_batch_indexes("role_grants", "call_id", "provider_id")
