"""The seventeenth round's search (trialopt17): random small instances mixing every rule,
solved by the optimisers and by a peer on a formulation of its own, in one process.

Usage:
    .venv/bin/python bench/bench_trial17.py [--seeds 400] [--courses 300]
    .venv/bin/python bench/bench_trial17.py --src <main checkout>/src [--seeds ...]

Assignment: 0-4 proposals x 0-14 reviewers, k 0-3, loads 0-4 (or none), conflicts,
forbidden and forced pairs, one reviewer conflicted with every proposal, 0-2 groupings
(often crossing), missing reviews allowed or not, total or fair; affinities random, tied
(0, -1, 1e-9, 1e12), negative, in {0, 1, 2} or scaled by 1e-5..1e8. The peer is
``scipy.optimize.milp`` over every pair (missing reviews: fewest first, then affinity).
Counted: instances, both infeasible, ours "infeasible" where the peer solved it, ours
failing otherwise (any other exception), rules broken (checked here), missing reviews
other than the peer's, totals below the peer's (total mode, certified), CPU seconds.

Courses: 1-3 sessions of up to a billion seats, 1-8 requests of up to a billion seats
with or without a least count, merits tied, normal or spanning 1e-300..1e300. The peer is
a greedy: best merit first into its first preferred session with room for its least
count, then the room left to the placed, best merit per seat first. Counted: requests
left out though a session they prefer has room, seats left empty that a placed partial
request could take, and the merit-weighted share placed (weights (m - lo) / (hi - lo) +
0.1), ours against the greedy's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs main's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)

import numpy as np  # noqa: E402
from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: E402

import opencall.optim.assignment as asg  # noqa: E402
import opencall.optim.logistics as lg  # noqa: E402

Pairs = list[tuple[int, int]]


def _assignment(rng: np.random.Generator) -> dict:  # type: ignore[type-arg]
    P = int(rng.integers(0, 5))
    R = int(rng.integers(0, 7)) if rng.random() < 0.5 else int(rng.integers(8, 15))
    kind = int(rng.integers(0, 6))
    a = rng.random((P, R))
    if kind == 1:
        a[:] = rng.choice([0.0, -1.0, 0.5, 1e-9, 1e12])
    elif kind == 2:
        a = -a
    elif kind == 3:
        a = rng.integers(0, 3, (P, R)).astype(float)
    elif kind == 4:
        a = a * 10.0 ** int(rng.integers(-5, 9))
    lo = rng.integers(0, 3, size=R)
    hi = lo + rng.integers(0, 3, size=R) if rng.random() < 0.7 else np.full(R, 10**9)
    pairs = [(q, s) for q in range(P) for s in range(R)]

    def pick(prob: float) -> Pairs:
        return [x for x in pairs if rng.random() < prob]

    conflicts = pick(float(rng.choice([0, 0.2, 0.6])))
    if P and R and rng.random() < 0.2:
        s = int(rng.integers(R))
        conflicts += [(q, s) for q in range(P)]
    n_groups = int(rng.integers(0, 3)) if rng.random() < 0.5 else 2
    return {
        "a": a,
        "k": rng.integers(0, 4, size=P),
        "lo": lo,
        "hi": hi,
        "conflicts": conflicts,
        "forbidden": pick(float(rng.choice([0, 0.1]))),
        "forced": pick(float(rng.choice([0, 0, 0.15]))),
        "groups": [(rng.integers(0, 3, size=R), int(rng.integers(1, 3))) for _ in range(n_groups)],
        "short": bool(rng.random() < 0.5),
        "objective": str(rng.choice(["total", "fair"])),
    }


def _peer(d: dict) -> tuple[float, int] | None:  # type: ignore[type-arg]
    """(best total, fewest missing) over every pair by SciPy's MILP; None: infeasible."""
    a, k, lo, hi, short = d["a"], d["k"], d["lo"], d["hi"], d["short"]
    P, R = a.shape
    n = P * R
    if n == 0:
        if short:
            return 0.0, int(k.sum() + lo.sum())
        return (0.0, 0) if k.sum() == 0 and lo.sum() == 0 else None
    nv = n + (P + R if short else 0)
    lb, ub = np.zeros(nv), np.ones(nv)
    if short:
        ub[n : n + P], ub[n + P :] = k, lo
    for q, s in d["conflicts"] + d["forbidden"]:
        ub[q * R + s] = 0
    for q, s in d["forced"]:
        lb[q * R + s] = 1
    if (lb > ub).any():
        return None
    rows, rlo, rhi = [], [], []

    def row(cols: list[int], low: float, high: float) -> None:
        r = np.zeros(nv)
        r[cols] = 1
        rows.append(r)
        rlo.append(low)
        rhi.append(high)

    for q in range(P):
        row([*range(q * R, (q + 1) * R), *([n + q] if short else [])], k[q], k[q])
    for s in range(R):
        given = list(range(s, n, R))
        if short:
            row([*given, n + P + s], lo[s], np.inf)
            row(given, -np.inf, hi[s])
        else:
            row(given, lo[s], hi[s])
    for labels, cap in d["groups"]:
        for q, lab in product(range(P), set(labels.tolist())):
            row([q * R + s for s in range(R) if labels[s] == lab], -np.inf, cap)
    bounds, whole = Bounds(lb, ub), np.ones(nv)
    missing = 0
    if short:
        c1 = np.zeros(nv)
        c1[n:] = 1
        r1 = milp(c1, constraints=LinearConstraint(np.array(rows), rlo, rhi), integrality=whole,
                  bounds=bounds, options={"mip_rel_gap": 0})  # fmt: skip
        if r1.status != 0:
            return None
        missing = round(r1.fun)
        row(list(range(n, nv)), -np.inf, missing + 0.5)
    c = np.zeros(nv)
    c[:n] = -(np.round(a * 1e6) / 1e6).reshape(-1)
    r = milp(c, constraints=LinearConstraint(np.array(rows), rlo, rhi), integrality=whole,
             bounds=bounds, options={"mip_rel_gap": 0})  # fmt: skip
    return None if r.status != 0 else (float(-r.fun), missing)


def _broken(d: dict, p: np.ndarray, r: np.ndarray) -> tuple[list[str], int]:  # type: ignore[type-arg]
    a, k, lo, hi, short = d["a"], d["k"], d["lo"], d["hi"], d["short"]
    P, R = a.shape
    out = []
    pairs = set(zip(p.tolist(), r.tolist(), strict=True))
    count, load = np.bincount(p, minlength=P), np.bincount(r, minlength=R)
    if len(pairs) != len(p):
        out.append("a pair twice")
    if (count > k).any() or (not short and (count != k).any()):
        out.append("count")
    if (load > hi).any() or (not short and (load < lo).any()):
        out.append("load")
    out += [f"banned {x}" for x in d["conflicts"] + d["forbidden"] if x in pairs]
    out += [f"forced {x}" for x in d["forced"] if x not in pairs]
    for labels, cap in d["groups"]:
        for q in range(P):
            rs = [s for (pp, s) in pairs if pp == q]
            if rs and np.bincount(labels[rs]).max() > cap:
                out.append("group cap")
    missing = int(np.maximum(k - count, 0).sum() + np.maximum(lo - load, 0).sum())
    return out, missing


def run_assignment(seeds: int) -> dict[str, float]:
    tally = dict.fromkeys(
        ["instances", "both infeasible", "ours infeasible, peer solved", "ours failed",
         "rules broken", "missing differs", "total below peer", "cpu ours", "cpu peer"], 0.0
    )  # fmt: skip
    for seed in range(seeds):
        d = _assignment(np.random.default_rng(seed))
        P, R = d["a"].shape
        try:
            pb = asg.AssignmentProblem(
                P, R, d["a"], k=d["k"], min_load=d["lo"], max_load=d["hi"],
                conflicts=np.array(d["conflicts"], np.int64).reshape(-1, 2),
                forced=np.array(d["forced"], np.int64).reshape(-1, 2),
                forbidden=np.array(d["forbidden"], np.int64).reshape(-1, 2),
                groupings=tuple(asg.Grouping(lab, cap) for lab, cap in d["groups"]),
                objective=d["objective"], allow_short=d["short"],
            )  # fmt: skip
        except ValueError:
            continue
        tally["instances"] += 1
        t = time.process_time()
        ref = _peer(d)
        tally["cpu peer"] += time.process_time() - t
        t = time.process_time()
        try:
            res = asg.solve_assignment(pb, mip_time_limit_s=20)
        except asg.InfeasibleAssignment:
            tally["both infeasible" if ref is None else "ours infeasible, peer solved"] += 1
            continue
        except Exception:  # noqa: BLE001 (counted: an unclear failure)
            tally["ours failed"] += 1
            continue
        finally:
            tally["cpu ours"] += time.process_time() - t
        broken, missing = _broken(d, res.proposals, res.reviewers)
        if broken or ref is None:
            tally["rules broken"] += 1
        elif missing != ref[1]:
            tally["missing differs"] += 1
        elif d["objective"] == "total" and res.certified:
            got = float((np.round(d["a"] * 1e6) / 1e6)[res.proposals, res.reviewers].sum())
            tally["total below peer"] += got < ref[0] - 1e-6 * max(1.0, abs(ref[0]))
    return tally


D0 = dt.date(2028, 2, 28)


def _courses(rng: np.random.Generator) -> lg.CourseProblem:
    big = int(rng.choice([1, 10**3, 10**6, 10**8, 2 * 10**8]))
    ids = ["s0", "séance", "会议"][: int(rng.integers(1, 4))]
    sessions = tuple(
        lg.CourseSession(s, D0, D0, "x", min(10**9, int(rng.integers(0, 8)) * big)) for s in ids
    )
    mk = int(rng.integers(0, 3))
    requests = []
    for i in range(int(rng.integers(1, 9))):
        count = min(10**9, int(rng.integers(1, 5)) * big // int(rng.integers(1, 4)) or 1)
        merit = [float(rng.normal()), 1.0, float(rng.choice([1e-300, 1e300, -1e300, 0.0]))][mk]
        least = int(rng.integers(1, count + 1)) if rng.random() < 0.5 else None
        pref = tuple(str(x) for x in rng.choice([*ids, "unknown"], size=int(rng.integers(0, 4))))
        requests.append(lg.SeatRequest(f"q{i}", merit, count, pref, least))
    return lg.CourseProblem(sessions, tuple(requests))


def _greedy(pb: lg.CourseProblem) -> dict[str, tuple[str, int]]:
    room = {s.id: s.seats for s in pb.sessions}
    out: dict[str, tuple[str, int]] = {}
    for r in sorted(pb.requests, key=lambda r: -r.merit):
        for s in dict.fromkeys(r.preferred):
            if s in room and room[s] >= r.least:
                out[r.id] = (s, r.least)
                room[s] -= r.least
                break
    for r in sorted(pb.requests, key=lambda r: -r.merit / r.count):
        if r.id in out:
            s, n = out[r.id]
            more = min(r.count - n, room[s])
            out[r.id] = (s, n + more)
            room[s] -= more
    return out


def _judge(pb: lg.CourseProblem, placed: dict[str, tuple[str, int]]) -> tuple[int, int, float]:
    """(left out with room, seats a placed partial request could take, weighted share)."""
    room = {s.id: s.seats for s in pb.sessions}
    for s, n in placed.values():
        room[s] -= n
    assert all(v >= 0 for v in room.values())
    merits = [float(r.merit) for r in pb.requests]
    lo, hi = min(merits), max(merits)
    scale = max(abs(lo), abs(hi)) or 1.0
    lo, hi = lo / scale, hi / scale
    left = empty = 0
    share = 0.0
    for r in pb.requests:
        w = (r.merit / scale - lo) / (hi - lo) + 0.1 if hi > lo else 1.1
        if r.id in placed:
            s, n = placed[r.id]
            share += w * n / r.count
            empty += min(r.count - n, room[s])
        elif any(room.get(s, -1) >= r.least for s in r.preferred):
            left += 1
    return left, empty, share


def run_courses(n: int) -> dict[str, float]:
    tally = dict.fromkeys(
        ["instances", "ours left out with room", "greedy left out with room",
         "ours seats left empty", "greedy seats left empty", "ours share below greedy",
         "share ours", "share greedy", "cpu ours"], 0.0
    )  # fmt: skip
    for seed in range(n):
        pb = _courses(np.random.default_rng(seed))
        t = time.process_time()
        res = lg.solve_courses(pb, seed=seed)
        tally["cpu ours"] += time.process_time() - t
        ours = {rid: (p.bin_id, p.count) for rid, p in res.placements.items() if p is not None}
        a, b = _judge(pb, ours), _judge(pb, _greedy(pb))
        tally["instances"] += 1
        tally["ours left out with room"] += a[0]
        tally["greedy left out with room"] += b[0]
        tally["ours seats left empty"] += a[1]
        tally["greedy seats left empty"] += b[1]
        tally["ours share below greedy"] += a[2] < b[2] * (1 - 1e-9)
        tally["share ours"] += a[2]
        tally["share greedy"] += b[2]
    return tally


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--seeds", type=int, default=400)
    ap.add_argument("--courses", type=int, default=300)
    args = ap.parse_args()
    print("code:", SRC)
    for name, tally in (
        ("assignment vs scipy.optimize.milp", run_assignment(args.seeds)),
        ("courses vs greedy", run_courses(args.courses)),
    ):
        print(f"\n{name}")
        for key, value in tally.items():
            print(f"  {key:32s} {value:,.3f}" if key.startswith(("cpu", "share")) else
                  f"  {key:32s} {int(value):,}")  # fmt: skip


if __name__ == "__main__":
    main()
