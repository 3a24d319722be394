"""opencall.migrations.helpers emits what the migrations wrote out before (dupmig21).

The whole history is checked by ``bench/migration_schemas.py`` (every revision's schema,
up and down, on both backends, byte for byte before and after); these check the helpers
alone, on SQLite, in a fresh in-memory database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from alembic import op
from alembic.migration import MigrationContext
from alembic.operations import Operations

from opencall.db import NAMING_CONVENTION, UTCDateTime
from opencall.migrations import helpers


@pytest.fixture
def migrating() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Runs a function of ``op`` calls as a migration would, on one connection."""
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE calls (id INTEGER PRIMARY KEY)")
        ctx = MigrationContext.configure(
            conn, opts={"target_metadata": sa.MetaData(naming_convention=NAMING_CONVENTION)}
        )

        def run(step: Callable[[], None]) -> None:
            with Operations.context(ctx):
                step()

        run.conn = conn  # type: ignore[attr-defined]
        yield run
    engine.dispose()


def _sql(conn: sa.Connection, table: str) -> list[str]:
    """The stored CREATE text of ``table`` and its indexes, ``table`` renamed to T."""
    rows = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
        "ORDER BY type DESC, name",
        (table,),
    )
    return [r[0].replace(table, "T") for r in rows]


def test_added_columns_can_be_added_again_after_their_downgrade(migrating) -> None:
    """The columns are declared once, at module level; an upgrade after a downgrade in
    the same process (tests/test_migrations.py does it) adds them again."""
    upgrade, downgrade = helpers.added_columns(
        "users",
        sa.Column("orcid", sa.String(19), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False, server_default="1"),
    )
    migrating(upgrade)
    migrating(downgrade)
    migrating(upgrade)
    cols = [c["name"] for c in sa.inspect(migrating.conn).get_columns("users")]
    assert cols == ["id", "orcid", "items"]
    migrating(downgrade)
    assert [c["name"] for c in sa.inspect(migrating.conn).get_columns("users")] == ["id"]


def test_a_table_made_with_the_helpers_equals_the_one_written_out(migrating) -> None:
    def written_out() -> None:
        op.create_table(
            "written_one",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("call_id", sa.Integer(), nullable=False),
            sa.Column("created_by", sa.Integer(), nullable=True),
            sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["call_id"],
                ["calls.id"],
                name=op.f("fk_written_one_call_id_calls"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["created_by"], ["users.id"], name=op.f("fk_written_one_created_by_users")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_written_one")),
        )
        with op.batch_alter_table("written_one", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_written_one_call_id"), ["call_id"], unique=False)
            batch_op.create_index(
                batch_op.f("ix_written_one_created_by"), ["created_by"], unique=False
            )

    def with_helpers() -> None:
        op.create_table(
            "helped_one",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("call_id", sa.Integer(), nullable=False),
            sa.Column("created_by", sa.Integer(), nullable=True),
            sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
            *helpers.named_fks("helped_one", call_id=("calls", "CASCADE"), created_by="users"),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_helped_one")),
        )
        helpers.batch_indexes("helped_one", "call_id", "created_by")

    migrating(written_out)
    migrating(with_helpers)
    written, helped = _sql(migrating.conn, "written_one"), _sql(migrating.conn, "helped_one")
    assert len(written) == 3 and "ON DELETE CASCADE" in written[0]
    assert helped == written
    migrating(lambda: helpers.drop_batch_indexes("helped_one", "created_by", "call_id"))
    assert len(_sql(migrating.conn, "helped_one")) == 1


def test_user_row_and_reminder_tables_equal_the_ones_written_out(migrating) -> None:
    def written_out() -> None:
        op.create_table(
            "written_one",
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("max_at_once", sa.Integer(), nullable=False),
            sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("user_id"),
        )
        op.create_table(
            "written_two",
            sa.Column("call_id", sa.Integer(), nullable=False),
            sa.Column("days", sa.Integer(), nullable=False),
            sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
            sa.PrimaryKeyConstraint("call_id", "days"),
        )

    def with_helpers() -> None:
        helpers.user_row_table("helped_one", sa.Column("max_at_once", sa.Integer(), nullable=False))
        helpers.sent_reminders_table("helped_two", "call_id", "calls")

    migrating(written_out)
    migrating(with_helpers)
    conn = migrating.conn
    assert _sql(conn, "helped_one") == _sql(conn, "written_one")
    assert _sql(conn, "helped_two") == _sql(conn, "written_two")
