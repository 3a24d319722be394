"""reviews.grade and reviews.confidence nullable: a draft is kept before it has them

Revision ID: trialrev14_01
Revises: mend13_01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trialrev14_01"
down_revision = "mend13_01"


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.alter_column("grade", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("confidence", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # only drafts lack them (a submitted review always has both): the schema before kept
    # a draft's confidence at 3 when none was chosen, and has no "no grade", so a draft
    # without one gets 0, a draft's value that counts nowhere (the reviewer changes it
    # before submitting; outside the call's scale it is refused)
    op.execute("UPDATE reviews SET confidence = 3 WHERE confidence IS NULL")
    op.execute("UPDATE reviews SET grade = 0 WHERE grade IS NULL")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.alter_column("confidence", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("grade", existing_type=sa.Float(), nullable=False)
