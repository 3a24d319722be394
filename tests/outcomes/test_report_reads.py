"""What the outcomes report reads: columns and grouped figures, not whole ORM rows.

At the demo's scale 5 (1,110 proposals, 450 reviewers) one uncached view of a call's
report returned 33,269 rows and peaked at 205 MiB of Python allocations: the submitted
reviews were read three times as (assignment, review) ORM pairs, the reviewer-effects
groups loaded every reviewed proposal whole (with its team, requests and attachments,
to find its PI) and every reviewer whole, and the earlier cycles of the facility were
read twice (once for the trend, once for the after-award section). Counted here as ORM
instances loaded and statements run, never as time."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.db import Base
from opencall.outcomes import queries as oq
from tests.test_pipeline import _cycle

#: entities of which a call has one or more per proposal or per review
PER_ROW = {
    "Proposal",
    "TeamMember",
    "Request",
    "Attachment",
    "ReviewAssignment",
    "Review",
    "User",
    "TechnicalReview",
    "RankedProposal",
    "Decision",
    "Award",
    "ScheduleEntry",
}


@pytest.fixture
def run_call(demo: Any) -> Iterator[tuple[Session, Call]]:
    """The demo world of seed 2 at scale 0.12 with its trench call run to the schedule
    (reviews, calibration, allocation)."""
    with demo(2, 0.12)() as s:
        call = _cycle(s, "trench-2027")
        s.flush()
        yield s, call


def _reading(s: Session, call: Call) -> tuple[dict[str, Any], Counter[str], list[str]]:
    loads: Counter[str] = Counter()
    statements: list[str] = []

    def on_load(target: Any, _ctx: Any) -> None:
        loads[type(target).__name__] += 1

    def before(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = s.get_bind()
    event.listen(Base, "load", on_load, propagate=True)
    event.listen(engine, "before_cursor_execute", before)
    try:
        data = oq.report(s, call)
    finally:
        event.remove(Base, "load", on_load)
        event.remove(engine, "before_cursor_execute", before)
    return data, loads, statements


def test_the_report_loads_no_orm_row_per_proposal_or_review(
    run_call: tuple[Session, Call],
) -> None:
    s, call = run_call
    s.expunge_all()  # nothing already in the identity map
    call = s.get(Call, call.id)
    assert call is not None
    data, loads, _statements = _reading(s, call)
    assert data["reviewer_effects"]["n_reviews"] > 10  # the reviews are in the report
    assert data["n_applications"] >= 5
    whole = {k: v for k, v in loads.items() if k in PER_ROW}
    assert not whole, whole


def test_the_report_reads_the_reviews_and_each_cycle_once(
    run_call: tuple[Session, Call],
) -> None:
    s, call = run_call
    # an earlier cycle of the same facility, released: the trend and the after-award
    # section both show it
    year = dt.timedelta(days=365)
    columns = {a.key: getattr(call, a.key) for a in inspect(Call).column_attrs if a.key != "id"}
    columns.update(
        slug=call.slug + "-before",
        code=call.code + "B",
        cycle="earlier",
        opens_at=call.opens_at - year,
        closes_at=call.closes_at - year,
        decisions_released_at=call.closes_at - year,
        status="published",
    )
    s.add(Call(**columns))
    s.flush()
    data, _loads, statements = _reading(s, call)
    assert len(data["trend"]) >= 2
    # the grades of the submitted reviews (the cross-tables and the reviewer effects)
    reviews = [x for x in statements if "reviews.grade" in x.split(" FROM ")[0]]
    assert len(reviews) == 1, reviews
    # each cycle's decisions are read once (its applicant records)
    decisions = [x for x in statements if x.startswith("SELECT decisions.proposal_id")]
    assert len(decisions) == 2, decisions
    # the PIs' countries once a cycle (the records), the reviewers' once (the cross-tables
    # and the reviewer effects share them), and the reviewed proposals one row each
    pis = [x for x in statements if x.startswith("SELECT team_members.proposal_id")]
    assert len(pis) == 2, pis
    users = [x for x in statements if " FROM users " in x + " "]
    assert len(users) == 1, users
    pairs = [x for x in statements if "review_assignments.reviewer_id" in x.split(" FROM ")[0]]
    assert len(pairs) == 1, pairs  # the grades; the reviewed flag reads DISTINCT proposals


def test_the_public_awarded_list_loads_no_decision_or_award_row(web: Any, factory: Any) -> None:
    """The public list of awarded programmes loaded every decision of the call (awarded
    or not) and every (award, pool) pair as ORM rows for a priority and a unit: now the
    columns (the page itself is unchanged)."""
    from tests.scale.test_results_page_queries import published

    data = published(factory, 6)
    loads: Counter[str] = Counter()

    def on_load(target: Any, _ctx: Any) -> None:
        loads[type(target).__name__] += 1

    c = web.client()
    path = f"/calls/{data['slug']}/awarded"
    c.get(path)
    event.listen(Base, "load", on_load, propagate=True)
    try:
        r = c.get(path)
    finally:
        event.remove(Base, "load", on_load)
    assert r.status_code == 200
    assert r.text.count("<tr") > 2  # the awarded programmes are listed
    whole = {k: v for k, v in loads.items() if k in PER_ROW}
    assert not whole, whole
