"""The languages a reviewer reviews in (trialrev18): before, a proposal written in Spanish
could go to a reviewer who reads only English. A reviewer who declared languages is never
given a proposal whose stated language is not among them; a reviewer who declared none,
or a proposal with no stated language, is not restricted (existing calls unchanged)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.shortfall import uncovered_rows
from opencall.web.i18n import Translator
from tests import factories as F
from tests.review_cycle import Cycle
from tests.reviews.test_recruitment import _accept, _call_in_review
from tests.web.conftest import Web, api_bearer, csrf


def _pairs(problem, proposals, reviewers) -> set[tuple[int, int]]:  # noqa: ANN001
    return {
        (proposals[p].id, reviewers[r].id) for p, r in problem.forbidden.reshape(-1, 2).tolist()
    }


def test_a_reviewer_is_not_given_a_proposal_in_a_language_they_do_not_read(
    db: Session,
) -> None:
    call, props = _call_in_review(db, 2)
    spanish, _plain = props
    prop_services.set_language(db, spanish, "es", actor_id=spanish.pi_user_id)
    en_only, _ = _accept(db, call, "en@uni.example")
    reader, _ = _accept(db, call, "es@uni.example")
    silent, _ = _accept(db, call, "silent@uni.example")
    rv.set_review_languages(db, en_only, ["en"])
    rv.set_review_languages(db, reader, ["es", "EN", "es"])
    assert rq.review_languages(db, reader.id) == ["en", "es"]
    problem, proposals, reviewers, params = rv.build_assignment_problem(db, call)
    assert _pairs(problem, proposals, reviewers) == {(spanish.id, en_only.id)}
    assert params["language_forbidden"] == 1
    rv.compute_conflicts(db, call)
    rv.run_affinity(db, call)
    call.review_settings = {**call.review_settings, "reviewers_per_proposal": 2}
    rv.run_assignment(db, call)
    got = {(a.proposal_id, a.reviewer_id) for a in rq.assignments_of_call(db, call)}
    assert (spanish.id, en_only.id) not in got
    assert reader.id in {r for p, r in got if p == spanish.id} <= {reader.id, silent.id}
    # nor may the chair give them the proposal by hand: nothing changes
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="does not review in"):
        rv.add_assignment(db, call, spanish, en_only)
    assert F.table_counts(db) == before


def test_the_office_is_told_a_proposal_has_too_few_reviewers_who_read_it(db: Session) -> None:
    call, props = _call_in_review(db, 1)
    (spanish,) = props
    prop_services.set_language(db, spanish, "es")
    for i in range(3):
        u, _ = _accept(db, call, f"en{i}@uni.example")
        rv.set_review_languages(db, u, ["en"])
    rv.compute_conflicts(db, call)
    rv.run_affinity(db, call)
    rv.run_assignment(db, call)
    (row,) = uncovered_rows(db, call, frozenset(), Translator("en"))
    assert row["reason"] == "language" and row["assigned"] == 0
    assert "read its language" in row["explanation"]
    (fr,) = uncovered_rows(db, call, frozenset(), Translator("fr"))
    assert fr["explanation"] != row["explanation"]


def test_bad_languages_are_refused_unchanged_and_a_change_audited(db: Session) -> None:
    u = F.user(db)
    p = F.full_proposal(db, F.fast_call(db), F.user(db))
    before = F.table_counts(db)
    for bad in (["xx"], ["english"], [""], ["e" * 300], ["fr", "1"]):
        with pytest.raises(DomainError, match="language"):
            rv.set_review_languages(db, u, bad)
    for bad_code in ("xx", "Spanish", ""):
        with pytest.raises(DomainError, match="language"):
            prop_services.set_language(db, p, bad_code)
    assert F.table_counts(db) == before
    rv.set_review_languages(db, u, ["zh", "fr"])
    rv.set_review_languages(db, u, ["fr", "zh"])  # unchanged: not audited again
    rv.set_review_languages(db, u, [])
    assert rq.review_languages(db, u.id) == []
    events = db.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "review.languages_set")
    ).all()
    assert [e.data for e in events] == [
        {"before": [], "after": ["fr", "zh"]},
        {"before": ["fr", "zh"], "after": []},
    ]


def test_the_reviewer_sets_them_on_the_page_and_through_the_api(web: Web, cycle: Cycle) -> None:
    email = cycle.emails["assigned"]
    c = web.login(email)
    with web.factory() as s:
        uid = s.scalars(select(User.id).where(User.email == email)).one()

    def langs() -> list[str]:
        with web.factory() as s:
            return rq.review_languages(s, uid)

    page = c.get("/review")
    assert page.status_code == 200 and 'name="review_languages"' in page.text
    r = c.post(
        "/review/languages", data={"csrf_token": csrf(c, "/review"), "review_languages": "es, en"}
    )
    assert r.status_code == 303 and langs() == ["en", "es"]
    r = c.post(
        "/review/languages", data={"csrf_token": csrf(c, "/review"), "review_languages": "xx"}
    )
    assert r.status_code == 400 and "is not a language" in r.text and langs() == ["en", "es"]
    headers = api_bearer(web, email, scopes=("review",))
    api = web.client()
    assert api.get("/api/v1/me/review-languages", headers=headers).json() == {
        "languages": ["en", "es"]
    }
    r = api.put("/api/v1/me/review-languages", headers=headers, json={"languages": ["zz"]})
    assert r.status_code in (400, 422) and "is not a language" in r.text and langs() == ["en", "es"]
    r = api.put("/api/v1/me/review-languages", headers=headers, json={"languages": ["zh"]})
    assert r.status_code == 200 and r.json() == {"languages": ["zh"]} and langs() == ["zh"]
