"""The outcomes report's bootstrap alone (``outcomes.stats``: group differences and the
cross-tables, 1,000 replicates) on a synthetic call of N proposals with 3 reviews each:
peak memory (tracemalloc: numpy's arrays are traced) and CPU seconds per size.

    .venv/bin/python bench/bench_outcomes_bootstrap.py --sizes 2000,10000
    # the code before, same run: a copy of its stats.py
    git show <commit>:src/opencall/outcomes/stats.py > /tmp/stats_before.py
    .venv/bin/python bench/bench_outcomes_bootstrap.py --sizes 2000,10000 --stats /tmp/stats_before.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import sys
import tracemalloc
from types import ModuleType

from opencall.outcomes import stats
from opencall.outcomes.domain import ApplicantRecord

INCOME = ["low", "lower-middle", "upper-middle", "high", "unknown"]
REGIONS = ["Africa", "Asia", "Europe", "Americas"]


def load(path: str) -> ModuleType:
    if not path:
        return stats
    spec = importlib.util.spec_from_file_location("stats_other", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def world(n: int, reviews: int, seed: int = 0) -> tuple[list[ApplicantRecord], list[object]]:
    rng = random.Random(seed)
    records = [
        ApplicantRecord(
            f"p{p}", "XXX", INCOME[p % 5], REGIONS[p % 4], p % 6 == 0, False, True, True,
            p % 9 != 0, calibrated_grade=rng.uniform(1, 5), reviewed=True,
            awarded=rng.random() < 0.3, amount_requested=10.0, amount_awarded=5.0,
            amounts={"h": (10.0, 5.0, 0.0)},
        )
        for p in range(n)
    ]  # fmt: skip
    grades = [
        stats.GradeRecord(
            f"r{rng.randrange(max(30, n // 5))}", r.proposal_id, rng.uniform(1, 5),
            {"un_region": REGIONS[k % 4], "income_group": INCOME[k % 5]},
            {"un_region": r.un_region, "income_group": r.income_group},
        )
        for r in records
        for k in range(reviews)
    ]  # fmt: skip
    return records, grades


def run(mod: ModuleType, n: int, reviews: int) -> dict[str, object]:
    records, grades = world(n, reviews)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    tracemalloc.start()
    boot = mod.TwoWayBootstrap(
        [r.proposal_id for r in records],
        mod.reviewers_by_proposal([(g.proposal_id, g.reviewer_id) for g in grades]),
    )
    out = mod.group_differences(records, ["income_group", "un_region", "ldc"], boot)
    for rb, ab in (("un_region", "income_group"), ("income_group", "un_region")):
        out += mod.crosstab(grades, rb, ab, boot)
    out = mod.fdr(out)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "proposals": n,
        "reviews": len(grades),
        "statements": len(out),
        "tested": sum(1 for x in out if x.status == "tested"),
        "peak_mb": round(peak / 1e6, 1),
        "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2),
        "digest": round(sum(abs(x.low or 0) + abs(x.high or 0) for x in out), 9),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,10000")
    ap.add_argument("--reviews", type=int, default=3)
    ap.add_argument("--stats", default="", help="another copy of outcomes/stats.py")
    args = ap.parse_args()
    mod = load(args.stats)
    for n in (int(x) for x in args.sizes.split(",")):
        print(json.dumps({"stats": args.stats or "this checkout", **run(mod, n, args.reviews)}))


if __name__ == "__main__":
    main()
