"""A decline and a record at the same moment (trialcrowd18). An award in use (a record
kept on it) may not be declined: the PI must ask the user office. But the decline read
"no records" and the co-applicant's record read "awarded" in two transactions at once on
PostgreSQL: both were kept, a record of use on an award that no longer exists (its
rows deleted, its time offered to the next in line). Both now lock the proposal's row
first (``proposals.services.lock_for_write``): the second waits, then reads what the
first wrote and is refused."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation.models import AwardDecline
from opencall.errors import DomainError
from opencall.proposals.models import Proposal
from opencall.results import declines
from opencall.results import services as rs
from opencall.results.models import PostAwardRecord
from tests.results.decline_world import build


def test_a_decline_and_a_record_at_once_keep_one(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("two transactions at once: PostgreSQL (SQLite writes one at a time)")
        w = build(s)
        s.commit()
    pid, pi, coi = w.awarded[0], w.ids["pi"], w.ids["coi"]
    # each has read the proposal (and, before the fix, checked it) before either writes;
    # with the fix the second waits on the lock, and the first goes on alone after a hold
    both = threading.Barrier(2, timeout=3)

    def meet() -> None:
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass  # the other is waiting on the proposal's lock

    real_declined, real_awarded = declines.declined, rs.policies.is_awarded

    def declined(*a: Any, **kw: Any) -> Any:
        out = real_declined(*a, **kw)
        meet()
        return out

    def is_awarded(*a: Any, **kw: Any) -> Any:
        out = real_awarded(*a, **kw)
        meet()
        return out

    monkeypatch.setattr(declines, "declined", declined)
    monkeypatch.setattr(rs.policies, "is_awarded", is_awarded)
    outcome: dict[str, str] = {}

    def run(name: str, work: Any) -> None:
        with factory() as s:
            p = s.get(Proposal, pid)
            try:
                work(s, p)
                s.commit()
                outcome[name] = "done"
            except DomainError as exc:
                s.rollback()
                outcome[name] = exc.message

    session = {"observed_on": dt.date(2027, 3, 1).isoformat(), "observed_hours": 1.0}
    threads = [
        threading.Thread(
            target=run,
            args=("decline", lambda s, p: declines.decline_award(
                s, p, reason="other", note="moved", actor_id=pi)),
        ),
        threading.Thread(
            target=run,
            args=("record", lambda s, p: rs.add_record(
                s, p, "session", session, actor_id=coi)),
        ),
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with factory() as s:
        kept_decline = s.scalar(
            select(func.count(AwardDecline.id)).where(AwardDecline.proposal_id == pid)
        )
        kept_records = s.scalar(
            select(func.count(PostAwardRecord.id)).where(PostAwardRecord.proposal_id == pid)
        )
    assert sorted(outcome) == ["decline", "record"], outcome
    # one of the two, never both: a record on a declined award, or a decline of one in use
    assert (kept_decline, kept_records) in ((1, 0), (0, 1)), outcome
    assert list(outcome.values()).count("done") == 1, outcome
    (refused,) = [v for v in outcome.values() if v != "done"]
    assert refused.startswith(
        ("This award is already in use", "Records can be kept only for an awarded proposal")
    ), outcome
