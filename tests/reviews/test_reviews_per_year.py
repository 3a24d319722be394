"""A reviewer's limit per calendar year (trialrev18), beside the limit at once: before,
nothing kept a reviewer from being given more reviews in a year than they agreed to."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.cycle.services import transition_call
from opencall.errors import DomainError
from opencall.reviews import queries as rq
from opencall.reviews import recruitment
from opencall.reviews import services as rv
from tests import factories as F
from tests.review_cycle import Cycle
from tests.reviews.test_recruitment import _accept, _call_in_review
from tests.web.conftest import Web, api_bearer


def test_a_limit_per_year_holds_in_each_call_even_after_the_reviews_are_done(
    db: Session,
) -> None:
    a, props_a = _call_in_review(db, 3)
    b, props_b = _call_in_review(db, 3)
    busy, _ = _accept(db, a, "busy@uni.example")
    ((_inv, raw),) = recruitment.invite(db, b, [busy.email])
    recruitment.respond(db, busy, raw, accept=True)
    other, _ = _accept(db, b, "other@uni.example")
    rv.set_year_limit(db, busy, 2)
    rv.add_assignment(db, a, props_a[0], busy)
    rv.add_assignment(db, a, props_a[1], busy)
    # the first call's review is over: its reviews no longer count at once, but in the year
    transition_call(db, a, "ranking")
    problem, _p, reviewers, params = rv.build_assignment_problem(db, b)
    per = np.broadcast_to(np.asarray(problem.max_load), (len(reviewers),))
    loads = dict(zip([r.id for r in reviewers], per.tolist(), strict=True))
    assert loads[busy.id] == 0 and loads[other.id] == 10
    assert params["year_left"] == {str(busy.id): 0}
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="a year"):
        rv.add_assignment(db, b, props_b[0], busy)
    assert F.table_counts(db) == before
    rv.set_year_limit(db, busy, 3)
    assert rq.year_left(db, b) == {busy.id: 1}
    rv.add_assignment(db, b, props_b[0], busy)


def test_the_year_limit_is_checked_audited_and_lifted(db: Session) -> None:
    u = F.user(db)
    before = F.table_counts(db)
    for bad in (0, -1, 1001):
        with pytest.raises(DomainError, match="between 1 and 1000"):
            rv.set_year_limit(db, u, bad)
    assert F.table_counts(db) == before
    rv.set_year_limit(db, u, 20)
    rv.set_year_limit(db, u, 20)
    rv.set_year_limit(db, u, None)
    assert rq.reviews_this_year(db, reviewer_id=u.id) == {}
    events = db.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "review.year_limit_set")
    ).all()
    assert [(e.data or {}).get("after") for e in events] == [20, None]


def test_the_reviewer_sets_it_through_the_api(web: Web, cycle: Cycle) -> None:
    email = cycle.emails["assigned"]
    headers = api_bearer(web, email, scopes=("review",))
    api = web.client()
    assert api.get("/api/v1/me/review-year", headers=headers).json() == {
        "max_per_year": None,
        "this_year": None,
    }
    r = api.put("/api/v1/me/review-year", headers=headers, json={"max_per_year": 1001})
    assert r.status_code in (400, 422) and "between 1 and 1000" in r.text
    r = api.put("/api/v1/me/review-year", headers=headers, json={"max_per_year": 20})
    assert r.status_code == 200 and r.json()["max_per_year"] == 20
    assert r.json()["this_year"] >= 1
    r = api.put("/api/v1/me/review-year", headers=headers, json={"max_per_year": None})
    assert r.json() == {"max_per_year": None, "this_year": None}
