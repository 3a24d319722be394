"""A proposal keeps a bounded number of submitted versions (trialcrowd15). Each
submission of changed content froze a new revision: a whole copy of the proposal (a
science case of up to 200,000 characters, the team, up to 100 requests) kept for good,
with an audit event and a receipt mailed. A script changing one character and submitting
again made revisions without end, at the pace of its requests. Now a proposal keeps at
most ``proposals.services.lifecycle.MAX_REVISIONS``; beyond, a submission of new content
is refused (400, the bound said), nothing written or mailed, the last submitted version
still the one that counts. Content of an earlier revision submitted again makes none and
is taken."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.auditlog import AuditEvent
from opencall.jobs import Job
from opencall.proposals.models import Proposal, ProposalRevision
from opencall.proposals.services import lifecycle
from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def _state(web: Web, pid: int) -> tuple[int, int | None, int, int]:
    with web.factory() as s:
        revs = s.scalar(
            select(func.count(ProposalRevision.id)).where(ProposalRevision.proposal_id == pid)
        )
        p = s.get(Proposal, pid)
        assert p is not None
        events = s.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "proposal.submitted")
        )
        mails = s.scalar(select(func.count(Job.id)).where(Job.kind == "mail"))
        return revs or 0, p.current_revision_id, events or 0, mails or 0


def test_a_proposal_keeps_a_bounded_number_of_revisions(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "MAX_REVISIONS", 2, raising=False)
    pid = world.ids["proposal"]
    bearer = api_bearer(web, world.emails["pi"])
    api = web.client()

    def edit_and_submit(title: str) -> Any:
        full = api.get(f"/api/v1/proposals/{pid}/full", headers=bearer).json()
        body = {"version": full["version"], "title": title}
        r = api.patch(f"/api/v1/proposals/{pid}", headers=bearer, json=body)
        assert r.status_code == 200, r.text
        return api.post(f"/api/v1/proposals/{pid}/submit", headers=bearer)

    first = edit_and_submit("A survey of faint radio relics, take 1")
    assert first.status_code == 200, first.text
    assert edit_and_submit("A survey of faint radio relics, take 2").status_code == 200
    web.settle()
    before = _state(web, pid)
    third = edit_and_submit("A survey of faint radio relics, take 3")
    assert third.status_code == 400, third.text
    assert "2 different versions" in third.json()["detail"]
    web.settle()
    assert _state(web, pid) == before
    # the first version's content again: no new revision, taken
    again = edit_and_submit("A survey of faint radio relics, take 1")
    assert again.status_code == 200, again.text
    assert _state(web, pid)[0] == 2
