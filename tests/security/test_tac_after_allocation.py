"""The TAC chair's changes and the release (trialcrowd19). A move or a band acknowledged
("saved") after the allocation ran was lost at the release: the decisions released were
those of the calibrated order, while the chair's list (and its audit) said otherwise, and
the applicant never read the chair's reason. And on PostgreSQL a change checked before a
lock or a release landed after it (the change read "open", the lock or the release
committed, then the change did). Now the release refuses decisions older than the chair's
last change ("run the allocation again"), and a change, the lock and the release are
serialised on the call's row, each re-reading the call after its wait."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall import auditlog
from opencall.allocation import services as al
from opencall.allocation import tac
from opencall.allocation.models import TacAdjustment, TacLock
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.proposals.models import Proposal
from tests.allocation.test_tac import _outcomes, _ranked, _web_world
from tests.api.test_writes import token
from tests.security.races import recorded
from tests.web.conftest import Web, csrf


def test_a_move_after_the_allocation_is_not_released_unseen(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    al.run_allocation(s, call)  # the calibrated order: the first two awarded
    tac.adjust(s, call, props[3], move=3, reason="Unique timing window.")
    # acknowledged ("saved"), but the decisions are the calibrated order's
    with pytest.raises(DomainError, match="allocation again"):
        al.release_decisions(s, call)
    assert call.decisions_released_at is None
    assert {p.status for p in props} == {"under_review"}
    al.run_allocation(s, call)  # again: the chair's order
    al.release_decisions(s, call)
    awarded = {pid for pid, o in _outcomes(s, call).items() if o == "awarded"}
    assert awarded == {props[0].id, props[3].id}


def test_a_band_after_the_allocation_is_not_released_unseen(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    tac.adjust(s, call, props[2], move=1, reason="Strong case.")
    al.run_allocation(s, call)
    tac.adjust(s, call, props[0], band="reject", reason="Not feasible at this site.")
    with pytest.raises(DomainError, match="allocation again"):
        al.release_decisions(s, call)
    al.run_allocation(s, call)
    assert al.release_decisions(s, call) == len(props)
    assert _outcomes(s, call)[props[0].id] != "awarded"


def test_without_a_change_since_the_allocation_the_release_goes_on(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    tac.adjust(s, call, props[3], move=1, reason="Good fit.")
    al.run_allocation(s, call)
    assert al.release_decisions(s, call) == len(props)


# ----------------------------------------------------------------- at the same moment (PG)


def _world(factory: sessionmaker[Session], allocate: bool) -> tuple[int, list[int]]:
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("two transactions at once: PostgreSQL (SQLite writes one at a time)")
        call, props, _ = _ranked(s)
        if allocate:
            al.run_allocation(s, call)
        s.commit()
        return call.id, [p.id for p in props]


def _call(s: Session, call_id: int) -> Call:
    call = s.get(Call, call_id)
    assert call is not None
    return call


def _kept(factory: sessionmaker[Session], call_id: int) -> tuple[int, Call]:
    """The chair's changes kept, and the call as it is now."""
    with factory() as s:
        kept = s.scalar(select(func.count(TacAdjustment.id))) or 0
        return kept, _call(s, call_id)


def _race(
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    call_id: int,
    pid: int,
    other: Callable[[Session, Call], Any],
) -> dict[str, str]:
    """The chair's move passes its checks; then ``other`` runs to its commit; then the move
    writes. With the call's row locked by the move, ``other`` waits for it instead (the
    move gives up waiting after 3 s and commits first)."""
    checked, other_done = threading.Event(), threading.Event()
    real = tac._require_open

    def require_open(session: Session, call: Call) -> None:
        real(session, call)
        if threading.get_ident() == moving[0]:
            checked.set()
            other_done.wait(3)

    moving: list[Any] = [None]
    monkeypatch.setattr(tac, "_require_open", require_open)
    outcome: dict[str, str] = {}

    def run(name: str, work: Callable[[Session, Call], Any]) -> None:
        if name == "move":
            moving[0] = threading.get_ident()
        else:
            checked.wait(3)
        recorded(factory, outcome, name, lambda s: work(s, _call(s, call_id)))
        if name != "move":
            other_done.set()

    def move(s: Session, call: Call) -> None:
        p = s.get(Proposal, pid)
        assert p is not None
        tac.adjust(s, call, p, move=1, reason="Late but sound.")

    threads = [
        threading.Thread(target=run, args=("move", move)),
        threading.Thread(target=run, args=("other", other)),
    ]
    threads[0].start()
    threads[1].start()
    for t in threads:
        t.join(60)
    return outcome


def _no_change_after_the_lock(
    factory: sessionmaker[Session], outcome: dict[str, str], kept: int, call: Call
) -> None:
    with factory() as s:
        locks = s.scalar(select(func.count()).select_from(TacLock)) or 0
        ev = s.scalars(
            select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "tac.locked")
        ).one()
    assert outcome["other"] == "done" and locks == 1, outcome
    # the lock counted every change kept: none landed after it
    assert ev.data["adjustments"] == kept, (outcome, kept)
    assert (outcome["move"] == "done") == (kept == 1), outcome


def _no_stale_decisions_released(
    factory: sessionmaker[Session], outcome: dict[str, str], kept: int, call: Call
) -> None:
    released = call.decisions_released_at is not None
    # one of the two: a change to a released list, or decisions older than the list
    assert list(outcome.values()).count("done") == 1, outcome
    assert (released, kept) in ((True, 0), (False, 1)), outcome


RACES: list[tuple[str, bool, Callable[[Session, Call], Any], Any]] = [
    ("lock", False, lambda s, c: tac.lock(s, c), _no_change_after_the_lock),
    ("release", True, lambda s, c: al.release_decisions(s, c), _no_stale_decisions_released),
]


@pytest.mark.parametrize(("name", "allocate", "other", "check"), RACES, ids=[r[0] for r in RACES])
def test_a_move_and_the_lock_or_the_release_at_once(
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    allocate: bool,
    other: Callable[[Session, Call], Any],
    check: Any,
) -> None:
    call_id, pids = _world(factory, allocate=allocate)
    outcome = _race(factory, monkeypatch, call_id, pids[3], other)
    assert sorted(outcome) == ["move", "other"], outcome
    kept, call = _kept(factory, call_id)
    check(factory, outcome, kept, call)


def move_up(c: Any, slug: str, pid: int, places: int) -> Any:
    """The chair's move of ``pid`` ``places`` up, posted on the list's page."""
    form = {"action": "move", "direction": "up", "places": str(places)}
    form |= {
        "reason": "A unique timing window.",
        "csrf_token": csrf(c, f"/manage/calls/{slug}/tac"),
    }
    return c.post(f"/manage/calls/{slug}/tac/{pid}", data=form)


def test_the_release_page_and_the_api_say_why_and_change_nothing(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        al.run_allocation(s, call)
        s.commit()
    c = web.login(chair, "fr")
    assert move_up(c, slug, ids[3], 3).status_code == 303
    t = csrf(c, f"/manage/calls/{slug}/decisions")
    r = c.post(f"/manage/calls/{slug}/release", data={"csrf_token": t, "confirm": "yes"})
    assert r.status_code == 400 and "relancez l&#39;allocation" in r.text
    r = web.client().post(f"/api/v1/calls/{slug}/release", headers=token(web, chair))
    assert r.status_code == 400 and "run the allocation again" in r.json()["detail"]
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        assert call.decisions_released_at is None
        assert {
            p.status for p in s.scalars(select(Proposal).where(Proposal.call_id == call.id))
        } == {"under_review"}
