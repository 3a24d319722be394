"""The shapes the migrations repeat, written once (dupmig21).

A migration in ``versions/`` imports what it needs from here; each helper emits exactly
the operations the migrations wrote out before, so a revision's schema is unchanged
(``bench/migration_schemas.py`` dumps every revision's schema, up and down, on SQLite and
PostgreSQL, to show it). Keep these stable: a helper changed here changes every old
revision that calls it. A new shape goes in as a new helper; a new migration may call
any of these or write its operations out, as it likes.

Columns (batch mode, so SQLite rebuilds the table where it cannot ``ALTER``; on
PostgreSQL the batch runs plain ``ALTER TABLE``):

- :func:`add_columns` / :func:`drop_columns`: add columns to one table in one batch, or
  drop them by name (in the order given: pass them newest first).
- :func:`added_columns`: a whole migration that only adds columns to one table::

      upgrade, downgrade = added_columns(
          "capacity_pools", sa.Column("items", sa.Integer(), nullable=False, server_default="1")
      )

  ``downgrade`` drops the columns in reverse order.

Tables (names as the metadata's naming convention gives them, ``opencall.db.NAMING_CONVENTION``):

- :func:`named_fks`: foreign keys ``column=referred`` (or ``column=(referred,
  ondelete)``) to ``referred.id``, each named ``fk_<table>_<column>_<referred>``, to
  unpack into ``op.create_table(..., *named_fks(table, call_id="calls"), ...)``.
- :func:`batch_indexes` / :func:`drop_batch_indexes`: the one-column indexes
  ``ix_<table>_<column>`` (not unique) created, or dropped, in one batch.
- :func:`cascade_fk`: the foreign key of ``table.column`` to ``referred.id``, its rows
  deleted with the referred row, named ``fk_<table>_<column>_<referred>``.
- :func:`user_row_table`: a table of one row per user (``user_id`` primary key, deleted
  with the user) holding the given columns and ``updated_at``.
- :func:`sent_reminders_table`: the rows of reminders sent, one per (``owner_id``,
  ``days``) with ``sent_at``.
- :func:`created_index` / :func:`dropped_index`: create or drop an index on one table in
  a batch (``batch.create_index`` / ``batch.drop_index``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from opencall.db import UTCDateTime

__all__ = [
    "add_columns",
    "added_columns",
    "batch_indexes",
    "cascade_fk",
    "created_index",
    "drop_batch_indexes",
    "drop_columns",
    "dropped_index",
    "named_fks",
    "sent_reminders_table",
    "user_row_table",
]


def add_columns(table: str, *columns: sa.Column[Any]) -> None:
    """``op.batch_alter_table(table)`` adding ``columns`` in order (each a fresh copy, so
    a column declared once at module level can be added again after a downgrade)."""
    with op.batch_alter_table(table, schema=None) as batch:
        for column in columns:
            batch.add_column(column._copy())


def drop_columns(table: str, *names: str) -> None:
    """``op.batch_alter_table(table)`` dropping the columns ``names`` in order."""
    with op.batch_alter_table(table, schema=None) as batch:
        for name in names:
            batch.drop_column(name)


def added_columns(
    table: str, *columns: sa.Column[Any]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """The ``upgrade`` and ``downgrade`` of a migration that only adds ``columns`` to
    ``table``: the upgrade adds them in order, the downgrade drops them newest first."""

    def upgrade() -> None:
        add_columns(table, *columns)

    def downgrade() -> None:
        drop_columns(table, *reversed([column.name for column in columns]))

    return upgrade, downgrade


def cascade_fk(
    table: str, column: str, referred: str, *, named: bool = True
) -> sa.ForeignKeyConstraint:
    """``table.column`` refers to ``referred.id``, deleted with it; the constraint named
    ``fk_<table>_<column>_<referred>`` (``named=False``: left to the naming convention,
    which gives the same name)."""
    name = op.f(f"fk_{table}_{column}_{referred}") if named else None
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=name, ondelete="CASCADE")


def user_row_table(table: str, *columns: sa.Column[Any]) -> None:
    """Create ``table``: one row per user (``user_id``, its primary key, deleted with the
    user), ``columns``, then ``updated_at``."""
    op.create_table(
        table,
        sa.Column("user_id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        cascade_fk(table, "user_id", "users", named=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def sent_reminders_table(
    table: str, owner: str, referred: str, *, ondelete: str | None = None
) -> None:
    """Create ``table``: the reminders sent, one row per (``owner``, ``days``) with
    ``sent_at``; ``owner`` refers to ``referred.id`` (``ondelete`` as given)."""
    op.create_table(
        table,
        sa.Column(owner, sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint([owner], [f"{referred}.id"], ondelete=ondelete),
        sa.PrimaryKeyConstraint(owner, "days"),
    )


def created_index(table: str, name: str, columns: Sequence[str], *, unique: bool = False) -> None:
    """``batch.create_index(name, columns, unique=unique)`` on ``table``."""
    with op.batch_alter_table(table, schema=None) as batch:
        batch.create_index(name, list(columns), unique=unique)


def dropped_index(table: str, name: str) -> None:
    """``batch.drop_index(name)`` on ``table``."""
    with op.batch_alter_table(table, schema=None) as batch:
        batch.drop_index(name)


def named_fks(table: str, **refs: str | tuple[str, str]) -> list[sa.ForeignKeyConstraint]:
    """A foreign key per keyword, in order: ``column="referred"`` refers to
    ``referred.id``, ``column=("referred", "CASCADE")`` with that ``ondelete``; each named
    ``fk_<table>_<column>_<referred>`` (``op.f``: the name taken as it is)."""
    out = []
    for column, ref in refs.items():
        referred, ondelete = (ref, None) if isinstance(ref, str) else ref
        name = op.f(f"fk_{table}_{column}_{referred}")
        fk = sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=name, ondelete=ondelete)
        out.append(fk)
    return out


def batch_indexes(table: str, *columns: str) -> None:
    """In one batch on ``table``, an index ``ix_<table>_<column>`` (not unique) on each
    of ``columns``, in order."""
    with op.batch_alter_table(table, schema=None) as batch:
        for column in columns:
            batch.create_index(batch.f(f"ix_{table}_{column}"), [column], unique=False)


def drop_batch_indexes(table: str, *columns: str) -> None:
    """In one batch on ``table``, drop the indexes ``ix_<table>_<column>`` of
    ``columns``, in order."""
    with op.batch_alter_table(table, schema=None) as batch:
        for column in columns:
            batch.drop_index(batch.f(f"ix_{table}_{column}"))
