"""trialop22: once the close froze a proposal (``under_review``), its PI could not
withdraw it and the user office could not withdraw it for them: a PI who lost their
post, or whose instrument time came elsewhere, stayed in the review, the ranking and the
allocation. Now, until the call's review is over (the call closed or in review), the PI
withdraws it on its page or through the API, and the office on the PI's written request
(with the reason, on the cockpit or through the API). Audited; its reviews still to be
written are taken from the reviewers; the review, the ranking and the allocation read it
no more."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall import auditlog
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.web.conftest import Web, csrf


def _in_review(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as s:
        call, proposals, reviewers = F.call_in_review(s, 2, 3)
        a = rv.add_assignment(s, call, proposals[0], reviewers[0])
        manager = F.user(s)
        people_services.grant_role(s, manager.id, "call_manager", call_id=call.id)
        pi = s.get_one(User, proposals[0].pi_user_id)
        out = {
            "slug": call.slug,
            "pid": proposals[0].id,
            "code": proposals[0].code,
            "title": proposals[0].title,
            "other": proposals[1].id,
            "assignment": a.id,
            "pi": pi.email,
            "manager": manager.email,
            "reviewer": reviewers[0].email,
            "pi_token": people_services.create_api_token(s, pi, "t")[1],
            "office_token": people_services.create_api_token(s, manager, "t", scopes=["manage"])[1],
        }
        s.commit()
    return out


def _withdrawn_event(factory: sessionmaker[Session], pid: int) -> auditlog.AuditEvent:
    with factory() as s:
        return s.scalars(
            select(auditlog.AuditEvent).where(
                auditlog.AuditEvent.action == "proposal.withdrawn",
                auditlog.AuditEvent.entity_id == str(pid),
            )
        ).one()


def test_the_pi_withdraws_a_frozen_proposal_on_its_page(
    web: Web, factory: sessionmaker[Session]
) -> None:
    w = _in_review(factory)
    c = web.login(w["pi"])
    page = c.get(f"/proposals/{w['pid']}")
    assert f'action="/proposals/{w["pid"]}/withdraw"' in page.text
    r = c.post(f"/proposals/{w['pid']}/withdraw", data={"csrf_token": csrf(c, "/dashboard")})
    assert r.status_code == 303, r.text[:2000]
    with factory() as s:
        p = s.get_one(Proposal, w["pid"])
        assert p.status == "withdrawn"
        assert s.get_one(ReviewAssignment, w["assignment"]).status == "removed"
        call = p.call
        assert [x.id for x in rq.proposals_for_review(s, call)] == [w["other"]]
        assert all(a.proposal_id != w["pid"] for a in rq.assignments_of_call(s, call))
        assert auditlog.verify(s).problems == []
    ev = _withdrawn_event(factory, w["pid"])
    assert ev.data["from"] == "under_review" and ev.data["assignments_removed"] == 1
    # the conflicts and the assignment run again: the withdrawn proposal gets no reviewer
    with factory() as s:
        call = s.get_one(Proposal, w["pid"]).call
        rv.compute_conflicts(s, call)
        rv.run_assignment(s, call)
        active = {a.proposal_id for a in rq.assignments_of_call(s, call)}
        assert w["other"] in active and w["pid"] not in active


def test_the_office_withdraws_on_the_pis_request_through_the_api(
    web: Web, factory: sessionmaker[Session]
) -> None:
    w = _in_review(factory)
    url = f"/api/v1/proposals/{w['pid']}/withdrawal"
    client = web.client()
    office = {"Authorization": f"Bearer {w['office_token']}"}
    as_pi = {"Authorization": f"Bearer {w['pi_token']}"}
    assert client.post(url, headers=as_pi, json={"reason": "x"}).status_code == 404
    assert client.post(url, headers=office, json={"reason": ""}).status_code == 422
    with factory() as s:
        assert s.get_one(Proposal, w["pid"]).status == "under_review"
    r = client.post(url, headers=office, json={"reason": "PI's letter of 2 Dec"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    ev = _withdrawn_event(factory, w["pid"])
    assert ev.reason == "PI's letter of 2 Dec" and ev.data["on_request"] is True
    # again: refused, nothing changes
    r = client.post(url, headers=office, json={"reason": "again"})
    assert r.status_code == 400, r.text


def test_the_office_withdraws_on_the_cockpit(web: Web, factory: sessionmaker[Session]) -> None:
    w = _in_review(factory)
    c = web.login(w["manager"])
    page = c.get(f"/manage/calls/{w['slug']}")
    assert f'action="/manage/calls/{w["slug"]}/withdraw-proposal"' in page.text
    url = f"/manage/calls/{w['slug']}/withdraw-proposal"
    form = {"csrf_token": csrf(c, f"/manage/calls/{w['slug']}")}
    r = c.post(url, data={**form, "proposal": w["code"], "reason": ""})
    assert r.status_code == 400
    r = c.post(url, data={**form, "proposal": "NOPE", "reason": "letter"})
    assert r.status_code == 400 and "NOPE" in r.text
    with factory() as s:
        assert s.get_one(Proposal, w["pid"]).status == "under_review"
    r = c.post(url, data={**form, "proposal": w["code"], "reason": "PI's e-mail of 3 Dec"})
    assert r.status_code == 303, r.text[:2000]
    assert _withdrawn_event(factory, w["pid"]).reason == "PI's e-mail of 3 Dec"


def test_after_the_review_the_withdrawal_is_refused(
    web: Web, factory: sessionmaker[Session]
) -> None:
    w = _in_review(factory)
    with factory() as s:
        s.get_one(Proposal, w["pid"]).call.status = "ranking"
        s.commit()
    client = web.client()
    as_pi = {"Authorization": f"Bearer {w['pi_token']}"}
    r = client.post(f"/api/v1/proposals/{w['pid']}/withdraw", headers=as_pi)
    assert r.status_code in (400, 404), r.text
    office = {"Authorization": f"Bearer {w['office_token']}"}
    r = client.post(
        f"/api/v1/proposals/{w['pid']}/withdrawal", headers=office, json={"reason": "late"}
    )
    assert r.status_code == 400 and "review" in r.text, r.text
    with factory() as s:
        assert s.get_one(Proposal, w["pid"]).status == "under_review"
        assert s.get_one(ReviewAssignment, w["assignment"]).status == "assigned"


def test_the_reviewer_sees_the_withdrawn_proposal_gone(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """mend23: the withdrawal takes the review through the reviews feature's service
    (``reviews.services.remove_open_assignments``), not a bare update of its table; the
    reviewer sees what they saw before: the proposal no longer in their list, its page
    page gone (410, saying so: trialapp23's page for a removed review, nothing of the
    proposal on it), a review typed meanwhile refused with the reason (410, nothing written)."""
    w = _in_review(factory)
    reviewer = web.login(w["reviewer"])
    path = f"/review/assignments/{w['assignment']}"
    assert w["code"] in reviewer.get("/review").text
    assert reviewer.get(path).status_code == 200
    form = {"csrf_token": csrf(reviewer, path), "grade": "2", "comments_to_applicants": "Typed"}
    pi = web.login(w["pi"])
    r = pi.post(f"/proposals/{w['pid']}/withdraw", data={"csrf_token": csrf(pi, "/dashboard")})
    assert r.status_code == 303, r.text[:2000]
    assert w["code"] not in reviewer.get("/review").text
    page = reviewer.get(path)
    assert page.status_code == 410, page.text[:2000]
    assert w["title"] not in page.text and w["code"] not in page.text
    r = reviewer.post(path, data={**form, "action": "save"})
    assert r.status_code == 410 and "no longer assigned to you" in r.text, r.text[:2000]
    assert "Typed" in r.text  # the text typed is given back to keep
    with factory() as s:
        a = s.get_one(ReviewAssignment, w["assignment"])
        assert a.status == "removed"
        assert rq.review_of(s, a.id) is None


def test_without_the_reviews_step_a_withdrawal_in_review_is_refused(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process without the reviews feature loaded would leave the reviewers their
    assignments: it is refused loudly, nothing changed, never withdrawn silently."""
    from opencall.proposals.services import lifecycle

    assert lifecycle.WITHDRAWAL_STEPS == {"assignments_removed": rv.remove_open_assignments}
    w = _in_review(factory)
    monkeypatch.setattr(lifecycle, "WITHDRAWAL_STEPS", {})
    with factory() as s:
        with pytest.raises(RuntimeError, match="reviews"):
            lifecycle.withdraw(s, s.get_one(Proposal, w["pid"]))
        s.rollback()
        assert s.get_one(Proposal, w["pid"]).status == "under_review"
