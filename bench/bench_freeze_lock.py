"""How long the chair's freeze of a large call holds the audit chain's lock (mend10b
item 5): every audited write of the whole site (a review, a submission, a sign-up's
event) waits for that lock while it is held. A FAST call of ``--n`` proposals reviewed
three times each (through the services: most of the run), calibrated and moved to
ranking; then the freeze's critical section timed ``--repeat`` times each way, rolled
back every time, from the moment the chain's lock is taken to the end of the freeze:

- before: the lock taken first, then every grade of the call read and hashed under it
  (the code before mend10b: ``chain_head`` then ``ranking_is_current``, read in full);
- after: ``reviews.services.freeze_ranking`` as it is, which reads the grades before the
  lock and checks under it that nothing of the call was audited since (one statement).

PostgreSQL only (SQLite has one write lock for everything):

    createdb -h 127.0.0.1 -U postgres bench_freeze
    OPENCALL_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_freeze opencall db upgrade
    .venv/bin/python bench/bench_freeze_lock.py --n 1500 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_freeze
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests import factories as F  # noqa: E402

from opencall import auditlog  # noqa: E402
from opencall.cycle import services as cycle  # noqa: E402
from opencall.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from opencall.proposals.services import lock_call_for_close  # noqa: E402
from opencall.reviews import queries as rq  # noqa: E402
from opencall.reviews import services as rv  # noqa: E402
from opencall.reviews.services import calibration  # noqa: E402


def build(s, n: int):  # type: ignore[no-untyped-def]
    call, _props, reviewers = F.call_in_review(s, n, max(6, n // 10), max_load=40)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    items = [
        rv.ReviewInput(a, by_id[a.reviewer_id], 3 + a.proposal_id % 3, 3, "ok")
        for a in rq.assignments_of_call(s, call)
    ]
    rv.submit_reviews(s, items)
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    s.commit()
    return call.id, len(items)


def before(s, call) -> float:  # type: ignore[no-untyped-def]
    """The freeze before mend10b: the lock, then the grades in full, then its write."""
    lock_call_for_close(s, call)
    auditlog.chain_head(s)
    held = time.perf_counter()
    s.refresh(call, ["ranking_frozen_at"])
    run = rq.latest_run(s, call, "calibration")
    assert run is not None
    kept, _ = calibration._counted(s, call)
    assert calibration.inputs_hash(calibration._grades(kept)) == run.inputs_hash
    call.ranking_frozen_at = utcnow()  # and its write, as the freeze ends
    s.flush()
    auditlog.record(s, "ranking.frozen", "call", call.id, call_id=call.id)
    return time.perf_counter() - held


def after(s, call) -> float:  # type: ignore[no-untyped-def]
    """``freeze_ranking`` now, from the moment it takes the chain's lock to its end."""
    real = auditlog.chain_head
    held: list[float] = []

    def timed(session):  # type: ignore[no-untyped-def]
        out = real(session)
        held.append(time.perf_counter())
        return out

    auditlog.chain_head = timed  # type: ignore[assignment]
    try:
        rv.freeze_ranking(s, call)
        end = time.perf_counter()
    finally:
        auditlog.chain_head = real  # type: ignore[assignment]
    assert call.ranking_frozen_at is not None
    return end - held[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    engine = make_engine(args.database_url)
    assert engine.dialect.name == "postgresql", "PostgreSQL only"
    factory = make_sessionmaker(engine)
    with factory() as s:
        t0 = time.perf_counter()
        call_id, reviews = build(s, args.n)
        print(f"built: {args.n} proposals, {reviews} reviews ({time.perf_counter() - t0:.0f} s)")
    from opencall.calls.models import Call

    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.repeat):
        for name, run in (("before", before), ("after", after)):
            with factory() as s:  # a new session: nothing of the call read before
                call = s.get(Call, call_id)
                assert call is not None
                times[name].append(run(s, call))
                s.rollback()
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:>6}: chain lock held median {med[k] * 1000:.1f} ms, max {max(v) * 1000:.1f} ms")
    print(f"ratio before / after: {med['before'] / med['after']:.0f}x")


if __name__ == "__main__":
    main()
