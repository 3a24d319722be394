"""A reviewer's own limit on the proposals they review at once, across every call
(trialrev17): before, a reviewer's load was counted per call only, so a reviewer of three
calls in review at once could be given the call's maximum in each."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.cycle.services import transition_call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import recruitment
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict, ReviewerLoadLimit
from tests import factories as F
from tests.review_cycle import Cycle
from tests.reviews.test_recruitment import _accept, _call_in_review
from tests.web.conftest import Web, api_bearer, csrf


def _also_accepts(db: Session, call, user) -> None:  # noqa: ANN001
    ((_inv, raw),) = recruitment.invite(db, call, [user.email])
    recruitment.respond(db, user, raw, accept=True)


def test_a_limit_across_calls_holds_in_each_call(db: Session) -> None:
    a, props_a = _call_in_review(db, 3)
    b, props_b = _call_in_review(db, 3)
    busy, _ = _accept(db, a, "busy@uni.example")
    _also_accepts(db, b, busy)
    other, _ = _accept(db, b, "other@uni.example")
    rv.set_load_limit(db, busy, 2)
    first = rv.add_assignment(db, a, props_a[0], busy)
    rv.add_assignment(db, a, props_a[1], busy)
    # the other call's optimiser sees no room left for them (the call's maximum is 10)
    problem, _p, reviewers, params = rv.build_assignment_problem(db, b)
    per = np.broadcast_to(np.asarray(problem.max_load), (len(reviewers),))
    loads = dict(zip([r.id for r in reviewers], per.tolist(), strict=True))
    assert loads[busy.id] == 0 and loads[other.id] == 10
    assert params["load_left"] == {str(busy.id): 0}
    # nor may the chair give them one by hand, in that call or in the first: nothing changes
    before = F.table_counts(db)
    for call, p in ((b, props_b[0]), (a, props_a[2])):
        with pytest.raises(DomainError, match="at once across calls"):
            rv.add_assignment(db, call, p, busy)
    assert F.table_counts(db) == before
    # the automatic assignment gives them nothing in the second call
    rv.compute_conflicts(db, b)
    rv.run_affinity(db, b)
    b.review_settings = {**b.review_settings, "reviewers_per_proposal": 1}
    rv.run_assignment(db, b)
    assert all(x.reviewer_id != busy.id for x in rq.assignments_of_call(db, b))
    # a proposal declined frees a place; a call whose review is over counts no more
    rv.respond_to_assignment(db, first, busy, accept=False)
    assert rq.load_left(db, b) == {busy.id: 1}
    assert rq.reviews_at_once(db, reviewer_id=busy.id) == {busy.id: (2, 1)}
    transition_call(db, a, "ranking")
    assert rq.load_left(db, b) == {busy.id: 2}
    rv.add_assignment(db, b, props_b[0], busy)


def test_the_limit_is_checked_audited_and_lifted(db: Session) -> None:
    u = F.user(db)
    before = F.table_counts(db)
    for bad in (0, -3, 101):
        with pytest.raises(DomainError, match="between 1 and 100"):
            rv.set_load_limit(db, u, bad)
    assert F.table_counts(db) == before
    rv.set_load_limit(db, u, 5)
    rv.set_load_limit(db, u, 5)  # unchanged: not audited again
    rv.set_load_limit(db, u, None)
    assert rq.reviews_at_once(db, reviewer_id=u.id) == {}
    events = db.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "review.load_limit_set")
    ).all()
    assert [(e.data or {}).get("after") for e in events] == [5, None]


def test_the_reviewer_sets_it_on_the_page_and_through_the_api(web: Web, cycle: Cycle) -> None:
    email = cycle.emails["assigned"]
    c = web.login(email)
    with web.factory() as s:
        uid = s.scalars(select(User.id).where(User.email == email)).one()

    def limit() -> object:
        with web.factory() as s:
            row = s.get(ReviewerLoadLimit, uid)
            return row.max_at_once if row else None

    page = c.get("/review")
    assert page.status_code == 200 and 'name="max_at_once"' in page.text
    r = c.post("/review/load-limit", data={"csrf_token": csrf(c, "/review"), "max_at_once": "4"})
    assert r.status_code == 303 and limit() == 4
    assert "You have 1 of 4 to review now." in c.get("/review").text
    for bad, said in (("0", "between 1 and 100"), ("lots", "Enter a whole number")):
        r = c.post(
            "/review/load-limit", data={"csrf_token": csrf(c, "/review"), "max_at_once": bad}
        )
        assert r.status_code == 400 and said in r.text and limit() == 4
    headers = api_bearer(web, email, scopes=("review",))
    api = web.client()
    assert api.get("/api/v1/me/review-load", headers=headers).json() == {
        "max_at_once": 4,
        "to_review": 1,
    }
    r = api.put("/api/v1/me/review-load", headers=headers, json={"max_at_once": 101})
    assert r.status_code in (400, 422) and "between 1 and 100" in r.text and limit() == 4
    r = api.put("/api/v1/me/review-load", headers=headers, json={"max_at_once": None})
    assert r.status_code == 200 and r.json() == {"max_at_once": None, "to_review": None}
    assert limit() is None


def test_a_proposal_found_conflicted_frees_its_place(db: Session) -> None:
    """A conflict found after the reviewer accepted: the pair is hidden from them and no
    longer counted in its call (``build_assignment_problem``), so it takes no place under
    their limit across calls either (else *My reviews* said 2 to review beside 1 listed)."""
    a, props_a = _call_in_review(db, 2)
    b, _props_b = _call_in_review(db, 1)
    busy, _ = _accept(db, a, "busy@uni.example")
    _also_accepts(db, b, busy)
    rv.set_load_limit(db, busy, 2)
    rv.add_assignment(db, a, props_a[0], busy)
    rv.add_assignment(db, a, props_a[1], busy)
    assert rq.load_left(db, b) == {busy.id: 0}
    db.add(Conflict(call_id=a.id, proposal_id=props_a[1].id, reviewer_id=busy.id, source="team"))
    db.flush()
    assert rq.load_left(db, b) == {busy.id: 1}
    assert rq.reviews_at_once(db, reviewer_id=busy.id) == {busy.id: (2, 1)}
