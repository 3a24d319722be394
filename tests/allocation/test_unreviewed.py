"""A submitted proposal short of reviews (none counted, or fewer than the call's
``min_reviews``) gets no rank of its own, so the allocation cannot decide on it. The
chair resolves each before the release: more reviewers (then calibrate and allocate
again), rejected as not reviewed (the reason is the applicant's explanation), or carried
to the allocation below every reviewed proposal. The release refuses, naming them, until
each has a decision; nothing is left under review. Pages, API and CLI agree."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation import services as al
from opencall.allocation.models import Award, Decision, UnreviewedResolution
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from opencall.results import declines
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.api.test_writes import token
from tests.web.conftest import Web, csrf


def _to_allocation(s: Session, call: Call) -> None:
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")


def _reviewed_but(
    s: Session, n: int = 3, *, lost: int = 1, **settings: int
) -> tuple[Call, list[Proposal], list[Proposal]]:
    """A call in allocation: ``n`` proposals, the last ``lost`` of them with no review."""
    call, props, reviewers = F.call_in_review(s, n, 3, **settings)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    missing = props[n - lost :]
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id not in {p.id for p in missing}:
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    _to_allocation(s, call)
    return call, props[: n - lost], missing


def _decision(s: Session, p: Proposal) -> Decision | None:
    return s.scalar(select(Decision).where(Decision.proposal_id == p.id))


def test_the_release_waits_for_the_unreviewed_and_names_them(db: Session) -> None:
    s = db
    call, reviewed, (lost,) = _reviewed_but(s)
    al.run_allocation(s, call)
    assert [p.id for p in al.short_of_reviews(s, call)] == [lost.id]
    assert _decision(s, lost) is None
    with pytest.raises(DomainError) as exc:
        al.release_decisions(s, call)
    assert lost.code in exc.value.message and "reject them as not reviewed" in exc.value.message
    assert call.decisions_released_at is None and lost.status == "under_review"
    assert all(p.status == "under_review" for p in reviewed)


def test_an_offer_cannot_award_a_proposal_the_allocation_left_out(db: Session) -> None:
    """The offer of freed capacity asks what an override asks: a proposal rejected as not
    reviewed is not in the allocation's problem, so an award to it would name no amount."""
    s = db
    call, reviewed, (lost,) = _reviewed_but(s)
    al.run_allocation(s, call)
    al.resolve_unreviewed(s, call, lost, action="reject", reason="None found.")
    al.release_decisions(s, call)
    awarded = next(p for p in reviewed if (d := _decision(s, p)) and d.outcome == "awarded")
    declines.decline_award(s, awarded, reason="dates", actor_id=awarded.pi_user_id)
    with pytest.raises(DomainError, match="short of reviews"):
        al.offer_award(s, call, lost, reason="Freed capacity.")
    d = _decision(s, lost)
    assert d is not None and d.outcome == "not_awarded"
    assert (
        s.scalar(select(func.count()).select_from(Award).where(Award.proposal_id == lost.id)) == 0
    )


def test_a_rejection_as_not_reviewed_is_the_decision_the_applicant_reads(db: Session) -> None:
    s = db
    call, reviewed, (lost,) = _reviewed_but(s)
    al.run_allocation(s, call)
    chair = F.user(s)
    al.resolve_unreviewed(
        s, call, lost, action="reject", reason="No reviewer could be found.", actor_id=chair.id
    )
    d = _decision(s, lost)
    assert d is not None and d.outcome == "not_awarded"
    assert d.explanation == "not reviewed, so not awarded: No reviewer could be found."
    n_events = s.scalar(
        select(func.count())
        .select_from(auditlog.AuditEvent)
        .where(auditlog.AuditEvent.action == "proposal.unreviewed_resolved")
    )
    assert n_events == 1
    al.run_allocation(s, call)  # a new run keeps the chair's rejection
    assert _decision(s, lost).explanation == d.explanation  # type: ignore[union-attr]
    al.release_decisions(s, call)
    assert lost.status == "rejected"
    assert all(p.status in ("accepted", "rejected") for p in reviewed)


def test_a_carried_proposal_is_allocated_below_every_reviewed_one(db: Session) -> None:
    s = db
    call, reviewed, (lost,) = _reviewed_but(s)
    al.resolve_unreviewed(s, call, lost, action="carry", reason="Late panel; low risk.")
    problem, _meta = al.build_problem(s, call)
    merit = {r.proposal_id: r.merit for r in problem.requests}
    assert merit[str(lost.id)] < min(merit[str(p.id)] for p in reviewed)
    al.run_allocation(s, call)
    assert _decision(s, lost) is not None
    al.release_decisions(s, call)
    assert lost.status in ("accepted", "rejected")


def test_a_new_reason_for_the_same_answer_keeps_the_decision(db: Session) -> None:
    """Correcting the reason of a carried proposal keeps its decision (and award): only a
    change of answer, or a rejection's new explanation, writes the decision again."""
    s = db
    call, _reviewed, (lost,) = _reviewed_but(s)
    al.resolve_unreviewed(s, call, lost, action="carry", reason="Late panel.")
    al.run_allocation(s, call)
    before = _decision(s, lost)
    assert before is not None
    al.resolve_unreviewed(s, call, lost, action="carry", reason="Late panel; low risk.")
    assert _decision(s, lost) is before
    assert al.release_decisions(s, call) == 3


def test_an_answer_is_not_changed_under_the_schedule(db: Session) -> None:
    """In scheduling a carried proposal's award may be in the schedule: changing the
    answer is refused (go back to the allocation) and nothing changes."""
    s = db
    call, _reviewed, (lost,) = _reviewed_but(s)
    al.resolve_unreviewed(s, call, lost, action="carry", reason="Late panel.")
    al.run_allocation(s, call)
    decision = _decision(s, lost)
    assert decision is not None
    assert s.scalars(select(Award).where(Award.proposal_id == lost.id)).first() is not None
    cycle.transition_call(s, call, "scheduling")
    with pytest.raises(DomainError, match="go back to the allocation"):
        al.resolve_unreviewed(s, call, lost, action="reject", reason="None found.")
    assert _decision(s, lost) is decision
    assert al.resolutions(s, call)[lost.id].action == "carry"


def test_carrying_after_the_allocation_waits_for_a_new_run(db: Session) -> None:
    s = db
    call, _reviewed, (lost,) = _reviewed_but(s)
    al.run_allocation(s, call)
    al.resolve_unreviewed(s, call, lost, action="reject", reason="None found.")
    al.resolve_unreviewed(s, call, lost, action="carry", reason="Changed our mind.")
    assert _decision(s, lost) is None
    with pytest.raises(DomainError, match=lost.code):
        al.release_decisions(s, call)
    al.run_allocation(s, call)
    assert _decision(s, lost) is not None
    assert al.release_decisions(s, call) == 3


def test_bad_resolutions_are_refused_and_change_nothing(db: Session) -> None:
    s = db
    call, reviewed, (lost,) = _reviewed_but(s)
    al.run_allocation(s, call)
    before = F.table_counts(s)
    for kwargs, words in (
        ({"action": "reject", "reason": "  "}, "reason"),
        ({"action": "drop", "reason": "x"}, "'reject' or 'carry'"),
    ):
        with pytest.raises(DomainError, match=words):
            al.resolve_unreviewed(s, call, lost, **kwargs)
    with pytest.raises(DomainError, match="has enough reviews"):
        al.resolve_unreviewed(s, call, reviewed[0], action="reject", reason="x")
    assert F.table_counts(s) == before


def test_too_few_reviews_under_the_calls_minimum_are_short(db: Session) -> None:
    """``min_reviews=2``: a proposal with one counted review is ranked but not allocated
    until the chair resolves it."""
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 3, reviewers_per_proposal=2, min_reviews=2)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    thin = props[2]
    seen = False
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id == thin.id and not seen:
            seen = True
            continue
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    _to_allocation(s, call)
    assert thin.id in {r.proposal_id for r in rq.ranking(s, call)}
    assert [p.id for p in al.short_of_reviews(s, call)] == [thin.id]
    al.run_allocation(s, call)
    assert _decision(s, thin) is None
    with pytest.raises(DomainError, match=thin.code):
        al.release_decisions(s, call)


def test_every_reviewer_conflicted_with_one_proposal(db: Session) -> None:
    """Edge: each reviewer declares a conflict with the same proposal. It gets no review,
    so the release names it until the chair resolves it."""
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 3)
    rv.run_assignment(s, call)
    target = props[0]
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id == target.id:
            rv.declare_conflict(s, a, next(u for u in reviewers if u.id == a.reviewer_id), "x")
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, call):
        if a.status in ("assigned", "accepted"):
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    _to_allocation(s, call)
    al.run_allocation(s, call)
    assert [p.code for p in al.short_of_reviews(s, call)] == [target.code]
    with pytest.raises(DomainError, match=target.code):
        al.release_decisions(s, call)


def _web_world(web: Web) -> tuple[str, str, str, int]:
    with web.factory() as s:
        call, _reviewed, (lost,) = _reviewed_but(s)
        al.run_allocation(s, call)
        chair = F.user(s, email=f"chair-{call.id}@example.org")
        people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
        s.commit()
        return call.slug, chair.email, lost.code, lost.id


def test_pages_and_api_agree(web: Web) -> None:
    slug, chair, code, pid = _web_world(web)
    c = web.login(chair)
    r = c.get(f"/manage/calls/{slug}/decisions")
    assert r.status_code == 200 and f'id="u{pid}"' in r.text
    assert f'action="/manage/calls/{slug}/unreviewed/{pid}"' in r.text
    # the release is refused on the page, naming the proposal
    t = csrf(c, f"/manage/calls/{slug}/decisions")
    r = c.post(f"/manage/calls/{slug}/release", data={"csrf_token": t, "confirm": "yes"})
    assert r.status_code == 400 and code in r.text
    # ... and in the API, with the same list
    h = token(web, chair)
    api = web.client()
    r = api.post(f"/api/v1/calls/{slug}/release", headers=h)
    assert r.status_code == 400 and code in r.json()["detail"]
    r = api.get(f"/api/v1/calls/{slug}/unreviewed", headers=h)
    assert r.status_code == 200
    assert [(i["proposal_code"], i["resolution"]) for i in r.json()["items"]] == [(code, None)]
    # a resolution without a reason is refused on the page
    r = c.post(
        f"/manage/calls/{slug}/unreviewed/{pid}",
        data={"csrf_token": t, "action": "reject", "reason": ""},
    )
    assert r.status_code == 400 and 'id="err-unreviewed-' in r.text
    r = api.post(
        f"/api/v1/calls/{slug}/unreviewed/{pid}",
        headers=h,
        json={"action": "reject", "reason": "No reviewer available."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["resolution"] == "reject"
    r = c.get(f"/manage/calls/{slug}/decisions")
    assert "No reviewer available." in r.text
    r = api.post(f"/api/v1/calls/{slug}/release", headers=h)
    assert r.status_code == 200 and r.json()["undecided"] == []
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.status == "rejected"


def test_the_applicant_reads_why(web: Web) -> None:
    slug, chair, _code, pid = _web_world(web)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        p = s.get(Proposal, pid)
        assert p is not None
        al.resolve_unreviewed(s, call, p, action="reject", reason="Out of the panel's scope.")
        al.release_decisions(s, call)
        pi = s.get(type(F.user(s)), p.pi_user_id)
        assert pi is not None
        email = pi.email
        s.commit()
    c = web.login(email)
    r = c.get(f"/proposals/{pid}/outcome")
    assert r.status_code == 200
    assert "Out of the panel&#39;s scope." in r.text or "Out of the panel's scope." in r.text


def test_resolving_waits_for_the_end_of_the_review(db: Session) -> None:
    s = db
    call, props, _reviewers = F.call_in_review(s, 2, 3)
    with pytest.raises(DomainError, match="once the review is over"):
        al.resolve_unreviewed(s, call, props[0], action="reject", reason="x")
    assert s.scalar(select(func.count()).select_from(UnreviewedResolution)) == 0


def test_an_override_cannot_award_a_proposal_the_allocation_left_out(db: Session) -> None:
    """Before: overriding a rejected-as-not-reviewed proposal to 'awarded' marked it
    awarded with no award at all (it is not in the allocation's problem)."""
    s = db
    call, _reviewed, (lost,) = _reviewed_but(s)
    al.run_allocation(s, call)
    al.resolve_unreviewed(s, call, lost, action="reject", reason="None found.")
    with pytest.raises(DomainError, match="short of reviews"):
        al.override_decision(s, call, lost, outcome="awarded", reason="Strong anyway.")
    d = _decision(s, lost)
    assert d is not None and d.outcome == "not_awarded"
