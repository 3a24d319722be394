"""Benchmark: the assignment job's build + solve + hash with the affinity as the dense P x R
matrix (before) or as the sparse top-k scores (after), back to back, in-process, no database.

Instance (seeded): P proposals x R reviewers, each proposal scored against its top ``--top``
reviewers (random reviewers, random scores in [0, 1), 6 decimals), everything else 0, as the
affinity job stores above AFFINITY_TOP_K reviewers; k = 3, max load 10, min load 0, about
0.1 % random conflicts, institutions (cap 1) nested in regions (cap 2), as the call defaults.

Each mode runs in its own subprocess; "peak MiB" is that process's maximum RSS (generating
the scores included, the same in both modes); "cpu s" its user + system CPU time.

    .venv/bin/python bench/bench_assignment_sparse.py --proposals 4476 --reviewers 1800
    .venv/bin/python bench/bench_assignment_sparse.py --proposals 18000 --reviewers 7200

Both modes must give the same pairs, objective, bound, certificate and inputs hash; the
script checks it and exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time

import numpy as np


def _instance(P: int, R: int, top: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    p = np.repeat(np.arange(P, dtype=np.int64), top)
    r = np.concatenate([rng.choice(R, size=top, replace=False) for _ in range(P)]).astype(np.int64)
    v = np.round(rng.random(len(p)), 6)
    n = max(1, P * R // 1000)
    conflicts = np.unique(np.stack([rng.integers(0, P, n), rng.integers(0, R, n)], 1), axis=0)
    inst = rng.integers(0, max(1, R // 3), R)
    region = (inst * 6) // max(1, R // 3)  # institutions nest in regions
    return p, r, v, conflicts, inst, region


def run(mode: str, P: int, R: int, top: int, seed: int) -> dict:
    from opencall.optim.assignment import (
        AssignmentProblem,
        Grouping,
        affinity_of_pairs,
        solve_assignment,
    )
    from opencall.reviews.services.assignment import affinity_matrix, affinity_rows
    from opencall.runs import inputs_hash_with_rows

    p, r, v, conflicts, inst, region = _instance(P, R, top, seed)
    t0 = time.perf_counter()
    if mode == "dense":
        A = np.zeros((P, R), np.float64)
        A[p, r] = v
        rows = (row.round(6).tolist() for row in A)
    else:
        A = affinity_matrix(P, R, p, r, v)
        rows = affinity_rows(A)
    pb = AssignmentProblem(
        P,
        R,
        A,
        k=3,
        max_load=10,
        conflicts=conflicts,
        groupings=(Grouping(inst, 1, "institution"), Grouping(region, 2, "UN region")),
        seed=seed,
    )
    t_build = time.perf_counter() - t0
    res = solve_assignment(pb)
    t_solve = time.perf_counter() - t0 - t_build
    assert res.check(pb) == []
    params = {"k": 3, "objective": "total"}
    h = inputs_hash_with_rows({"params": params, "conflicts": conflicts.tolist()}, "A", rows)
    scores = affinity_of_pairs(pb, res.proposals, res.reviewers)
    t_all = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "mode": mode,
        "build_s": round(t_build, 2),
        "solve_s": round(t_solve, 2),
        "hash_s": round(t_all - t_build - t_solve, 2),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
        "peak_mib": round(ru.ru_maxrss / 1024),
        "pairs": int(len(res.proposals)),
        "objective": res.total_affinity,
        "bound": res.upper_bound,
        "certified": res.certified,
        "hash": h,
        "digest": hashlib.sha256(
            res.proposals.tobytes() + res.reviewers.tobytes() + scores.tobytes()
        ).hexdigest(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=4476)
    ap.add_argument("--reviewers", type=int, default=1800)
    ap.add_argument("--top", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=["dense", "sparse"])
    a = ap.parse_args()
    if a.mode:
        print(json.dumps(run(a.mode, a.proposals, a.reviewers, a.top, a.seed)))
        return
    out = []
    for mode in ("dense", "sparse"):
        cmd = [sys.executable, __file__, "--mode", mode]
        cmd += ["--proposals", str(a.proposals), "--reviewers", str(a.reviewers)]
        cmd += ["--top", str(a.top), "--seed", str(a.seed)]
        line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        out.append(json.loads(line.strip().splitlines()[-1]))
        print(json.dumps(out[-1]), flush=True)
    keys = ("pairs", "objective", "bound", "certified", "hash", "digest")
    same = all(out[0][k] == out[1][k] for k in keys)
    print("identical:", same)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
