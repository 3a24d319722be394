"""The chair removes a submitted review through the API, as the assignment page does after
misconduct (trialrev14): before, ``DELETE /calls/{slug}/assignments/{id}`` had no way to
say "the submitted review", so every such removal was refused ("A submitted review cannot
be unassigned.") and an API client could not do what the page does."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.auditlog import AuditEvent
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle, Web
from tests.reviews.test_review_struck import submitted_and_calibrated
from tests.web.conftest import api_bearer


def test_the_chair_removes_a_submitted_review_through_the_api(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    aid = cycle.ids["assignment"]
    submitted_and_calibrated(factory, aid, "fine")
    headers = api_bearer(web, cycle.emails["chair"], scopes=("manage",))
    c = web.client()
    path = f"/api/v1/calls/{cycle.slug}/assignments/{aid}"

    def status() -> str:
        with factory() as s:
            return s.get(ReviewAssignment, aid).status  # type: ignore[union-attr]

    # a removal meant for an unsubmitted assignment is refused, as on the page
    r = c.delete(path, headers=headers, params={"reason": "slow"})
    assert r.status_code == 400 and "submitted review" in r.json()["detail"]
    # the submitted review without a reason: refused, naming the field; nothing changes
    r = c.delete(path, headers=headers, params={"submitted_review": "true", "reason": " "})
    assert r.status_code == 400 and r.json()["detail"].startswith("reason"), r.text
    assert status() == "submitted"
    r = c.delete(
        path, headers=headers, params={"submitted_review": "true", "reason": "Grades traded"}
    )
    assert r.status_code == 204, r.text
    assert status() == "removed"
    with factory() as s:
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "review.removed", AuditEvent.entity_id == str(aid)
            )
        ).one()
        assert ev.reason == "Grades traded"
    # and the flag on an assignment that is not submitted is refused
    r = c.delete(path, headers=headers, params={"submitted_review": "true", "reason": "again"})
    assert r.status_code in (400, 404)
