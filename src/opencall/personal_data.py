"""One person's data, for their request to see what the site holds about them (a data
subject's access request; trialop21): every row of every table that refers to their
account, and the team rows that name their e-mail before they had one.

Read from the tables' foreign keys (``opencall.models.metadata``), not from a list kept
by hand, so a table added later that refers to ``users.id`` is in the export without a
change here. Secrets are left out (password and token hashes); what the person wrote and
what others recorded about them (reviews, conflicts, decisions they took, the audit
events they caused) is in."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from opencall.models import metadata

#: columns never exported: they let whoever holds them sign in or check a guess
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})


def _value(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal | uuid.UUID):
        return str(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    return v


def _conditions(table: Table, user_id: int, email: str) -> list[Any]:
    if table.name == "users":
        return [table.c.id == user_id]
    conds: list[Any] = [
        fk.parent == user_id
        for fk in table.foreign_keys
        if fk.column.table.name == "users" and fk.column.name == "id"
    ]
    if "email" in table.c:  # a team member invited by e-mail, before any account
        conds.append(func.lower(table.c.email) == email.lower())
    return conds


def person_data(session: Session, user_id: int, email: str) -> dict[str, list[dict[str, Any]]]:
    """Table name -> the rows about the person (columns by name, JSON-ready values, secrets
    left out), tables without any row left out; in the metadata's order (parents first)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        conds = _conditions(table, user_id, email)
        if not conds:
            continue
        stmt = select(table).where(or_(*conds)).order_by(*table.primary_key.columns)
        rows = [
            {k: _value(v) for k, v in row.items() if k not in SECRET_COLUMNS}
            for row in session.execute(stmt).mappings()
        ]
        if rows:
            out[table.name] = rows
    return out
