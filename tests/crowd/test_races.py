"""Issue 12: races at the deadline, each run with real threads and one session per
thread (as the server's worker threads do), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals import services
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.web.conftest import make_open


def run_together(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i)`` in ``n`` threads released at the same instant."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait(30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results, errors


def test_concurrent_drafts_get_distinct_codes(factory: sessionmaker[Session]) -> None:
    """Before the fix the code was count(proposals) + 1, read without a lock: drafts
    created at the same instant got the same code and all but one failed with a
    uniqueness violation (a 500)."""
    n = 12
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        users = [F.user(s, email=f"draft{i}@example.org") for i in range(n)]
        s.commit()
        call_id, user_ids, code = call.id, [u.id for u in users], call.code

    def create(i: int) -> str:
        with factory() as s:
            from opencall.calls.models import Call

            c = s.get(Call, call_id)
            u = s.get(User, user_ids[i])
            assert c is not None and u is not None
            p = services.create_proposal(s, c, u, title=f"Draft {i}")
            s.commit()
            return p.code

    codes, errors = run_together(n, create)
    assert errors == []
    assert sorted(codes) == [f"{code}-{k:04d}" for k in range(1, n + 1)]
    with factory() as s:
        assert s.scalar(select(Proposal.id).where(Proposal.call_id == call_id).limit(1))
        assert len(set(s.scalars(select(Proposal.code).where(Proposal.call_id == call_id)))) == n


def test_codes_continue_after_existing_proposals(factory: sessionmaker[Session]) -> None:
    """The counter of a call that already has proposals starts after them, and skips a
    code still in use."""
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        a = services.create_proposal(s, call, F.user(s), title="A")
        b = services.create_proposal(s, call, F.user(s), title="B")
        assert (a.code, b.code) == (f"{call.code}-0001", f"{call.code}-0002")
        from opencall.proposals.models import ProposalCounter

        s.delete(s.get(ProposalCounter, call.id))
        s.delete(a.members[0])
        s.flush()
        s.delete(a)
        s.flush()  # one proposal left, code 0002: a reseeded counter must skip it
        c = services.create_proposal(s, call, F.user(s), title="C")
        assert c.code == f"{call.code}-0003"
        s.rollback()


__all__ = ["run_together", "DomainError"]


def _submittable(factory: sessionmaker[Session], n: int) -> tuple[int, list[int]]:
    from tests.web.conftest import full_proposal

    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        ids = [full_proposal(s, call, F.user(s)).id for _ in range(n)]
        s.commit()
        return call.id, ids


def test_close_during_submits_strands_nothing(factory: sessionmaker[Session]) -> None:
    """Submissions racing an early close: each either commits before the close (and is
    frozen for review) or is refused with a clear message; none is left 'submitted' in a
    closed call, where review would never see it. Before the fix a submission that had
    read the call as open committed after the close had frozen the proposals."""
    from opencall.calls.models import Call

    n = 12
    call_id, ids = _submittable(factory, n)
    started = threading.Event()
    done = [0]

    def work(i: int) -> str:
        with factory() as s:
            if i == n:  # the closer: early, with a reason, once some submissions are in
                started.wait(30)
                call = s.get(Call, call_id)
                assert call is not None
                services.close_call(s, call, reason="closed early during the burst")
                s.commit()
                return "closed"
            p = s.get(Proposal, ids[i])
            assert p is not None
            try:
                services.submit(s, p)
                s.commit()
                return "acknowledged"
            except DomainError as exc:
                s.rollback()
                assert exc.code == "call_not_open", exc.message
                return "refused"
            finally:
                done[0] += 1
                if done[0] >= 3:
                    started.set()

    results, errors = run_together(n + 1, work)
    assert errors == []
    with factory() as s:
        status = dict(
            s.execute(select(Proposal.id, Proposal.status).where(Proposal.id.in_(ids)))
            .tuples()
            .all()
        )
        call = s.get(Call, call_id)
        assert call is not None and call.status == "closed"
    assert "submitted" not in status.values(), status
    for i, pid in enumerate(ids):
        expected = "under_review" if results[i] == "acknowledged" else "draft"
        assert status[pid] == expected, (i, results[i], status[pid])


def test_double_submit_is_idempotent(factory: sessionmaker[Session]) -> None:
    """Two clicks on submit at the same instant: both answered with the same revision
    (before the fix one of them failed on the unique (proposal, content hash))."""
    from opencall.proposals.models import ProposalRevision

    _call_id, ids = _submittable(factory, 1)

    def click(_i: int) -> int:
        with factory() as s:
            p = s.get(Proposal, ids[0])
            assert p is not None
            rev = services.submit(s, p)
            s.commit()
            return rev.id

    revs, errors = run_together(4, click)
    assert errors == []
    assert len(set(revs)) == 1
    with factory() as s:
        assert len(list(s.scalars(select(ProposalRevision)))) == 1


def test_a_retry_after_the_deadline_of_a_counted_submission(
    factory: sessionmaker[Session],
) -> None:
    """A submission acknowledged before the deadline, sent again after it (a slow link's
    retry, a lost answer): answered with the revision that counts, nothing written. Changed
    content sent after the deadline is refused with the deadline's message, and nothing
    changes either. Before the fix the retry was refused as too late, telling an applicant
    whose proposal counts that it was refused."""
    import datetime as dt

    from sqlalchemy import func

    from opencall.auditlog import AuditEvent
    from opencall.calls.models import Call
    from opencall.proposals.models import ProposalRevision

    call_id, ids = _submittable(factory, 1)
    with factory() as s:
        p = s.get(Proposal, ids[0])
        assert p is not None
        first = services.submit(s, p)
        s.commit()
        call = s.get(Call, call_id)
        assert call is not None
        call.closes_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
        s.commit()

    def counts(s: Session) -> tuple[int, int]:
        return (
            s.scalar(select(func.count()).select_from(ProposalRevision)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )

    with factory() as s:
        before = counts(s)
        p = s.get(Proposal, ids[0])
        assert p is not None
        assert services.submit(s, p).id == first.id
        s.commit()
        assert counts(s) == before
        p.title = "Changed after the deadline"
        try:
            services.submit(s, p)
        except DomainError as exc:
            assert "deadline passed" in str(exc.message)
        else:
            raise AssertionError("changed content was accepted after the deadline")
        s.rollback()
        assert counts(s) == before
        assert p.current_revision_id == first.id and p.status == "submitted"
