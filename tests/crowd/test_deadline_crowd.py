"""Two hundred applicants submit in the last minute before a call's deadline (trialcrowd12),
through the in-process app's JSON API, in concurrent bursts (one event loop, as a server
has, its routes on the threadpool), on SQLite and PostgreSQL. The deadline is stated on the
call's clock, in a zone a quarter of an hour off the hour (Asia/Kathmandu, UTC+05:45).

What must hold: no answer is a 5xx; every submission received before the deadline, up to
its last millisecond, is acknowledged (200) and is in the database as acknowledged (its
revision, its time, one audit event), also when it was sent twice at once (a double click:
both answers the same); every one received at the deadline's second or after
is refused with the deadline's message and leaves a draft without a revision."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]

ZONE = "Asia/Kathmandu"
LOCAL_DEADLINE = dt.datetime(2027, 4, 15, 17, 0)  # on the call's clock
DEADLINE = LOCAL_DEADLINE.replace(tzinfo=zoneinfo.ZoneInfo(ZONE)).astimezone(dt.UTC)
# the bursts: when each arrives, in seconds from the deadline, and how many applicants
BEFORE = [-60, -45, -30, -20, -10, -5, -2, -1, -0.5, -0.001]
AFTER = [0, 0.001, 1]
BURST = 19  # 190 applicants before the deadline
LATE = 10  # and 10 at or after it (4, 3, 3)
TWICE = -0.5  # the burst whose applicants each send their submission twice at once
N = len(BEFORE) * BURST + LATE


def _world(s: Session) -> tuple[str, list[tuple[int, str]]]:
    fac = F.fast_facility(s)
    doc: dict[str, Any] = {
        "slug": "kathmandu",
        "code": "KTM",
        "title": "The last minute",
        "cycle": "2027",
        "time_zone": ZONE,
        "opens_at": dt.datetime(2027, 3, 1, 0, 0),
        "closes_at": LOCAL_DEADLINE,
        "form": {"receivers": F.RECEIVERS, "modes": F.MODES, "requires_pdf": False},
    }
    call = call_services.create_call(s, fac, doc)
    for p in F.lst_pools(s, fac):
        call_services.offer_pool(s, call, p, amount=float(p.amount))
    cycle.transition_call(s, call, "open", now=F.NOW)
    crowd = []
    for i in range(N):
        pi = F.user(s, email=f"last{i}@himalaya.example", country="NPL")
        p = F.full_proposal(s, call, pi)
        _t, raw = people_services.create_api_token(s, pi, "t", now=F.NOW, days=365)
        crowd.append((p.id, raw))
    s.flush()
    return call.slug, crowd


def _burst(web: Web, at: dt.datetime, who: list[tuple[int, str]]) -> list[Any]:
    """``who`` submit at once, received at ``at`` (the clock stands still meanwhile)."""

    def submit(one: tuple[int, str]) -> Any:
        pid, token = one
        return web.client().post(
            f"/api/v1/proposals/{pid}/submit",
            headers={"Authorization": f"Bearer {token}"},
            json={},
        )

    with time_machine.travel(at, tick=False), ThreadPoolExecutor(len(who)) as pool:
        return list(pool.map(submit, who))


def test_two_hundred_applicants_in_the_last_minute(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        slug, crowd = _world(s)
        s.commit()
        assert s.scalars(select(Call).where(Call.slug == slug)).one().closes_at == DEADLINE
    assert DEADLINE == dt.datetime(2027, 4, 15, 11, 15, tzinfo=dt.UTC)
    answers: dict[int, list[tuple[float, Any]]] = {}
    codes: Counter[int] = Counter()
    todo = iter(crowd)
    arrivals = [(t, BURST) for t in BEFORE] + list(zip(AFTER, (4, 3, 3), strict=True))
    for seconds, n in arrivals:
        who = [next(todo) for _ in range(n)]
        if seconds == TWICE:  # a double click: each sends the same submission twice at once
            who += who
        for (pid, _token), r in zip(
            who, _burst(web, DEADLINE + dt.timedelta(seconds=seconds), who), strict=True
        ):
            codes[r.status_code] += 1
            assert r.status_code < 500, (seconds, r.status_code, r.text)
            answers.setdefault(pid, []).append((seconds, r))
    assert codes == {200: (len(BEFORE) + 1) * BURST, 400: LATE}, codes
    with web.factory() as s:
        rows = {
            r.id: r
            for r in s.execute(
                select(
                    Proposal.id,
                    Proposal.status,
                    Proposal.submitted_at,
                    Proposal.current_revision_id,
                )
            ).all()
        }
        submitted = Counter(
            s.scalars(
                select(AuditEvent.entity_id).where(AuditEvent.action == "proposal.submitted")
            ).all()
        )
        assert s.scalar(select(func.count(Proposal.id))) == N
    for pid, sent in answers.items():
        row = rows[pid]
        seconds, r = sent[0]
        assert [x.json() for _, x in sent[1:]] == [r.json()] * (len(sent) - 1), sent
        if seconds < 0:  # acknowledged: kept as acknowledged, up to the last millisecond
            assert r.status_code == 200, (seconds, r.text)
            got = r.json()
            assert row.status == "submitted" and row.current_revision_id is not None, row
            assert row.submitted_at == DEADLINE + dt.timedelta(seconds=seconds), row
            assert dt.datetime.fromisoformat(got["submitted_at"]) == row.submitted_at, got
            assert submitted[str(pid)] == 1, pid
        else:  # at the deadline's second or after: refused, nothing written
            assert r.status_code == 400 and "The deadline passed" in r.json()["detail"], r.text
            assert row.status == "draft" and row.current_revision_id is None, row
            assert submitted[str(pid)] == 0, pid
