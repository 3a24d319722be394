"""A hand assignment mails the reviewer an invitation; a script that assigns, removes and
assigns one reviewer again (``POST`` and ``DELETE /api/v1/calls/{slug}/assignments``)
mailed them each time. Before the fix, five rounds queued five invitations to one address
in a minute; the invitations now go within the per-address e-mail throttle
(``OPENCALL_MAIL_THROTTLE_PER_HOUR``, 3), as the team invitations do: each assignment is
still made, and waits on the reviewer's page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.jobs import Job
from opencall.people import services as people_services
from tests import factories as F
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_assign_remove_assign_mails_a_reviewer_within_the_throttle(web: Web) -> None:
    with web.factory() as s:
        call, props, reviewers = F.call_in_review(s, 1, 1)
        chair = F.user(s)
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        _t, token = people_services.create_api_token(s, chair, "chair", now=F.NOW, days=365)
        slug, pid, rid, email = call.slug, props[0].id, reviewers[0].id, reviewers[0].email
        s.commit()
    http = web.client()
    h = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/calls/{slug}/assignments"
    made = 0
    for _ in range(5):
        r = http.post(path, headers=h, json={"proposal_id": pid, "reviewer_id": rid})
        assert r.status_code == 201, r.text
        made += 1
        r = http.delete(f"{path}/{r.json()['id']}", headers=h, params={"reason": "again"})
        assert r.status_code == 204, r.text
    assert made == 5
    with web.factory() as s:
        sent = [
            m
            for payload in s.scalars(select(Job.payload).where(Job.kind == "mail"))
            for m in payload.get("messages", [])
            if m["to"] == email
        ]
    assert len(sent) == web.settings.mail_throttle_per_hour == 3, len(sent)
