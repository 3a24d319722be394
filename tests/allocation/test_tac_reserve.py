"""The TAC chair's list after the decisions (trialtac19): the reserve band takes the
capacity a declined award frees (first in the chair's order, the reject band never), the
office reopens a locked list with a reason until the decisions are released, and a
change made on a list that changed since it was read is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog, jobs
from opencall.allocation import services as al
from opencall.allocation import tac
from opencall.allocation.models import Decision, TacLock
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.results import declines
from opencall.reviews.models import Conflict
from opencall.reviews.policies import withheld
from tests import factories as F
from tests.allocation.test_tac import _counts, _ranked
from tests.api.test_writes import token
from tests.web.conftest import Web, csrf


def _released(s: Session) -> tuple[Call, list[Proposal]]:
    """Five proposals, the first two awarded; the chair put the fourth and fifth on the
    reserve list (the fifth moved above the fourth) and the third in the reject band;
    the decisions released. No quality threshold: the reserve band takes freed capacity
    under the call's policy, so a reserve proposal graded below a threshold is never
    offered it (trialpolicy22, ``tests/allocation/test_offer_under_policy.py``)."""
    call, props, _ = _ranked(s, 5)
    call.allocation_policy = {
        k: v for k, v in (call.allocation_policy or {}).items() if k != "quality_threshold"
    }
    tac.adjust(s, call, props[2], band="reject", reason="Not feasible this season.")
    tac.adjust(s, call, props[3], band="reserve", reason="Waits for a berth.")
    tac.adjust(s, call, props[4], band="reserve", reason="Student training.")
    tac.adjust(s, call, props[4], move=1, reason="Student training first.")
    al.run_allocation(s, call)
    out = {d.proposal_id: d.outcome for d in al.decisions(s, call)}
    assert [out[p.id] for p in props] == ["awarded", "awarded"] + ["not_awarded"] * 3
    al.release_decisions(s, call)
    return call, props


def _decline(s: Session, p: Proposal) -> None:
    declines.decline_award(s, p, reason="visa", actor_id=p.pi_user_id)


def _awarded(s: Session, call: Call) -> set[int]:
    return {int(r.proposal_id) for r in oq.applicant_records(s, call) if r.awarded}


def test_the_next_in_line_is_the_reserve_list_in_the_chairs_order(db: Session) -> None:
    s = db
    call, props = _released(s)
    _decline(s, props[0])
    line = [p.id for _rank, p, _a in al.next_in_line(s, call)]
    # the reserve band first, in the chair's order; never the reject band
    assert line[:2] == [props[4].id, props[3].id]
    assert props[2].id not in line


def test_the_reserve_takes_the_freed_capacity(db: Session) -> None:
    s = db
    call, props = _released(s)
    chair = F.user(s)
    assert _awarded(s, call) == {props[0].id, props[1].id}
    with pytest.raises(DomainError, match="follows a declined award"):
        tac.offer_reserve(s, call, actor_id=chair.id)
    _decline(s, props[0])
    got = tac.offer_reserve(s, call, actor_id=chair.id)
    assert got.decision.proposal_id == props[4].id and got.decision.outcome == "awarded"
    p4 = s.get(Proposal, props[4].id)
    assert p4 is not None and p4.status == "accepted"
    # explained to the applicant: the reserve list, the chair's reason, nobody else's code
    d = s.scalar(select(Decision).where(Decision.proposal_id == props[4].id))
    assert d is not None and "reserve list" in d.explanation
    assert "Student training." in d.explanation and props[0].code not in d.explanation
    assert d.explanation_msg is not None
    ev = s.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "tac.reserve_offered")
    ).one()
    assert ev.actor_id == chair.id and ev.data["proposal_id"] == props[4].id
    # the figures by income group, region and LDC status count the new award
    assert _awarded(s, call) == {props[0].id, props[1].id, props[4].id}
    # once every pool is awarded in full, the next reserve proposal does not fit:
    # refused, and nothing changes
    used = al.used_capacity(s, call)
    for cp in call.pools:
        cp.amount = used.get(cp.pool_id, 0.0)
    s.flush()
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="No proposal of the reserve list fits"):
        tac.offer_reserve(s, call, actor_id=chair.id)
    assert F.table_counts(s) == before


def test_no_reserve_list_no_offer(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s, 4)
    al.run_allocation(s, call)
    al.release_decisions(s, call)
    _decline(s, props[0])
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="no proposal on the reserve list"):
        tac.offer_reserve(s, call)
    assert F.table_counts(s) == before


def test_a_conflicted_member_does_not_make_the_reserve_offer(db: Session) -> None:
    s = db
    call, props = _released(s)
    _decline(s, props[0])
    chair = F.user(s)
    s.add(
        Conflict(call_id=call.id, proposal_id=props[4].id, reviewer_id=chair.id, source="personal")
    )
    s.flush()
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="another member of the call's staff"):
        tac.offer_reserve(s, call, actor_id=chair.id)
    assert F.table_counts(s) == before
    # nor is the proposal withheld from them skipped for the next one
    assert props[4].id in withheld(s, chair, call)


def test_the_office_unlocks_with_a_reason_until_the_release(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    office = F.user(s)
    tac.lock(s, call)
    before = _counts(s)
    with pytest.raises(DomainError, match="needs a reason"):
        tac.unlock(s, call, reason="  ", actor_id=office.id)
    assert _counts(s) == before
    tac.unlock(s, call, reason="A late technical report.", actor_id=office.id)
    assert s.get(TacLock, call.id) is None
    ev = s.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "tac.unlocked")
    ).one()
    assert ev.reason == "A late technical report." and ev.actor_id == office.id
    tac.adjust(s, call, props[3], move=1, reason="Rare target.")
    with pytest.raises(DomainError, match="not locked"):
        tac.unlock(s, call, reason="again")
    tac.lock(s, call)
    al.run_allocation(s, call)
    al.release_decisions(s, call)
    before = _counts(s)
    with pytest.raises(DomainError, match="released"):
        tac.unlock(s, call, reason="Too late.")
    assert _counts(s) == before


def test_a_change_on_a_list_that_changed_since_it_was_read_is_refused(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    seen = tac.version(s, call)
    tac.adjust(s, call, props[3], move=1, reason="Rare target.", seen=seen)
    # a second chair read the list before that move and moves by its places then
    before = _counts(s)
    with pytest.raises(DomainError, match="changed since you read it"):
        tac.adjust(s, call, props[2], move=2, reason="Timing.", seen=seen)
    assert _counts(s) == before
    tac.adjust(s, call, props[2], move=2, reason="Timing.", seen=tac.version(s, call))


def _web_world(web: Web) -> tuple[str, str, list[int], list[str]]:
    with web.factory() as s:
        call, props = _released(s)
        chair = F.user(s, email=f"tac19-{call.id}@example.org")
        people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
        s.commit()
        return call.slug, chair.email, [p.id for p in props], [p.code for p in props]


def _mails_to(web: Web, pid: int) -> int:
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        to = {u.email for m in p.members if (u := s.get(User, m.user_id)) is not None}
        return sum(
            1
            for j in s.scalars(select(jobs.Job).where(jobs.Job.kind == "mail"))
            if j.payload.get("to") in to
        )


def test_the_reserve_offer_on_the_page_and_the_api(web: Web) -> None:
    slug, chair, ids, codes = _web_world(web)
    with web.factory() as s:
        p = s.get(Proposal, ids[0])
        assert p is not None
        _decline(s, p)
        s.commit()
    c = web.login(chair)
    r = c.get(f"/manage/calls/{slug}/declines")
    assert r.status_code == 200 and 'id="reserve-offer"' in r.text
    t = csrf(c, f"/manage/calls/{slug}/declines")
    mails = _mails_to(web, ids[4])
    r = c.post(f"/manage/calls/{slug}/tac/reserve/offer", data={"csrf_token": t})
    assert r.status_code == 303
    assert _mails_to(web, ids[4]) > mails
    # the next of the reserve list by the API; then none is left: refused on the page
    # and by the API
    r = web.client().post(f"/api/v1/calls/{slug}/tac/reserve/offer", headers=token(web, chair))
    assert r.status_code == 200 and r.json()["proposal_code"] == codes[3]
    r = c.post(f"/manage/calls/{slug}/tac/reserve/offer", data={"csrf_token": t})
    assert r.status_code == 400 and "no proposal on the reserve list" in r.text
    r = web.client().post(f"/api/v1/calls/{slug}/tac/reserve/offer", headers=token(web, chair))
    assert r.status_code == 400 and "reserve list" in r.json()["detail"]
    with web.factory() as s:
        n = s.scalar(
            select(func.count())
            .select_from(Decision)
            .where(Decision.proposal_id.in_(ids), Decision.outcome == "awarded")
        )
        assert n == 4  # the declined award's decision stands as decided


def test_unlock_on_the_page_and_the_api(web: Web) -> None:
    with web.factory() as s:
        call, props, _ = _ranked(s)
        chair = F.user(s, email=f"tacu-{call.id}@example.org")
        people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
        tac.lock(s, call)
        s.commit()
        slug, email, ids = call.slug, chair.email, [p.id for p in props]
    c = web.login(email)
    r = c.get(f"/manage/calls/{slug}/tac")
    assert 'id="tac-unlock"' in r.text
    t = csrf(c, f"/manage/calls/{slug}/tac")
    r = c.post(f"/manage/calls/{slug}/tac", data={"csrf_token": t, "reason": ""})
    assert r.status_code == 400 and "needs a reason" in r.text
    r = c.post(f"/manage/calls/{slug}/tac", data={"csrf_token": t, "reason": "Late report."})
    assert r.status_code == 303
    r = c.get(f"/manage/calls/{slug}/tac")
    assert (
        'id="tac-locked"' not in r.text and f'action="/manage/calls/{slug}/tac/{ids[0]}"' in r.text
    )
    h = token(web, email)
    api = web.client()
    body: dict[str, Any] = {"move": 1, "reason": "Rare target.", "seen": 0}
    r = api.post(f"/api/v1/calls/{slug}/tac/{ids[3]}", headers=h, json=body)
    assert r.status_code == 200
    # a stale change (the list moved on) is refused
    r = api.post(f"/api/v1/calls/{slug}/tac/{ids[2]}", headers=h, json=body)
    assert r.status_code == 400 and "changed since you read it" in r.json()["detail"]
    assert r.json()["detail"]
    assert api.get(f"/api/v1/calls/{slug}/tac", headers=h).json()["version"] == 1
    r = api.post(f"/api/v1/calls/{slug}/tac/lock", headers=h)
    assert r.status_code == 200
    r = api.post(f"/api/v1/calls/{slug}/tac/unlock", headers=h, json={"reason": ""})
    assert r.status_code == 400
    # a chair (not the user office) does not reopen it
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        tac_chair = F.user(s, email=f"tacchair-{call.id}@example.org")
        people_services.grant_role(s, tac_chair.id, "chair", call_id=call.id)
        s.commit()
    r = api.post(
        f"/api/v1/calls/{slug}/tac/unlock",
        headers=token(web, tac_chair.email),
        json={"reason": "Reopened."},
    )
    assert r.status_code == 404
    r = api.post(f"/api/v1/calls/{slug}/tac/unlock", headers=h, json={"reason": "Reopened."})
    assert r.status_code == 200 and r.json()["locked_at"] is None
    # the French page says it in French
    r = web.login(email, "fr").get(f"/manage/calls/{slug}/tac")
    assert r.status_code == 200


def test_the_preview_solves_each_problem_once(db: Session, monkeypatch: Any) -> None:
    """The preview solved the allocation twice on every view (round 18): without a change
    by the chair the two orders are one problem, and a problem solved already (the
    calibrated order's, after a move; either, on a second view) is not solved again."""
    from opencall.optim import allocation as opt

    s = db
    call, props, _ = _ranked(s)
    solved: list[int] = []
    real = opt.solve_allocation

    def counting(problem: Any, **kw: Any) -> Any:
        solved.append(len(problem.requests))
        return real(problem, **kw)

    monkeypatch.setattr(opt, "solve_allocation", counting)
    # solves kept from an earlier test of this process (the same problem in a database
    # made again, as on PostgreSQL) would answer the first view
    monkeypatch.setattr(tac, "_SOLVED", type(tac._SOLVED)())
    first = tac.preview(s, call, frozenset())
    assert len(solved) == 1
    assert all(x.change == "same" for x in first.places)
    tac.preview(s, call, frozenset())
    assert len(solved) == 1
    tac.adjust(s, call, props[3], move=3, reason="Unique timing window.")
    seen = tac.preview(s, call, frozenset())
    assert len(solved) == 2  # the chair's order only
    assert {x.proposal_id: x.change for x in seen.places}[props[3].id] == "gains"
    tac.preview(s, call, frozenset())
    assert len(solved) == 2
    # the figures are those of two fresh solves
    fresh = tac.preview(s, call, frozenset(), reuse=False)
    assert [(x.before, x.after) for x in fresh.places] == [(x.before, x.after) for x in seen.places]
    assert fresh.groups == seen.groups


def test_the_chairs_problem_from_the_calibrated_one_is_the_one_built(db: Session) -> None:
    """The preview builds the problem once and reorders it: what it solves in the chair's
    order is the problem the allocation builds in the chair's order (moves and bands)."""
    s = db
    call, props, _ = _ranked(s, 5)
    problem, meta = al.build_problem(s, call, chair_order=False)
    assert tac.chair_problem(s, call, problem, meta) is problem  # no change: the same
    tac.adjust(s, call, props[4], move=3, reason="Rare target.")
    tac.adjust(s, call, props[0], band="reserve", reason="Waits for a berth.")
    tac.adjust(s, call, props[2], band="accept", reason="Student training.")
    tac.adjust(s, call, props[1], band="reject", reason="Not feasible.")
    built, _meta = al.build_problem(s, call, chair_order=True)
    derived = tac.chair_problem(s, call, problem, meta)
    assert derived == built and derived != problem
