"""The TAC chair's preview on a large call (trialtac19, item 3): a FAST call of ``--n``
proposals (250 by default; every one reviewed, calibrated and ranked through the services),
a quarter of them fitting, ``--moves`` moves and bands by the chair; then
``allocation.tac.preview`` (what ``/manage/calls/<slug>/tac?preview=1`` and
``GET /api/v1/calls/<slug>/tac/preview`` compute) timed ``--repeat`` times, each step of it
apart: building the allocation problem and solving it, in the calibrated order and in the
chair's. The peer, in the same run: the preview as round 18 made it (two builds, two
solves on every view), by ``tac.preview(..., reuse=False)``. Prints one JSON line per step.

    .venv/bin/python bench/bench_tac19.py --n 250             # SQLite in /tmp
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from tempfile import mkdtemp
from time import perf_counter, process_time

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("src", ".")]

from bench.bench_declines import step  # noqa: E402
from sqlalchemy import select  # noqa: E402
from tests.allocation.test_edges import ranked_call  # noqa: E402

from opencall import migrate  # noqa: E402
from opencall.allocation import services as al  # noqa: E402
from opencall.allocation import tac  # noqa: E402
from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.optim import allocation as opt  # noqa: E402
from opencall.people.services import load_countries  # noqa: E402
from opencall.proposals.models import Proposal  # noqa: E402
from opencall.reviews import queries as rq  # noqa: E402


def main() -> None:
    ap = ArgumentParser()
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--moves", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = Path(mkdtemp()) / "tac.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        t0, c0 = perf_counter(), process_time()
        call = ranked_call(s, n_proposals=args.n, n_reviewers=max(3, args.n // 3))
        for cp in call.pools:
            cp.amount = cp.amount / 4  # a quarter of the proposals fit
        ranked = [r.proposal_id for r in rq.ranking(s, call)]
        props = {p.id: p for p in s.scalars(select(Proposal).where(Proposal.call_id == call.id))}
        for i in range(args.moves):  # the last ones moved up, one put in each band
            p = props[ranked[-1 - i]]
            if i % 4 == 3:
                tac.adjust(s, call, p, band=("accept", "reserve", "reject")[i % 3], reason="Why.")
            else:
                tac.adjust(s, call, p, move=min(len(ranked) - 1, 5 + i), reason="Rare target.")
        s.commit()
        step("build", t0, c0, proposals=args.n, moves=args.moves)
        for order in (False, True):
            t0, c0 = perf_counter(), process_time()
            problem, _meta = al.build_problem(s, call, chair_order=order)
            step(f"build_problem_{'chair' if order else 'calibrated'}", t0, c0)
            t0, c0 = perf_counter(), process_time()
            res = opt.solve_allocation(problem, seed=0, time_limit_s=tac.PREVIEW_TIME_LIMIT_S)
            step(f"solve_{'chair' if order else 'calibrated'}", t0, c0, status=str(res.status))
        for reuse in (True, False):
            for i in range(args.repeat):
                t0, c0 = perf_counter(), process_time()
                seen = tac.preview(s, call, frozenset(), reuse=reuse)
                gains = sum(1 for x in seen.places if x.change == "gains")
                step(f"preview_{'now' if reuse else 'round18'}_{i + 1}", t0, c0, gains=gains)
            # a new move: the calibrated order's solve is kept, the chair's is not
            for j in range(args.repeat if reuse else 0):
                p = props[ranked[len(ranked) // 2 + j]]
                tac.adjust(s, call, p, move=3, reason="Timing.")
                s.commit()
                t0, c0 = perf_counter(), process_time()
                tac.preview(s, call, frozenset(), reuse=True)
                step(f"preview_now_after_a_move_{j + 1}", t0, c0)


if __name__ == "__main__":
    main()
