"""team_members: an index on (status, email). The applicant's dashboard lists the
invitations waiting for the reader's address (status "invited", the address or its
aliases by LIKE); no index served it and every team member of the site's history was
read. The address's operators are PostgreSQL's pattern ones, so that the LIKE on its
prefix ("pi@x.org", "pi+%@x.org") is a range of the index in any collation (scale21)

Revision ID: scale21_01
Revises: trialop21b_01
"""

from __future__ import annotations

from alembic import op

revision = "scale21_01"
down_revision = "trialop21b_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_team_members_status_email",
            ["status", "email"],
            unique=False,
            postgresql_ops={"email": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index("ix_team_members_status_email")
