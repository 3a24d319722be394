"""The change across cycles (outcomes16) over a facility's many cycles: each group's
share of the awards and of the awards with results, this cycle against the earlier ones
pooled, by income group and LDC status (``after_award.share_changes``).

The product reads every cycle's stages at once (``after_award_data.rows_by_call``, the
statements of one cycle) and counts them in Python. The straightforward query reads each
cycle's stages apart (``rows_for_call`` per cycle, as a loop over the calls would). Both
on the same world (``bench_outcomes.build``: one gene bank, ``--cycles`` cycles,
``--awards`` awards), in the same run; their answers must be equal. Prints one JSON line
per step: wall and CPU seconds, SQL statements.

    .venv/bin/python bench/bench_outcomes16.py                     # SQLite in /tmp
    .venv/bin/python bench/bench_outcomes16.py --cycles 40 --awards 8000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_outcomes import build  # noqa: E402
from opencall.calls.models import Call  # noqa: E402
from opencall.db import make_engine  # noqa: E402
from opencall.outcomes import after_award as aa  # noqa: E402
from opencall.outcomes import after_award_data as aad  # noqa: E402
from opencall.outcomes import queries as oq  # noqa: E402


def product(s: Session, calls: list[Call], today: dt.date) -> dict[str, Any]:
    records = oq.lead_records_by_call(s, calls)
    rows = aad.rows_by_call(s, [(c, records[c.id]) for c in calls], today, figures=False)
    return {
        by: aa.share_changes([aad._cycle_counts(rows[c.id], by) for c in calls])
        for by in aad.CHANGE_BYS
    }


def straightforward(s: Session, calls: list[Call], today: dt.date) -> dict[str, Any]:
    counts: dict[str, list[dict[str, tuple[int, int]]]] = {by: [] for by in aad.CHANGE_BYS}
    for c in calls:  # one cycle after another: its applicants, then its awards' stages
        records = oq.lead_records_by_call(s, [c])[c.id]
        rows = aad.rows_by_call(s, [(c, records)], today, figures=False)[c.id]
        for by in aad.CHANGE_BYS:
            counts[by].append(aad._cycle_counts(rows, by))
    return {by: aa.share_changes(counts[by]) for by in aad.CHANGE_BYS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--awards", type=int, default=4000)
    ap.add_argument("--records", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_outcomes16_"))
    url = args.database_url or f"sqlite:///{tmp / 'outcomes16.sqlite3'}"
    world = build(url, args.cycles, args.awards, args.records, 0)
    print(json.dumps({"step": "build", **{k: v for k, v in world.items() if k != "slugs"}}))
    engine = make_engine(url)
    counter = {"n": 0}
    event.listen(
        engine, "before_cursor_execute", lambda *a: counter.__setitem__("n", counter["n"] + 1)
    )
    today = dt.date(2030, 1, 1)
    aa.share_change((1, 2), [(1, 2)])  # statsmodels imported before either is timed
    got: dict[str, Any] = {}
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in (("product", product), ("straightforward", straightforward)):
            fn_: Callable[[Session, list[Call], dt.date], dict[str, Any]] = fn
            with Session(engine) as s:
                last = s.scalars(select(Call).where(Call.slug == world["slugs"][-1])).one()
                calls = aad.facility_cycles(s, last)
                n0 = counter["n"]
                r0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.perf_counter()
                got[name] = fn_(s, calls, today)
                wall = time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_SELF)
            best[name] = min(best.get(name, wall), wall)
            row = {
                "step": name,
                "cycles": len(calls),
                "wall_s": round(wall, 3),
                "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 3),
                "statements": counter["n"] - n0,
            }
            print(json.dumps(row), flush=True)
    assert got["product"] == got["straightforward"], "the two answers differ"
    ldc = [r for r in got["product"]["ldc"] if r["group"] == "LDC"]
    print(json.dumps({"step": "LDC, last cycle against the earlier ones", "rows": ldc}))
    ratio = best["straightforward"] / best["product"]
    print(json.dumps({"step": "ratio", "straightforward_over_product": round(ratio, 2)}))


if __name__ == "__main__":
    main()
