"""A hand assignment invites the reviewer by e-mail whichever door the chair uses: the
web's form and the API's POST take one path (defect: the API's sent no mail)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opencall.jobs import Job
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle, Web, csrf


def _invitations_to(web: Web, email: str) -> list[dict[str, Any]]:
    with web.factory() as s:
        out = []
        for job in s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)):
            payload = job.payload or {}
            for m in payload.get("messages", [payload]):
                if m.get("to") == email:
                    out.append(m)
        return out


def _other_proposal(web: Web, cycle: Cycle) -> int:
    with web.factory() as s:
        ids = s.scalars(
            select(Proposal.id).where(Proposal.call_id == cycle.ids["call"]).order_by(Proposal.id)
        ).all()
    return [i for i in ids if i != cycle.ids["proposal"]][0]


def test_the_api_hand_assignment_mails_the_reviewer(web: Web, cycle: Cycle) -> None:
    email = cycle.emails["unassigned"]
    before = len(_invitations_to(web, email))
    with web.factory() as s:
        chair = user_by_email(s, cycle.emails["chair"])
        assert chair is not None
        _t, raw = people_services.create_api_token(s, chair, "hand")
        s.commit()
    pid = _other_proposal(web, cycle)
    r = web.client().post(
        f"/api/v1/calls/{cycle.slug}/assignments",
        headers={"Authorization": f"Bearer {raw}"},
        json={"proposal_id": pid, "reviewer_id": cycle.ids["reviewer"]},
    )
    assert r.status_code == 201, r.text
    mails = _invitations_to(web, email)
    assert len(mails) == before + 1
    assert "invited to review" in mails[-1]["subject"]
    # a refused pair (already assigned) mails nothing more
    r = web.client().post(
        f"/api/v1/calls/{cycle.slug}/assignments",
        headers={"Authorization": f"Bearer {raw}"},
        json={"proposal_id": pid, "reviewer_id": cycle.ids["reviewer"]},
    )
    assert r.status_code == 400
    assert len(_invitations_to(web, email)) == before + 1


def test_the_web_hand_assignment_mails_the_reviewer_too(web: Web, cycle: Cycle) -> None:
    email = cycle.emails["unassigned"]
    before = len(_invitations_to(web, email))
    chair = web.login(cycle.emails["chair"])
    pid = _other_proposal(web, cycle)
    r = chair.post(
        f"/manage/calls/{cycle.slug}/assignment/add",
        data={
            "csrf_token": csrf(chair, "/review"),
            "proposal_id": str(pid),
            "reviewer_id": str(cycle.ids["reviewer"]),
        },
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text
    with web.factory() as s:
        assert s.scalar(
            select(ReviewAssignment.id).where(
                ReviewAssignment.proposal_id == pid,
                ReviewAssignment.reviewer_id == cycle.ids["reviewer"],
            )
        )
    assert len(_invitations_to(web, email)) == before + 1
