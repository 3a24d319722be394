"""The chair's declines page of a large call (mend9a, item 3): a released FAST call of
``--n`` proposals (2,000 by default; every one reviewed, calibrated and ranked through
the services, which takes most of the run), one award declined; then
``allocation.services.next_in_line`` (what ``/manage/calls/<slug>/declines`` computes)
timed three times (the first builds the whole awards the next views reuse, mend10c), then
three times more rebuilding on each view (the page before mend10c: the peer). Prints one
JSON line per step (wall and CPU seconds).

    .venv/bin/python bench/bench_declines.py --n 2000        # SQLite in /tmp
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import select  # noqa: E402
from tests.allocation.test_edges import ranked_call  # noqa: E402

from opencall import migrate  # noqa: E402
from opencall.allocation import services as al  # noqa: E402
from opencall.allocation.models import Decision  # noqa: E402
from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.people.services import load_countries  # noqa: E402
from opencall.proposals.models import Proposal  # noqa: E402
from opencall.results import declines  # noqa: E402


def step(name: str, t0: float, c0: float, **more: object) -> None:
    print(json.dumps({"step": name, "wall_s": round(time.perf_counter() - t0, 3),
                      "cpu_s": round(time.process_time() - c0, 3), **more}), flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--reviewers", type=int, default=0, help="default: n / 3, at least 3")
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp()) / "declines.sqlite3"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        t0, c0 = time.perf_counter(), time.process_time()
        call = ranked_call(s, n_proposals=args.n, n_reviewers=args.reviewers or max(3, args.n // 3))
        for cp in call.pools:
            cp.amount = cp.amount / 4  # a quarter of the proposals fit
        al.run_allocation(s, call)
        al.release_decisions(s, call)
        awarded = s.scalar(select(Decision.proposal_id).where(Decision.outcome == "awarded"))
        p = s.get(Proposal, awarded)
        assert p is not None
        declines.decline_award(s, p, reason="visa", actor_id=p.pi_user_id)
        s.commit()
        step("build", t0, c0, proposals=args.n)
        # mend10c: the whole awards are kept under the call's latest allocation run; the
        # first view builds them, the next ones do not. The peer, in the same run: every
        # view rebuilding the problem (the page before mend10c: the kept entry dropped)
        for i in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            line = al.next_in_line(s, call)
            step(f"next_in_line_{i + 1}", t0, c0, listed=len(line))
        for i in range(3):
            al._WHOLE_AWARDS.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            line = al.next_in_line(s, call)
            step(f"rebuilt_per_view_{i + 1}", t0, c0, listed=len(line))
        # the loop before mend9a: each candidate's awards looked for among all the call's
        # requests, built (reading its request rows) before the capacity check
        t0, c0 = time.perf_counter(), time.process_time()
        problem, meta = al.build_problem(s, call)
        ds = {d.proposal_id: d for d in al.decisions(s, call)}
        n = 0
        for pid, d in ds.items():
            if d.outcome in al.OFFERABLE:
                p = s.get(Proposal, pid)
                assert p is not None
                n += bool(al.full_awards(call, p, d, problem, meta))
        step("before_mend9a_scan_per_candidate", t0, c0, candidates=n)


if __name__ == "__main__":
    main()
