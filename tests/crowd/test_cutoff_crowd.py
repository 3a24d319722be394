"""A crowd at a continuous call's review cut-off, on a slow, flaky link, through the JSON
API: applicants submit in the last seconds before the cut-off, their answers are lost,
and they send the same submission again after the cut-off has passed and the batch was
cut (the user office's ``POST /calls/{slug}/batches``, or cron). What was acknowledged
before the cut-off must be in batch 1, once, at the revision acknowledged; a retry is
answered with that revision and writes nothing, whether it carries the first attempt's
``Idempotency-Key`` (replayed), a new key, or none (a client that does not keep keys),
or is the editor's form sent again by a browser (back to the dashboard).

Before the fix, a retry without the first attempt's key, after the cut, was refused
(400 "This proposal is under_review and can no longer be edited."): an applicant whose
proposal counts was told that their submission failed; the form sent again answered 404. The same held for a call with one
deadline once it was closed (a retry between the deadline and the close was answered
already). A changed submission after the cut-off is still refused with the deadline's
words (for a batch: it is closed), and nothing changes."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.people import services as people_services
from opencall.proposals.models import Proposal, ProposalRevision
from tests import factories as F
from tests.web.conftest import Web, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

C1 = F.NOW + dt.timedelta(days=3)  # the first review cut-off
N = 8  # applicants in the crowd


def _world(s: Session) -> tuple[str, str, list[tuple[int, str]]]:
    call = F.fast_call(s, status="draft", requires_pdf=False)
    call.mode = "continuous"
    call.cutoffs = [C1.isoformat(), call.closes_at.isoformat()]
    call.decision_days = 14
    cycle.transition_call(s, call, "open", now=F.NOW)
    office = F.user(s, email="office@rolling.example")
    people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
    _t, office_token = people_services.create_api_token(s, office, "office", now=F.NOW, days=365)
    crowd = []
    for i in range(N):
        pi = F.user(s, email=f"crowd{i}@lab.example", institution=f"Lab {i}", country="BRA")
        p = F.full_proposal(s, call, pi)
        _t, raw = people_services.create_api_token(s, pi, "crowd", now=F.NOW, days=365)
        crowd.append((p.id, raw))
    s.flush()
    return call.slug, office_token, crowd


def _submit(web: Web, pid: int, token: str, key: str | None) -> Any:
    h = {"Authorization": f"Bearer {token}"}
    if key is not None:
        h["Idempotency-Key"] = key
    return web.client().post(f"/api/v1/proposals/{pid}/submit", headers=h, json={})


def _facts(s: Session) -> tuple[int, int]:
    return (
        s.scalar(select(func.count()).select_from(ProposalRevision)) or 0,
        s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "proposal.submitted")
        )
        or 0,
    )


def test_a_crowd_retrying_across_the_cutoff_and_the_cut(web: Web) -> None:
    with web.factory() as s:
        slug, office, crowd = _world(s)
        s.commit()
    first: dict[int, dict[str, Any]] = {}
    # the last seconds before the cut-off: everyone submits (half with a key); the
    # answers are lost on the way back (each received a tenth of a second after the last)
    for i, (pid, token) in enumerate(crowd):
        with time_machine.travel(C1 - dt.timedelta(seconds=3 - i / 10), tick=False):
            r = _submit(web, pid, token, f"crowd-{i}" if i % 2 == 0 else None)
            assert r.status_code == 200, r.text
            first[pid] = r.json()
    # just after the cut-off, before the cut: the first quarter sends it again
    with time_machine.travel(C1 + dt.timedelta(seconds=1), tick=True):
        for i, (pid, token) in enumerate(crowd[: N // 4]):
            r = _submit(web, pid, token, f"crowd-{i}" if i % 2 == 0 else None)
            assert r.status_code == 200, r.text
            assert r.json()["submitted_at"] == first[pid]["submitted_at"]
    with web.factory() as s:
        before = _facts(s)
        revision = dict(s.execute(select(Proposal.id, Proposal.current_revision_id)).all())
    # the user office cuts the batch; then everyone retries: same key, a new key, none
    with time_machine.travel(C1 + dt.timedelta(seconds=20), tick=True):
        r = web.client().post(
            f"/api/v1/calls/{slug}/batches", headers={"Authorization": f"Bearer {office}"}
        )
        assert r.status_code == 200, r.text
        assert [b["proposals"] for b in r.json()["batches"]] == [N]
        answers = Counter()
        for i, (pid, token) in enumerate(crowd):
            for key in (f"crowd-{i}", f"again-{i}", None):
                r = _submit(web, pid, token, key)
                answers[r.status_code] += 1
                assert r.status_code == 200, (i, key, r.status_code, r.text)
                got = r.json()
                assert got["submitted_at"] == first[pid]["submitted_at"], got
                if r.headers.get("idempotent-replayed") != "true":
                    assert got["status"] == "under_review", got
        assert answers == {200: 3 * N}
        # a browser sends the form again (a reload of the POST): back to the dashboard
        page = web.client()
        token = "crowd-csrf-token"
        page.cookies.set("oc_session", session_cookie(web, "crowd0@lab.example", token))
        r = page.post(f"/proposals/{crowd[0][0]}/submit", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"].startswith("/dashboard"), (
            r.status_code,
            r.text[:500],
        )
        # changed content after the cut: refused, nothing changes
        pid, token = crowd[-1]
        h = {"Authorization": f"Bearer {token}"}
        full = web.client().get(f"/api/v1/proposals/{pid}/full", headers=h).json()
        r = web.client().patch(
            f"/api/v1/proposals/{pid}",
            headers=h,
            json={"version": full["version"], "title": "Changed after the cut"},
        )
        assert r.status_code in (400, 409), r.text
    with web.factory() as s:
        # nothing written by the retries; each proposal once, in batch 1, as submitted
        assert _facts(s) == before
        batch = s.scalars(select(Call).where(Call.parent_id.is_not(None))).one()
        rows = s.execute(
            select(Proposal.id, Proposal.call_id, Proposal.status, Proposal.current_revision_id)
        ).all()
        assert sorted(r.id for r in rows) == sorted(pid for pid, _ in crowd)
        for row in rows:
            assert (row.call_id, row.status) == (batch.id, "under_review"), row
            assert row.current_revision_id == revision[row.id], row


def test_a_retry_after_the_close_of_a_call_with_one_deadline(web: Web) -> None:
    with web.factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        pi = F.user(s, email="late-retry@lab.example")
        p = F.full_proposal(s, call, pi)
        _t, token = people_services.create_api_token(s, pi, "one", now=F.NOW, days=365)
        pid, closes = p.id, call.closes_at
        s.commit()
    with time_machine.travel(closes - dt.timedelta(seconds=2), tick=True):
        r = _submit(web, pid, token, None)
        assert r.status_code == 200, r.text
        at = r.json()["submitted_at"]
    with web.factory() as s:
        call = s.get(Call, s.get(Proposal, pid).call_id)  # type: ignore[union-attr]
        assert call is not None
        cycle.transition_call(s, call, "closed", now=closes + dt.timedelta(seconds=1))
        s.commit()
        before = _facts(s)
    with time_machine.travel(closes + dt.timedelta(seconds=30), tick=True):
        r = _submit(web, pid, token, None)
        assert r.status_code == 200, r.text
        assert r.json()["submitted_at"] == at and r.json()["status"] == "under_review"
    with web.factory() as s:
        assert _facts(s) == before
