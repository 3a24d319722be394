"""The review, allocation and scheduling jobs, run through the job queue, issue
the same number of SQL statements (INSERTs aside: how the unit of work batches
them is the driver's business) whatever the number of proposals: no per-row
query loops. The demo world is built at two sizes, each on its own database."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import event

from opencall import jobs
from opencall.app import build_registry
from opencall.calls.queries import call_by_slug
from opencall.cycle.services import transition_call
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import world
from opencall.demo.simulate import simulate_reviews
from opencall.proposals.services import close_call
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.settings import Settings

ANCHOR = dt.date(2026, 11, 29)
STEPS = [
    "review.conflicts",
    "review.affinity",
    "review.assign",
    "review.calibrate",
    "allocation.run",
    "schedule.run",
]


def cycle_statements(template: Path, tmp: Path, scale: float, slug: str) -> dict[str, Any]:
    db = tmp / f"world-{scale}.sqlite3"
    shutil.copy(template, db)
    engine = make_engine(f"sqlite:///{db}")
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=f"sqlite:///{db}", mail_dir=tmp / "mail", upload_dir=tmp)
    registry = build_registry(settings)
    out: dict[str, Any] = {}
    with factory() as s:
        world.build(s, seed=2, anchor=ANCHOR, scale=scale)
        call = call_by_slug(s, slug)
        assert call is not None
        if call.status == "open":
            close_call(s, call, reason="test")
        transition_call(s, call, "review")
        out["proposals"] = len(rq.proposals_for_review(s, call))
        call_id = call.id
        s.commit()
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if not re.match(r"\s*INSERT\b", statement, re.I):
            seen.append(statement)

    for kind in STEPS:
        with factory() as s:
            call = call_by_slug(s, slug)
            assert call is not None
            if kind == "review.calibrate":
                # the demo's stand-in for reviewers, through rv.submit_reviews: counted too
                seen.clear()
                event.listen(engine, "before_cursor_execute", count)
                try:
                    out["reviews"] = simulate_reviews(s, call, seed=0)
                    s.flush()
                finally:
                    event.remove(engine, "before_cursor_execute", count)
                out["simulated reviews"] = len(seen)
            if kind == "allocation.run":
                transition_call(s, call, "ranking")
                rv.freeze_ranking(s, call)
                transition_call(s, call, "allocation")
            if kind == "schedule.run":
                transition_call(s, call, "scheduling")
            payload: dict[str, Any] = {"call_id": call_id, "seed": 0}
            if kind == "schedule.run":
                payload["days"] = 60
            jobs.enqueue(s, kind, payload)
            s.commit()
        while jobs.run_one(factory, registry, ["mail"]) is not None:
            pass  # e-mails queued by the step before (invitations to review)
        seen.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            job = jobs.run_one(factory, registry, [kind])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert job is not None and job.kind == kind
        assert job.status == "done", (kind, job.error)
        out[kind] = len(seen)
    engine.dispose()
    return out


def test_job_statements_do_not_grow_with_the_proposals(
    sqlite_template: Path, tmp_path: Path
) -> None:
    small = cycle_statements(sqlite_template, tmp_path, 0.05, "fast-2027")
    big = cycle_statements(sqlite_template, tmp_path, 0.15, "fast-2027")
    assert big["proposals"] >= 2 * small["proposals"] >= 20
    assert big["reviews"] >= 2 * small["reviews"]
    for kind in [*STEPS, "simulated reviews"]:
        assert big[kind] <= small[kind], (kind, small, big)
