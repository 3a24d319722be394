"""A conflict declared by a reviewer after the assignment, sent twice (trialrev20b): the
browser resends the form, or the API client retries after a lost answer. Before, the
second declaration answered 404 (the assignment was already removed). Now it gets the
first one's answer and changes nothing: one conflict kept, one audit event, and nothing
about the proposal appears on the reviewer's pages afterwards."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall.auditlog import AuditEvent
from opencall.proposals.models import Proposal
from opencall.reviews.models import Conflict, ReviewAssignment
from tests.review_cycle import Cycle, Web, csrf
from tests.web.conftest import api_bearer

WHY = "I examined the PI's student (trialrev20b)"


def _counts(web: Web, cycle: Cycle) -> tuple[str, int, int, str]:
    with web.factory() as s:
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None
        n = s.scalar(
            select(func.count(Conflict.id)).where(
                Conflict.proposal_id == a.proposal_id, Conflict.reviewer_id == a.reviewer_id
            )
        )
        audits = s.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "conflict.declared", AuditEvent.entity_id == str(a.id)
            )
        )
        p = s.get(Proposal, a.proposal_id)
        assert p is not None
        return a.status, int(n or 0), int(audits or 0), p.code


def test_a_conflict_sent_twice_from_the_page_answers_the_same(web: Web, cycle: Cycle) -> None:
    rev = web.login(cycle.emails["assigned"])
    aid = cycle.ids["assignment"]
    token = csrf(rev, f"/review/assignments/{aid}")
    form = {"csrf_token": token, "reason": WHY}
    first = rev.post(f"/review/assignments/{aid}/conflict", data=form)
    assert first.status_code == 303, first.text
    after_first = _counts(web, cycle)
    assert after_first[:3] == ("removed", 1, 1)
    again = rev.post(f"/review/assignments/{aid}/conflict", data=form)
    assert (again.status_code, again.headers.get("location")) == (
        first.status_code,
        first.headers["location"],
    ), again.text
    assert _counts(web, cycle) == after_first
    # nothing about the proposal on the reviewer's pages afterwards
    code = after_first[3]
    # its link says the review is no longer theirs (410, trialapp23), nothing of the proposal
    gone = rev.get(f"/review/assignments/{aid}")
    assert gone.status_code == 410 and code not in gone.text and WHY not in gone.text
    for path in ("/review", first.headers["location"]):
        page = rev.get(path)
        assert page.status_code == 200 and code not in page.text and WHY not in page.text
        assert f"/review/assignments/{aid}" not in page.text


def test_a_conflict_sent_twice_through_the_api_answers_the_same(web: Web, cycle: Cycle) -> None:
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    c = web.client()
    aid = cycle.ids["assignment"]
    first = c.post(f"/api/v1/assignments/{aid}/conflict", headers=headers, json={"reason": WHY})
    assert first.status_code == 201, first.text
    after_first = _counts(web, cycle)
    again = c.post(f"/api/v1/assignments/{aid}/conflict", headers=headers, json={"reason": WHY})
    assert (again.status_code, again.json()) == (201, first.json())
    assert _counts(web, cycle) == after_first
    assert after_first[:3] == ("removed", 1, 1)


def test_a_resend_is_no_way_into_someone_elses_assignment(web: Web, cycle: Cycle) -> None:
    """Only the reviewer who declared the conflict gets the answer again: another reviewer
    still gets 404 (page and API), nothing of the declaration in it."""
    aid = cycle.ids["conflicted_assignment"]  # "conflicted" declared on it when built
    other = web.login(cycle.emails["unassigned"])
    token = csrf(other, "/review")
    r = other.post(f"/review/assignments/{aid}/conflict", data={"csrf_token": token, "reason": WHY})
    assert r.status_code == 404
    headers = api_bearer(web, cycle.emails["unassigned"], scopes=("review",))
    api = web.client().post(
        f"/api/v1/assignments/{aid}/conflict", headers=headers, json={"reason": WHY}
    )
    assert api.status_code == 404 and "co-supervise" not in api.text
    owner = web.login(cycle.emails["conflicted"])
    r = owner.post(
        f"/review/assignments/{aid}/conflict",
        data={"csrf_token": csrf(owner, "/review"), "reason": WHY},
    )
    assert r.status_code == 303  # their own declaration, sent again
    with web.factory() as s:
        assert s.scalar(select(func.count(Conflict.id))) == 1
