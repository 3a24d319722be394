"""Hand assignment in distributed review (the applicants review each other), through the
JSON API. The automatic assignment draws the reviewers from the accepted team members of
the call's proposals under review, and never gives anyone a proposal of a person they
share a team with. Before the fix the chair's hand assignment checked neither in this
mode: ``POST /api/v1/calls/{slug}/assignments`` gave a proposal to any account of the site
(a stranger to the call, found by counting ids, was mailed the invitation and could read
the proposal), and to the co-investigator's other PI (a collaborator of its team). Both
are now refused (400, the words of the panel mode's refusals), nothing made or mailed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.jobs import Job
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

NOT_A_REVIEWER = "This person is not a reviewer of this call."


def _join(s: Session, p: Proposal, u: User) -> None:
    m = prop_services.invite_member(
        s,
        p,
        {"email": u.email, "name": u.name, "institution": "Shared lab", "country_iso3": "BRA"},
        now=F.NOW,
    )
    prop_services.respond_to_invitation(s, m, u, accept=True)


def _distributed_call(s: Session) -> Call:
    call = F.fast_call(s, requires_pdf=False)
    call.review_settings = {
        **(call.review_settings or {}),
        "mode": "distributed",
        "reviewers_per_proposal": 1,
    }
    return call


def _in_review(s: Session, call: Call, proposals: tuple[Proposal, ...]) -> tuple[User, User]:
    """The proposals submitted and the call in review, with a stranger to it and its
    chair: (stranger, chair)."""
    for p in proposals:
        prop_services.submit(s, p, now=F.NOW)
    stranger = F.user(s, institution="Elsewhere")
    chair = F.user(s)
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    cycle.transition_call(s, call, "closed", now=call.closes_at, reason="t")
    cycle.transition_call(s, call, "review")
    return stranger, chair


def test_a_chair_gives_proposals_only_to_the_calls_applicants_free_of_ties(web: Web) -> None:
    with web.factory() as s:
        call = _distributed_call(s)
        alice, bob, carol, dave = (F.user(s, institution=f"Inst {i}") for i in range(4))
        a, b, c = (F.full_proposal(s, call, pi) for pi in (alice, carol, dave))
        _join(s, a, bob)  # Bob is on Alice's team and on Carol's
        _join(s, b, bob)
        stranger, chair = _in_review(s, call, (a, b, c))
        _t, token = people_services.create_api_token(s, chair, "chair", now=F.NOW, days=365)
        ids = {"a": a.id, "b": b.id, "c": c.id, "alice": alice.id, "dave": dave.id}
        ids |= {"stranger": stranger.id}
        slug = call.slug
        s.commit()
    http = web.client()
    h = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/calls/{slug}/assignments"
    with web.factory() as s:
        mails = s.scalar(select(func.count(Job.id)).where(Job.kind == "mail"))
    refused = {
        # an account with no proposal in the call
        (ids["c"], ids["stranger"]): NOT_A_REVIEWER,
        # Alice shares a team (Bob) with Carol's proposal: the automatic assignment never
        # pairs them
        (ids["b"], ids["alice"]): "conflict",
    }
    for (pid, rid), words in refused.items():
        r = http.post(path, headers=h, json={"proposal_id": pid, "reviewer_id": rid})
        assert r.status_code == 400, (pid, rid, r.status_code, r.text)
        assert words in r.json()["detail"], r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(ReviewAssignment.id))) == 0
        assert s.scalar(select(func.count(Job.id)).where(Job.kind == "mail")) == mails
    # an applicant of the call with no tie to the proposal is the chair's to choose
    r = http.post(path, headers=h, json={"proposal_id": ids["a"], "reviewer_id": ids["dave"]})
    assert r.status_code == 201, r.text


def test_the_pages_name_field_finds_the_calls_applicants_in_distributed_review(
    web: Web,
) -> None:
    """In distributed review the reviewers are the call's applicants: the assignments
    page's *Assign by hand* field finds them by e-mail or name, as the API takes them by
    id (mend9b; it looked among the reviewing role's holders only, so the page refused
    every applicant); a stranger to the call stays refused."""
    from tests.web.conftest import csrf

    with web.factory() as s:
        call = _distributed_call(s)
        alice, dave = (F.user(s, institution=f"Inst {i}") for i in range(2))
        a, d = (F.full_proposal(s, call, pi) for pi in (alice, dave))
        stranger, chair = _in_review(s, call, (a, d))
        slug, pid, dave_email, dave_id = call.slug, a.id, dave.email, dave.id
        chair_email, stranger_email = chair.email, stranger.email
        s.commit()
    c = web.login(chair_email)
    page = f"/manage/calls/{slug}/assignment"
    tok = csrf(c, page)
    r = c.post(
        f"{page}/add", data={"csrf_token": tok, "proposal_id": pid, "reviewer": stranger_email}
    )
    assert r.status_code == 400 and "No reviewer of this call has the e-mail" in r.text
    r = c.post(f"{page}/add", data={"csrf_token": tok, "proposal_id": pid, "reviewer": dave_email})
    assert r.status_code == 303, r.text[:2000]
    with web.factory() as s:
        got = s.scalars(select(ReviewAssignment)).all()
        assert [(x.proposal_id, x.reviewer_id) for x in got] == [(pid, dave_id)]
