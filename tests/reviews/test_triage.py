"""Triage (trialrev15): before the review, the chair sets a proposal aside as out of scope,
technically infeasible or incomplete, with a reason its applicant reads. A set-aside
proposal is not assigned, ranked or allocated; the outcomes report counts it (applied,
not eligible) in its applicant's groups; the decision is audited and reversible until the
call's reviews are assigned; a chair with a conflict of interest with the proposal may not
decide on it. Before, nothing could set a proposal aside (``rv.set_aside`` did not exist)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.auditlog import AuditEvent
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import TriageDecision
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.web.conftest import Web, api_bearer, csrf

REASON = "Solar physics is outside the scope of this call."


def _chair(s: Session, call_id: int, email: str = "chair-triage@staff.example") -> int:
    chair = F.user(s, email=email)
    people_services.grant_role(s, chair.id, "chair", call_id=call_id)
    return chair.id


def _events(s: Session, pid: int) -> list[tuple[str, str]]:
    return [
        (e.action, e.reason)
        for e in s.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "proposal", AuditEvent.entity_id == str(pid))
            .order_by(AuditEvent.id)
        )
        if e.action in ("proposal.set_aside", "proposal.triage_lifted")
    ]


def test_a_set_aside_proposal_is_not_assigned_ranked_or_allocated_but_is_counted(
    db: Session,
) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 3)
    chair = _chair(s, call.id)
    out = props[0]
    row = rv.set_aside(s, call, out, "out_of_scope", f"  {REASON}  ", actor_id=chair)
    assert (row.category, row.reason, row.decided_by) == ("out_of_scope", REASON, chair)
    assert out.status == "set_aside"
    assert _events(s, out.id) == [("proposal.set_aside", REASON)]
    rv.run_assignment(s, call)
    pairs = rq.assignments_of_call(s, call)
    assert {a.proposal_id for a in pairs} == {p.id for p in props[1:]}
    assert out.id not in {u.proposal_id for u in rv.uncovered_proposals(s, call)}
    by_id = {u.id: u for u in reviewers}
    for a in pairs:
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=3, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    assert {r.proposal_id for r in rq.ranking(s, call)} == {p.id for p in props[1:]}
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    decided = set(s.scalars(select(Decision.proposal_id).where(Decision.call_id == call.id)))
    assert decided == {p.id for p in props[1:]}
    al.release_decisions(s, call)
    assert out.status == "set_aside"
    # the who-benefits report: applied, not eligible, in its lead applicant's groups
    records = {r.proposal_id: r for r in oq.applicant_records(s, call)}
    mine = records[str(out.id)]
    assert mine.applied and not mine.eligible and not mine.feasible and not mine.awarded
    assert mine.income_group and mine.un_region  # Brazil: upper-middle income, Americas
    assert all(records[str(p.id)].eligible for p in props[1:])


def test_triage_is_reversed_until_the_reviews_are_assigned_and_not_after(db: Session) -> None:
    s = db
    call, props, _reviewers = F.call_in_review(s, 3, 3)
    chair = _chair(s, call.id)
    p0, p1 = props[0], props[1]
    rv.set_aside(s, call, p0, "incomplete", "The technical annex is missing.", actor_id=chair)
    rv.return_to_review(s, call, p0, actor_id=chair, reason="The annex was in the PDF.")
    assert p0.status == "under_review" and rv.triage_of(s, p0.id) is None
    assert _events(s, p0.id) == [
        ("proposal.set_aside", "The technical annex is missing."),
        ("proposal.triage_lifted", "The annex was in the PDF."),
    ]
    rv.set_aside(
        s, call, p0, "infeasible", "The target never rises above 5 degrees.", actor_id=chair
    )
    rv.run_assignment(s, call)
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="reviews are assigned"):
        rv.return_to_review(s, call, p0, actor_id=chair)
    with pytest.raises(DomainError, match="reviews are assigned"):
        rv.set_aside(s, call, p1, "incomplete", "No target list.", actor_id=chair)
    assert F.table_counts(s) == before
    assert (p0.status, p1.status) == ("set_aside", "under_review")


@pytest.mark.parametrize(
    ("category", "reason", "match"),
    [
        ("too_weak", REASON, "Unknown triage category"),
        ("out_of_scope", "   ", "Say why"),
        ("out_of_scope", "x" * 2001, "too long"),
        ("out_of_scope", "bad\x00byte", "control characters"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    db: Session, category: str, reason: str, match: str
) -> None:
    s = db
    call, props, _reviewers = F.call_in_review(s, 2, 2)
    chair = _chair(s, call.id)
    before = F.table_counts(s)
    with pytest.raises(DomainError, match=match):
        rv.set_aside(s, call, props[0], category, reason, actor_id=chair)
    assert F.table_counts(s) == before and props[0].status == "under_review"


def test_a_conflicted_chair_may_not_triage_and_a_deputy_does(db: Session) -> None:
    s = db
    call, props, _reviewers = F.call_in_review(s, 2, 2)
    chair = _chair(s, call.id)
    deputy = _chair(s, call.id, "deputy-triage@staff.example")
    s.add(Conflict(call_id=call.id, proposal_id=props[0].id, reviewer_id=chair, source="personal"))
    s.flush()
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="conflict of interest"):
        rv.set_aside(s, call, props[0], "out_of_scope", REASON, actor_id=chair)
    assert F.table_counts(s) == before
    rv.set_aside(s, call, props[0], "out_of_scope", REASON, actor_id=deputy)
    with pytest.raises(DomainError, match="conflict of interest"):
        rv.return_to_review(s, call, props[0], actor_id=chair)
    assert s.get(TriageDecision, props[0].id) is not None


def test_only_a_proposal_in_review_is_set_aside(db: Session) -> None:
    s = db
    call, props, _reviewers = F.call_in_review(s, 2, 2)
    chair = _chair(s, call.id)
    rv.set_aside(s, call, props[0], "out_of_scope", REASON, actor_id=chair)
    with pytest.raises(DomainError, match="cannot move"):
        rv.set_aside(s, call, props[0], "out_of_scope", REASON, actor_id=chair)
    with pytest.raises(DomainError, match="not set aside"):
        rv.return_to_review(s, call, props[1], actor_id=chair)


def test_the_chair_triages_through_the_api_and_the_applicant_reads_why(web: Web) -> None:
    """The chair sets a proposal aside through the API (no team in the answers of a
    dual-anonymous call); the applicant reads the category in their language and the
    chair's reason on the proposal's page; a bad request changes nothing."""
    with web.factory() as s:
        call, props, _reviewers = F.call_in_review(s, 2, 2)
        _chair(s, call.id)
        slug, pid = call.slug, props[0].id
        pi = s.get(User, props[0].pi_user_id)
        assert pi is not None
        team = [pi.name, pi.email, *(m.institution_name for m in props[0].members)]
        s.commit()
    headers = api_bearer(web, "chair-triage@staff.example", scopes=("manage",))
    c = web.client()
    url = f"/api/v1/calls/{slug}/proposals/{pid}/triage"
    bad = c.put(url, headers=headers, json={"set_aside": True, "category": "incomplete"})
    assert bad.status_code == 400 and "Say why" in bad.text
    assert c.get(f"/api/v1/calls/{slug}/triage", headers=headers).json() == {"items": []}
    body = {"set_aside": True, "category": "incomplete", "reason": "The target list is empty."}
    r = c.put(url, headers=headers, json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["category"], got["category_label"]) == (
        "set_aside",
        "incomplete",
        "incomplete",
    )
    listed = c.get(f"/api/v1/calls/{slug}/triage", headers=headers)
    assert [i["proposal_id"] for i in listed.json()["items"]] == [pid]
    assert not [x for x in team if x and (x in listed.text or x in r.text)]
    page = web.login(team[1], "fr").get(f"/proposals/{pid}")
    assert page.status_code == 200
    triage = page.text.split('id="triage"')[1].split("</blockquote>")[0]
    assert "Écartée avant l'évaluation : incomplète." in html.unescape(triage)
    assert "The target list is empty." in triage
    assert "chair-triage" not in page.text  # who decided is not said
    back = c.put(url, headers=headers, json={"set_aside": False, "reason": "Found it."})
    assert back.status_code == 200 and back.json()["status"] == "under_review"
    assert 'id="triage"' not in web.login(team[1]).get(f"/proposals/{pid}").text


def test_the_chair_triages_on_the_page_and_a_conflicted_chair_does_not_see_it(
    web: Web,
) -> None:
    with web.factory() as s:
        call, props, _reviewers = F.call_in_review(s, 2, 2)
        _chair(s, call.id)
        conflicted = _chair(s, call.id, "conflicted-triage@staff.example")
        s.add(
            Conflict(
                call_id=call.id, proposal_id=props[0].id, reviewer_id=conflicted, source="personal"
            )
        )
        slug, pid, other, code = call.slug, props[0].id, props[1].id, props[0].code
        s.commit()
    c = web.login("chair-triage@staff.example")
    page = c.get(f"/manage/calls/{slug}/triage")
    assert page.status_code == 200 and f"/triage/{pid}/set-aside" in page.text
    bad = c.post(
        f"/manage/calls/{slug}/triage/{pid}/set-aside",
        data={"csrf_token": csrf(c), "category": "incomplete", "reason": " "},
    )
    assert bad.status_code == 400 and "Say why" in bad.text
    r = c.post(
        f"/manage/calls/{slug}/triage/{pid}/set-aside",
        data={"csrf_token": csrf(c), "category": "infeasible", "reason": "Below the horizon."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = c.get(f"/manage/calls/{slug}/triage").text
    assert "Below the horizon." in after and f"/triage/{pid}/return" in after
    # the conflicted chair sees neither the proposal nor its triage, and may not return it
    d = web.login("conflicted-triage@staff.example")
    theirs = d.get(f"/manage/calls/{slug}/triage").text
    assert code not in theirs and "Below the horizon." not in theirs
    assert f"/triage/{other}/set-aside" in theirs
    refused = d.post(
        f"/manage/calls/{slug}/triage/{pid}/return",
        data={"csrf_token": csrf(d), "reason": "mine"},
    )
    assert refused.status_code == 400
    with web.factory() as s:
        assert rv.triage_of(s, pid) is not None
