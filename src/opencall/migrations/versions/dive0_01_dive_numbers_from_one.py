"""Dive numbers from 1 in the cruise schedules already stored: before this release the
cruise optimiser numbered a request's dives from 0 in its partial-award explanation
("dive 0 at Site 1" for the first dive), so each stored entry's message parameters (what
the pages say in every language), its English sentence (what the CSV and the API show)
and its run's summary now read as the optimiser writes them (logistics.cruise.dive_number)

Revision ID: dive0_01
Revises: confscale_01
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from opencall.optim.messages import is_message, render

revision = "dive0_01"
down_revision = "confscale_01"

PARTIAL = "berths on leg %(leg)s, %(done)s of %(n)s dives; %(missing)s"
DIVE = "dive %(k)s at %(site)s: %(why)s"


def _shift(missing: Any, by: int) -> tuple[Any, bool]:
    """The partial sentence's list of missing dives with each number moved by ``by``."""
    if not isinstance(missing, list):
        return missing, False
    out, changed = [], False
    for m in missing:
        params = m.get("params") if is_message(m) and m["msg"] == DIVE else None
        if isinstance(params, dict) and isinstance(params.get("k"), int):
            m = {**m, "params": {**params, "k": params["k"] + by}}
            changed = True
        out.append(m)
    return out, changed


def _renumber(by: int) -> None:
    conn = op.get_bind()
    entries = sa.table(
        "schedule_entries",
        sa.column("id", sa.Integer()),
        sa.column("proposal_id", sa.Integer()),
        sa.column("run_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("details", sa.JSON()),
    )
    runs = sa.table("solver_runs", sa.column("id", sa.Integer()), sa.column("summary", sa.JSON()))
    said: dict[int, dict[str, str]] = {}  # run id -> proposal id -> the new sentence
    last = 0
    while True:  # the cruise calls' berth entries, 2,000 at a time
        rows = conn.execute(
            sa.select(entries.c.id, entries.c.proposal_id, entries.c.run_id, entries.c.details)
            .where(entries.c.kind == "berth", entries.c.id > last)
            .order_by(entries.c.id)
            .limit(2000)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        for entry_id, proposal_id, run_id, raw in rows:
            details = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
            params = details.get("detail_params")
            if details.get("detail_msg") != PARTIAL or not isinstance(params, dict):
                continue
            missing, changed = _shift(params.get("missing"), by)
            if not changed:
                continue
            params = {**params, "missing": missing}
            sentence = render({"msg": PARTIAL, "params": params})
            details = {**details, "detail_params": params, "explanation": sentence}
            conn.execute(sa.update(entries).where(entries.c.id == entry_id).values(details=details))
            if run_id is not None:
                said.setdefault(run_id, {})[str(proposal_id)] = sentence
    for run_id, sentences in said.items():
        raw = conn.scalar(sa.select(runs.c.summary).where(runs.c.id == run_id))
        summary = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
        explanations = summary.get("explanations")
        if not isinstance(explanations, dict):
            continue
        known = {k: v for k, v in sentences.items() if k in explanations}
        summary = {**summary, "explanations": {**explanations, **known}}
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(summary=summary))


def upgrade() -> None:
    _renumber(+1)


def downgrade() -> None:
    _renumber(-1)
