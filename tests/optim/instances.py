"""Generators of instance families the benchmarks do not use, and independent checkers.

One generator per optimiser, each taking a ``numpy`` generator and a family name; the
families are shapes the benchmarks never try (see each ``*_FAMILIES`` tuple). The checkers
are written here from the problem statements, not from the optimisers' own ``check``
methods, and the ``*_optimum`` functions solve the same small instance by brute force or a
plain MIP. Used by ``tests/optim/test_new_instances.py`` (small sizes) and
``bench/bench_instances.py`` (more seeds, CPU seconds).
"""

from __future__ import annotations

import datetime as dt
from itertools import product
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import maximum_flow

from opencall.optim import sky
from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    AllocationResult,
    Group,
    GroupShareRule,
    Pool,
    Request,
)
from opencall.optim.assignment import AssignmentProblem, Grouping
from opencall.optim.calibration import GradeScale, GradeSet
from opencall.optim.logistics import (
    CourseProblem,
    CourseSession,
    CruiseProblem,
    CruiseRequest,
    CruiseResult,
    DiveSite,
    Leg,
    PackageProblem,
    PackageRequest,
    PackageSeason,
    SeatRequest,
)
from opencall.optim.logistics.placement import PlacementResult
from opencall.optim.logistics.samples import SampleLoan, SampleProblem, SampleType
from opencall.optim.scheduling import (
    FastBlock,
    FastScheduleProblem,
    FastScheduleResult,
    MaintenanceWindow,
)
from opencall.optim.slots import Resource, SlotAward, SlotProblem, slot_grid

Rng = np.random.Generator

# ----------------------------------------------------------------------------- allocation

ALLOCATION_FAMILIES = (
    "whole_small_pools",  # whole awards only, many small pools
    "empty_pools",  # pools of zero (or tiny, or huge) capacity
    "heavy_tail",  # Pareto request sizes
    "tied",  # every proposal with the same grade
    "zero_demand",  # requests asking for nothing in some pools
    "clashing_shares",  # share rules that cannot all be met together
    "bundles",  # all-or-nothing bundles with partial awards allowed
)


def allocation_instance(rng: Rng, family: str) -> AllocationProblem:
    """A small allocation problem of ``family`` (at most 8 requests, brute-forceable)."""
    n_pools = int(rng.integers(4, 9)) if family == "whole_small_pools" else int(rng.integers(1, 5))
    if family == "empty_pools":
        caps = rng.choice([0.0, 0.0, 1e-9, 1.0, 5.0, 1e6], size=n_pools)
    elif family == "whole_small_pools":
        caps = rng.uniform(0.5, 4.0, n_pools)
    else:
        caps = rng.uniform(0.0, 20.0, n_pools)
    pools = tuple(Pool(f"p{k}", float(caps[k])) for k in range(n_pools))
    n = int(rng.integers(0, 9))
    reqs = []
    for i in range(n):
        used = rng.choice(n_pools, size=int(rng.integers(1, n_pools + 1)), replace=False)
        if family == "heavy_tail":
            demand = {f"p{p}": float(rng.pareto(1.0) + 0.01) for p in used}
        elif family == "zero_demand":
            demand = {f"p{p}": float(rng.choice([0.0, 1.0, 3.0])) for p in used}
        elif family == "whole_small_pools":
            demand = {f"p{p}": float(rng.uniform(0.1, 2.0)) for p in used}
        else:
            demand = {f"p{p}": float(rng.uniform(0.0, 10.0)) for p in used}
        reqs.append(
            Request(
                f"r{i}",
                f"P{i % 4}" if family == "bundles" else f"P{i}",
                f"pi{i % 3}",
                1.0 if family == "tied" else float(rng.normal()),
                demand,
                min_fraction=float(rng.choice([1.0, 0.5, 0.1])),
                eligible=bool(rng.random() > 0.1),
                feasible=bool(rng.random() > 0.1),
                bundle=str(rng.choice(["b", "c"])) if family == "bundles" else None,
            )
        )
    groups = (
        Group("g", frozenset(f"P{i}" for i in range(0, n, 2))),
        Group("h", frozenset(f"P{i}" for i in range(1, n, 2))),
    )
    rules: tuple[GroupShareRule, ...] = ()
    if family in ("clashing_shares", "empty_pools", "tied"):
        # two disjoint groups each asking for most of the capacity: never both met
        rules = (
            GroupShareRule("g", float(rng.uniform(0.6, 1.0))),
            GroupShareRule("h", float(rng.uniform(0.6, 1.0)), pools=("p0",)),
        )
    whole = family == "whole_small_pools"
    policy = AllocationPolicy(
        allow_partial=not whole and bool(rng.random() < 0.5),
        min_fraction=float(rng.choice([1.0, 0.5, 0.2])),
        max_awards_per_pi=[None, 1, 2][int(rng.integers(3))],
        max_amount_per_pi=[None, 3.0, 10.0][int(rng.integers(3))],
        group_share_rules=rules,
        objective="merit_x_amount" if rng.random() < 0.3 else "merit",
    )
    return AllocationProblem(pools, tuple(reqs), policy, groups)


def allocation_violations(problem: AllocationProblem, res: AllocationResult) -> list[str]:
    """Capacities, fractions, eligibility, PI caps and bundles, checked from the inputs."""
    out: list[str] = []
    pol = problem.policy
    use = {p.id: 0.0 for p in problem.pools}
    pi_n: dict[str, set[str]] = {}
    pi_amount: dict[str, float] = {}
    lo = pol.min_fraction if pol.allow_partial else 1.0
    for r in problem.requests:
        f = res.fractions.get(r.id)
        if f is None or r.id not in res.explanations:
            out.append(f"{r.id}: no fraction or explanation")
            continue
        if f == 0.0:
            continue
        if not (r.eligible and r.feasible):
            out.append(f"{r.id}: awarded although excluded")
        least = 1.0 if r.bundle is not None else max(lo, r.min_fraction if pol.allow_partial else 1)
        if not (least - 1e-6 <= f <= 1 + 1e-9):
            out.append(f"{r.id}: fraction {f} outside [{least}, 1]")
        for pid, d in r.demand.items():
            use[pid] += f * d
        pi_n.setdefault(r.pi_id, set()).add(
            r.id if r.bundle is None else f"{r.proposal_id}/{r.bundle}"
        )
        pi_amount[r.pi_id] = pi_amount.get(r.pi_id, 0.0) + f * r.total_demand
    for p in problem.pools:
        if use[p.id] > p.capacity * (1 + 1e-6) + 1e-6:
            out.append(f"pool {p.id}: {use[p.id]} > {p.capacity}")
    if pol.max_awards_per_pi is not None:
        out += [
            f"PI {k}: {len(v)} awards" for k, v in pi_n.items() if len(v) > pol.max_awards_per_pi
        ]
    if pol.max_amount_per_pi is not None:
        out += [
            f"PI {k}: amount {v}" for k, v in pi_amount.items() if v > pol.max_amount_per_pi + 1e-6
        ]
    for key, members in problem.bundles.items():
        fs = {res.fractions[problem.requests[j].id] for j in members}
        if len(fs) > 1:
            out.append(f"bundle {key} split: {fs}")
    return out


# ----------------------------------------------------------------------------- assignment

ASSIGNMENT_FAMILIES = (
    "sparse",  # most pairs conflicted
    "load_one",  # every reviewer at most one proposal
    "all_but_k",  # each proposal conflicted with all but k (or k + 1) reviewers
    "tied",  # every affinity equal
    "groups",  # one reviewer per group per proposal
    "sparse_matrix",  # a scipy sparse affinity, mostly zeros
    "forced",  # pairs forced by the chair, up to all of them
)


def assignment_instance(rng: Rng, family: str, objective: str) -> AssignmentProblem:
    """A small assignment problem of ``family`` (at most 5 x 6, solvable by a plain MIP);
    raises ValueError when the drawn data is malformed for the problem."""
    P, R = int(rng.integers(1, 6)), int(rng.integers(1, 7))
    kk = int(rng.integers(1, min(R, 3) + 1))
    k = np.full(P, kk) if rng.random() < 0.5 else rng.integers(1, kk + 1, size=P)
    A = rng.random((P, R))
    if family == "tied":
        A[:] = 0.5
    if family == "sparse_matrix":
        A = A * (rng.random((P, R)) < 0.3)
    lo = np.zeros(R, np.int64)
    hi: np.ndarray | None = None
    if family == "load_one":
        hi = np.ones(R, np.int64)
    elif rng.random() < 0.5:
        hi = rng.integers(1, 4, size=R)
        lo = np.minimum(rng.integers(0, 2, size=R), hi)
    conflicts: list[tuple[int, int]] = []
    if family == "all_but_k":
        for p in range(P):
            keep = rng.choice(R, size=min(R, int(k[p]) + int(rng.integers(0, 2))), replace=False)
            conflicts += [(p, r) for r in range(R) if r not in set(keep.tolist())]
    elif family == "sparse":
        conflicts = [(p, r) for p in range(P) for r in range(R) if rng.random() < 0.6]
    forced: list[tuple[int, int]] = []
    if family == "forced":
        for p in range(P):
            rs = rng.choice(R, size=int(k[p]), replace=False)
            forced += [(p, int(r)) for r in rs if rng.random() < 0.8]
    groupings = (Grouping(rng.integers(0, 2, size=R), 1),) if family == "groups" else ()
    return AssignmentProblem(
        P,
        R,
        sp.csr_matrix(A) if family == "sparse_matrix" else A,
        k=k,
        min_load=lo,
        max_load=hi,
        conflicts=np.array(conflicts, np.int64).reshape(-1, 2),
        forced=np.array(forced, np.int64).reshape(-1, 2),
        groupings=groupings,
        objective=objective,  # type: ignore[arg-type]
    )


def _dense(pb: AssignmentProblem) -> np.ndarray:
    a = pb.affinity
    return np.asarray(a.toarray() if hasattr(a, "toarray") else a, dtype=np.float64)


def assignment_violations(pb: AssignmentProblem, p: np.ndarray, r: np.ndarray) -> list[str]:
    """Counts, loads, conflicts, forced pairs and group caps, checked from the inputs."""
    out: list[str] = []
    P, R = pb.n_proposals, pb.n_reviewers
    pairs = set(zip(p.tolist(), r.tolist(), strict=True))
    if len(pairs) != len(p):
        out.append("a pair given twice")
    k = np.broadcast_to(np.asarray(pb.k), (P,))
    if (np.bincount(p, minlength=P) != k).any():
        out.append("a proposal without exactly k reviewers")
    load = np.bincount(r, minlength=R)
    if (load < np.broadcast_to(np.asarray(pb.min_load), (R,))).any():
        out.append("a reviewer under the minimum load")
    if pb.max_load is not None and (load > np.broadcast_to(np.asarray(pb.max_load), (R,))).any():
        out.append("a reviewer over the maximum load")
    for q, s in np.asarray(pb.conflicts).reshape(-1, 2).tolist():
        if (q, s) in pairs:
            out.append(f"conflicted pair {(q, s)}")
    for q, s in np.asarray(pb.forced).reshape(-1, 2).tolist():
        if (q, s) not in pairs:
            out.append(f"forced pair {(q, s)} missing")
    for g in pb.groupings:
        labels = np.asarray(g.labels)
        for q in range(P):
            rs = [s for (pp, s) in pairs if pp == q]
            if rs and np.bincount(labels[rs]).max() > g.cap:
                out.append(f"proposal {q}: group cap")
    return out


def assignment_optimum(pb: AssignmentProblem) -> float | None:
    """The best total (or, fair, lowest proposal sum) over the affinities rounded to 1e-6,
    by a plain MIP over every pair; None when infeasible."""
    P, R = pb.n_proposals, pb.n_reviewers
    A = _dense(pb)
    size = float(np.abs(A).max()) if A.size else 0.0
    unit = size if size > 0 and not 1e-3 <= size <= 1e3 else 1.0  # far from 1: in its units
    A = np.round(A / unit * 1e6) / 1e6
    n = P * R
    lb, ub = np.zeros(n), np.ones(n)
    for q, s in np.asarray(pb.conflicts).reshape(-1, 2).tolist():
        ub[q * R + s] = 0
    for q, s in np.asarray(pb.forced).reshape(-1, 2).tolist():
        lb[q * R + s] = 1
    if (lb > ub).any():
        return None
    k = np.broadcast_to(np.asarray(pb.k), (P,)).astype(float)
    lo = np.broadcast_to(np.asarray(pb.min_load), (R,)).astype(float)
    hi = (
        np.full(R, np.inf)
        if pb.max_load is None
        else np.broadcast_to(np.asarray(pb.max_load), (R,)).astype(float)
    )
    rows, rlo, rhi = [], [], []
    for q in range(P):
        row = np.zeros(n)
        row[q * R : (q + 1) * R] = 1
        rows.append(row), rlo.append(k[q]), rhi.append(k[q])
    for s in range(R):
        row = np.zeros(n)
        row[s::R] = 1
        rows.append(row), rlo.append(lo[s]), rhi.append(hi[s])
    for g in pb.groupings:
        labels = np.asarray(g.labels)
        for q, lab in product(range(P), set(labels.tolist())):
            row = np.zeros(n)
            row[[q * R + s for s in range(R) if labels[s] == lab]] = 1
            rows.append(row), rlo.append(-np.inf), rhi.append(g.cap)
    fair = pb.objective == "fair"
    m = n + 1 if fair else n
    M = np.zeros((len(rows) + (P if fair else 0), m))
    M[: len(rows), :n] = np.array(rows)
    c = np.zeros(m)
    if fair:
        for q in range(P):
            M[len(rows) + q, q * R : (q + 1) * R] = A[q]
            M[len(rows) + q, n] = -1
        rlo, rhi = rlo + [0.0] * P, rhi + [np.inf] * P
        c[n] = -1
        lb, ub = np.append(lb, -1e9), np.append(ub, 1e9)
    else:
        c[:] = -A.reshape(-1)
    res = milp(
        c,
        constraints=LinearConstraint(M, rlo, rhi),
        integrality=np.r_[np.ones(n), np.zeros(m - n)],
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 0.0},
    )
    return None if res.status != 0 else float(-res.fun) * unit


# ----------------------------------------------------------------------------- scheduling

T0 = 1893456000.0  # 2030-01-01T00:00Z
SCHEDULING_FAMILIES = (
    "tiny_window",  # windows of 1 s to a few minutes, shorter than the setup
    "barely_fits",  # blocks as long as their visible stretch, to within 0-10 s
    "annulus",  # a minimum zenith angle close to the maximum
    "fixed",  # fixed starts anywhere, also before the window
    "maintenance",  # maintenance windows across the edges, nested
    "oversubscribed",  # 50 times more asked than fits
)


def oversubscribed_night(n: int, hours: float, seed: int = 0) -> FastScheduleProblem:
    """``n`` blocks of 1-4 h (most splittable) near the meridian of one ``hours``-long
    window: about 50 times more asked than fits."""
    rng = np.random.default_rng(seed)
    lst0 = float(sky.lst_hours(T0, sky.FAST_SITE.lon_deg)) * 15.0
    blocks = []
    for i in range(n):
        dur = float(rng.integers(2, 9) * 1800)
        blocks.append(
            FastBlock(
                f"b{i}",
                float((lst0 + rng.uniform(-30.0, hours * 15.0 + 30.0)) % 360.0),
                float(rng.uniform(0.0, 50.0)),
                dur,
                int(rng.integers(1, 6)),
                max_zenith_deg=40.0,
                splittable=bool(rng.random() < 0.7) and dur > 3600.0,
            )
        )
    return FastScheduleProblem(T0, T0 + hours * 3600.0, tuple(blocks))


def scheduling_instance(rng: Rng, family: str) -> FastScheduleProblem:
    """A FAST scheduling problem of ``family`` (at most 12 blocks, or 50 over-subscribed)."""
    t_mid = T0 + float(rng.uniform(0, 86400))
    ra0 = float(sky.lst_hours(t_mid, sky.FAST_SITE.lon_deg)) * 15.0
    if family == "tiny_window":
        width = float(rng.choice([1.0, 30.0, 119.0, 121.0]))
    elif family in ("barely_fits", "oversubscribed"):
        width = 3 * 3600.0
    else:
        width = float(rng.uniform(600, 86400))
    t0, t1 = t_mid - width / 2, t_mid + width / 2
    n = {"oversubscribed": 50, "barely_fits": 6}.get(family, int(rng.integers(1, 12)))
    blocks = []
    for i in range(n):
        ra = (ra0 + float(rng.normal(0, 20))) % 360
        dec = float(rng.uniform(-14, 66))
        zmax = float(rng.choice([40.0, 26.4, 5.0, 1.0]))
        dur = (
            3600.0 if family == "oversubscribed" else float(rng.choice([1.0, 60.0, 600.0, 3600.0]))
        )
        if family == "barely_fits":
            dec = sky.FAST_SITE.lat_deg + float(rng.uniform(-0.5, 0.5)) * zmax
            vi = sky.visible_intervals(ra, dec, t0, t1, max_zenith_deg=zmax)
            if vi.start.size:
                slack = float(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 10.0]))
                dur = max(1.0, float(vi.end[0] - vi.start[0]) - slack)
        fixed = (
            t0 + float(rng.uniform(-600, width))
            if family == "fixed" and rng.random() < 0.5
            else None
        )
        blocks.append(
            FastBlock(
                f"b{i}",
                ra,
                dec,
                dur,
                int(rng.integers(1, 6)),
                max_zenith_deg=zmax,
                min_zenith_deg=zmax * 0.9 if family == "annulus" else 0.0,
                splittable=bool(rng.random() < 0.3),
                min_chunk_s=float(rng.choice([1.0, 60.0, 1800.0, 7200.0])),
                fixed_start_unix=fixed,
            )
        )
    maint: tuple[MaintenanceWindow, ...] = ()
    if family == "maintenance" or rng.random() < 0.3:
        ms = t0 + float(rng.uniform(-width, width))
        maint = (MaintenanceWindow(ms, ms + float(rng.uniform(1, width))),)
        if rng.random() < 0.5:
            maint += (MaintenanceWindow(ms + 10, ms + 20),)
    return FastScheduleProblem(
        t0, t1, tuple(blocks), maint, setup_s=float(rng.choice([0.0, 120.0]))
    )


def scheduling_violations(p: FastScheduleProblem, res: FastScheduleResult) -> list[str]:
    """Window, maintenance, zenith limits every second (ends included), fixed starts, full
    durations, setup and slew gaps, and every block placed or explained."""
    out: list[str] = []
    blocks = {b.id: b for b in p.blocks}
    entries = sorted(res.entries, key=lambda e: e.start_unix)
    observed: dict[str, float] = {}
    for e in entries:
        b = blocks[e.block_id]
        if e.start_unix < p.window_start_unix - 1e-6 or e.end_unix > p.window_end_unix + 1e-6:
            out.append(f"{e.block_id}: outside the window")
        observed[e.block_id] = observed.get(e.block_id, 0.0) + e.end_unix - e.start_unix
        for m in p.maintenance:
            if e.start_unix < m.end_unix - 1e-6 and e.end_unix > m.start_unix + 1e-6:
                out.append(f"{e.block_id}: in maintenance")
        ts = np.append(np.arange(e.start_unix, e.end_unix, 1.0), e.end_unix)
        z = sky.zenith_angle_deg(b.ra_deg, b.dec_deg, ts, site=p.site)
        if (z > b.max_zenith_deg).any() or (z < b.min_zenith_deg).any():
            out.append(f"{e.block_id}: zenith {z.min():.4f}..{z.max():.4f} outside its limits")
        if b.fixed_start_unix is not None and abs(e.start_unix - b.fixed_start_unix) > 1e-3:
            out.append(f"{e.block_id}: not at its fixed start")
    for bid, seconds in observed.items():
        if abs(seconds - blocks[bid].duration_s) > 1e-3:
            out.append(f"{bid}: {seconds} s observed of {blocks[bid].duration_s}")
    for a, b in zip(entries, entries[1:], strict=False):
        ba, bb = blocks[a.block_id], blocks[b.block_id]
        sep = float(sky.angular_separation_deg(ba.ra_deg, ba.dec_deg, bb.ra_deg, bb.dec_deg))
        if b.start_unix < a.end_unix + p.setup_s + sep / p.slew_deg_per_s - 1e-3:
            out.append(f"{a.block_id} -> {b.block_id}: gap too short")
    placed = {e.block_id for e in res.entries}
    unplaced = {u.block_id for u in res.unscheduled}
    if placed & unplaced or placed | unplaced != set(blocks):
        out.append("blocks not split into placed and unplaced")
    return out


# ----------------------------------------------------------------------------- slots

UTC = dt.UTC
SLOT_FAMILIES = (
    "single_slot",  # every resource has one slot
    "one_resource",  # one resource, many awards competing
    "mixed",  # ragged ends, unavailable periods, impossible dates, bundles, unknown resource
)


def slot_instance(rng: Rng, family: str) -> SlotProblem:
    """A small slot problem of ``family`` (at most 7 awards: brute-forceable)."""
    start = dt.datetime(2030, 1, 1, tzinfo=UTC)

    def hours(h: float) -> dt.timedelta:
        return dt.timedelta(hours=h)

    resources = []
    for k in range(1 if family != "mixed" else int(rng.integers(1, 3))):
        length = float(rng.choice([8.0, 24.0, 5.5]))
        n_slots = 1 if family == "single_slot" else int(rng.integers(1, 8))
        ragged = float(rng.choice([0.0, 0.5, length - 0.01]))
        unavailable: tuple[tuple[dt.datetime, dt.datetime, str], ...] = ()
        if rng.random() < 0.3:
            u0 = start + hours(float(rng.uniform(0, n_slots * length)))
            unavailable = ((u0, u0 + hours(float(rng.uniform(0.01, 30))), "maintenance"),)
        resources.append(
            Resource(f"R{k}", start, start + hours(n_slots * length + ragged), length, unavailable)
        )
    awards = []
    for i in range(int(rng.integers(1, 8))):
        res = resources[int(rng.integers(len(resources)))]
        impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.3:
            i0 = start + hours(float(rng.uniform(0, 40)))
            impossible = ((i0, i0 + hours(float(rng.uniform(0.1, 40)))),)
        awards.append(
            SlotAward(
                f"a{i}",
                res.id if family != "mixed" or rng.random() > 0.05 else "unknown",
                int(rng.integers(1, 4)),
                proposal=f"P{i % 3}",
                impossible=impossible,
                bundle=str(rng.choice(["b", "c"])) if rng.random() < 0.4 else None,
                together=bool(rng.random() < 0.5),
                weight=float(rng.choice([1.0, 1.0, 2.5])),
            )
        )
    return SlotProblem(tuple(resources), tuple(awards))


def slots_fit(problem: SlotProblem, chosen: list[SlotAward]) -> bool:
    """Whether every award of ``chosen`` gets its slots (a max flow per resource)."""
    resources = {r.id: r for r in problem.resources}
    if any(a.resource not in resources for a in chosen):
        return False
    for rid, r in resources.items():
        grid = slot_grid(r)
        mine = [a for a in chosen if a.resource == rid]
        if not mine:
            continue
        n = 2 + len(mine) + len(grid)
        rows, cols, cap = [], [], []
        step = dt.timedelta(hours=r.slot_hours)
        for i, a in enumerate(mine):
            rows.append(0), cols.append(1 + i), cap.append(a.slots)
            for s in grid:
                if not s.reason and not any(
                    i0 < s.start + step and s.start < i1 for i0, i1 in a.impossible
                ):
                    rows.append(1 + i), cols.append(1 + len(mine) + s.index), cap.append(1)
        for s in grid:
            rows.append(1 + len(mine) + s.index), cols.append(n - 1), cap.append(1)
        m = sp.csr_matrix((np.array(cap, np.int32), (rows, cols)), shape=(n, n))
        if maximum_flow(m, 0, n - 1).flow_value < sum(a.slots for a in mine):
            return False
    return True


def slot_value_optimum(problem: SlotProblem) -> float:
    """The most value any placement reaches (all-or-nothing units, by brute force)."""
    units: dict[Any, list[SlotAward]] = {}
    for a in problem.awards:
        units.setdefault((a.proposal, a.bundle) if a.bundle else ("", a.id), []).append(a)
    groups = list(units.values())
    best = 0.0
    for mask in range(1 << len(groups)):
        chosen = [a for j, u in enumerate(groups) if mask >> j & 1 for a in u]
        value = sum(a.weight * a.slots for a in chosen)
        if value > best + 1e-9 and slots_fit(problem, chosen):
            best = value
    return best


# ----------------------------------------------------------------------------- logistics

LOGISTICS_FAMILIES = (
    "one_berth",  # one leg with one berth and one dive slot a day
    "one_session",  # one course session, many requests, some preferring unknown sessions
    "zero_capacity",  # legs and sessions with no berth, dive slot or seat
)


def cruise_instance(rng: Rng, family: str) -> CruiseProblem:
    """A cruise with one leg (``one_berth``) or a few, some of zero capacity."""
    n_legs = 1 if family == "one_berth" else int(rng.integers(1, 4))
    legs = []
    for k in range(n_legs):
        start = dt.date(2030, 1, 1) + dt.timedelta(days=int(rng.integers(0, 10)))
        legs.append(
            Leg(
                f"L{k}",
                start,
                start + dt.timedelta(days=int(rng.integers(0, 3))),
                ("A", "B"),
                ((0.0, float(k)), (0.0, float(k) + 1.0)),
                1 if family == "one_berth" else int(rng.integers(0, 4)),
                1 if family == "one_berth" else int(rng.integers(0, 4)),
                float(rng.choice([0.0, 500.0, 5000.0])),
                1 if family == "one_berth" else int(rng.integers(1, 3)),
            )
        )
    requests = []
    for i in range(int(rng.integers(1, 8))):
        dives = tuple(
            DiveSite(
                f"d{i}.{j}",
                float(rng.uniform(-1.0, 1.0)),
                float(rng.uniform(-0.5, n_legs + 0.5)),
                float(rng.choice([0.0, 100.0, 3000.0])),
            )
            for j in range(int(rng.integers(0, 4)))
        )
        legs_ok = tuple(leg.id for leg in legs if rng.random() < 0.5)
        requests.append(
            CruiseRequest(
                f"c{i}",
                float(rng.normal()),
                int(rng.integers(0, 3)),
                dives,
                legs_ok,
                int(rng.integers(0, len(dives) + 1)) if dives and rng.random() < 0.5 else None,
            )
        )
    return CruiseProblem(tuple(legs), tuple(requests), float(rng.choice([10.0, 50.0, 200.0])))


def cruise_violations(pb: CruiseProblem, res: CruiseResult) -> list[str]:
    """Berths, dive slots, dives a day, leg dates and allowed legs, required dives,
    checked from the inputs; and no request left out that would still fit whole."""
    out: list[str] = []
    legs = {leg.id: leg for leg in pb.legs}
    berths = dict.fromkeys(legs, 0)
    dives = dict.fromkeys(legs, 0)
    per_day: dict[tuple[str, dt.date], int] = {}
    done: dict[str, int] = {}
    for r in pb.requests:
        lid = res.leg_of.get(r.id)
        if r.id not in res.explanations:
            out.append(f"{r.id}: no explanation")
        if lid is not None:
            if r.legs and lid not in r.legs:
                out.append(f"{r.id}: on a leg it did not ask for")
            berths[lid] += r.berths
    for d in res.dives:
        leg = legs[d.leg_id]
        if res.leg_of.get(d.request_id) != d.leg_id or not leg.start <= d.day <= leg.end:
            out.append(f"dive of {d.request_id} off its leg or dates")
        dives[d.leg_id] += 1
        per_day[(d.leg_id, d.day)] = per_day.get((d.leg_id, d.day), 0) + 1
        done[d.request_id] = done.get(d.request_id, 0) + 1
    for lid, leg in legs.items():
        if berths[lid] > leg.berths or dives[lid] > leg.dive_slots:
            out.append(f"leg {lid} overfilled")
    out += [f"{k}: {n} dives a day" for k, n in per_day.items() if n > legs[k[0]].max_dives_per_day]
    for r in pb.requests:
        if res.leg_of.get(r.id) is not None and done.get(r.id, 0) < r.required_dives:
            out.append(f"{r.id}: fewer dives than required")
        if res.leg_of.get(r.id) is None and r.required_dives == 0:
            for lid in r.legs or tuple(legs):
                if berths[lid] + r.berths <= legs[lid].berths:
                    out.append(f"{r.id}: left out although {lid} has its berths")
                    break
    return out


def course_instance(rng: Rng, family: str) -> CourseProblem:
    """Courses with one session (``one_session``) or a few, some without seats."""
    n = 1 if family == "one_session" else int(rng.integers(1, 4))
    sessions = tuple(
        CourseSession(
            f"s{k}",
            dt.date(2030, 1, 1),
            dt.date(2030, 1, 2),
            "x",
            0 if family == "zero_capacity" and rng.random() < 0.6 else int(rng.integers(0, 8)),
        )
        for k in range(n)
    )
    names = [s.id for s in sessions] + ["unknown"]
    requests = []
    for i in range(int(rng.integers(1, 9))):
        count = int(rng.integers(1, 5))
        pref = tuple(str(x) for x in rng.choice(names, size=int(rng.integers(0, 4))))
        requests.append(
            SeatRequest(
                f"q{i}",
                float(rng.normal()),
                count,
                pref,
                int(rng.integers(1, count + 1)) if rng.random() < 0.5 else None,
            )
        )
    return CourseProblem(sessions, tuple(requests))


def course_violations(pb: CourseProblem, res: PlacementResult) -> list[str]:
    """Seats, counts and preferences checked from the inputs; and no request left out that
    a session it prefers could still seat."""
    out: list[str] = []
    seats = {s.id: s.seats for s in pb.sessions}
    used = dict.fromkeys(seats, 0)
    for r in pb.requests:
        p = res.placements.get(r.id)
        if r.id not in res.explanations:
            out.append(f"{r.id}: no explanation")
        if p is None:
            continue
        if p.bin_id not in r.preferred or not r.least <= p.count <= r.count:
            out.append(f"{r.id}: placed outside its preferences or counts")
        used[p.bin_id] += p.count
    out += [f"{s}: {used[s]} > {seats[s]} seats" for s in seats if used[s] > seats[s]]
    for r in pb.requests:
        if res.placements.get(r.id) is None:
            room = [s for s in r.preferred if s in seats and seats[s] - used[s] >= r.least]
            if room:
                out.append(f"{r.id}: left out although {room[0]} has room")
    return out


# ============================================================================ second round
#
# Shapes the first round lacked: ties and identical reviewers, lopsided sizes, loads that
# leave the problem barely feasible (or one review short), inputs on scales far from 1,
# constant and one-grade reviewers, review graphs in pieces, targets never visible, windows
# across leap days and year ends, zero stock. Besides feasibility, the checks are
# metamorphic: relabelling, rescaling and reorienting the input must move the answer with it.

# ----------------------------------------------------------------------------- calibration

CALIBRATION_FAMILIES = (
    "constant_reviewer",  # one reviewer gives every proposal the same grade
    "one_grade",  # reviewers with a single grade each, proposals with one review
    "disconnected",  # reviewers and proposals in separate pieces
    "tied",  # groups of proposals with identical grades from identical reviewers
    "lopsided",  # one reviewer for every proposal, or every reviewer on one proposal
)


def calibration_instance(rng: Rng, family: str) -> GradeSet:
    """A small grade set of ``family`` on the scale 1..5 (at most 40 proposals)."""
    scale = GradeScale(1.0, 5.0)
    if family == "lopsided":
        n = int(rng.integers(2, 40))
        if rng.random() < 0.5:
            p, r, P, R = np.arange(n), np.zeros(n, np.int64), n, 1
        else:
            p, r, P, R = np.zeros(n, np.int64), np.arange(n), 1, n
        return GradeSet(p, r, rng.uniform(1, 5, n), P, R, scale)
    if family == "one_grade":
        P = int(rng.integers(2, 20))
        extra = int(rng.integers(0, P))
        p = np.concatenate([np.arange(P), rng.integers(0, P, extra)])
        return GradeSet(p, np.arange(len(p)), rng.uniform(1, 5, len(p)), P, len(p), scale)
    if family == "tied":
        groups, copies, R = int(rng.integers(2, 5)), int(rng.integers(2, 4)), 4
        base = rng.integers(1, 6, (groups, R)).astype(float)
        p = np.repeat(np.arange(groups * copies), R)
        r = np.tile(np.arange(R), groups * copies)
        g = np.repeat(base, copies, axis=0).reshape(-1)
        return GradeSet(p, r, g, groups * copies, R, scale)
    pieces = int(rng.integers(2, 4)) if family == "disconnected" else 1
    ps, rs, gs = [], [], []
    P = R = 0
    for _ in range(pieces):
        n_p, n_r = int(rng.integers(2, 10)), int(rng.integers(2, 6))
        k = int(rng.integers(1, n_r + 1))
        for q in range(n_p):
            chosen = rng.choice(n_r, size=k, replace=False)
            ps += [P + q] * k
            rs += (R + chosen).tolist()
            gs += rng.integers(1, 6, k).astype(float).tolist()
        P, R = P + n_p, R + n_r
    g = np.array(gs)
    r = np.array(rs, np.int64)
    if family == "constant_reviewer":
        g[r == r[0]] = float(rng.integers(1, 6))
    return GradeSet(np.array(ps, np.int64), r, g, P, R, scale)


def calibration_violations(gs: GradeSet, res: Any) -> list[str]:
    """Sizes, finiteness, ranks against the consensus, intervals, counts and raw means,
    recomputed from the grades (not the result's own ``check``)."""
    out: list[str] = []
    P, R = gs.n_proposals, gs.n_reviewers
    p, r, g = np.asarray(gs.proposal_idx), np.asarray(gs.reviewer_idx), np.asarray(gs.grade)
    arrays = [res.consensus, res.consensus_lo, res.consensus_hi, res.leniency, res.scale]
    if any(not np.all(np.isfinite(a)) for a in arrays):
        return ["a non-finite figure"]
    if res.consensus.shape != (P,) or res.leniency.shape != (R,):
        return ["wrong sizes"]
    if sorted(res.rank.tolist()) != list(range(1, P + 1)):
        out.append("ranks are not 1..P")
    merit = -res.consensus if gs.scale.lower_is_better else res.consensus
    order = np.argsort(res.rank)
    if np.any(np.diff(merit[order]) > 1e-9 * (1 + np.abs(merit).max())):
        out.append("a better rank with a lower consensus")
    if np.any(res.rank_lo > res.rank) or np.any(res.rank_hi < res.rank):
        out.append("a rank interval without its rank")
    if np.any(res.consensus_lo > res.consensus + 1e-9) or np.any(
        res.consensus_hi < res.consensus - 1e-9
    ):
        out.append("a consensus interval without its consensus")
    if not np.array_equal(res.n_reviews, np.bincount(p, minlength=P)):
        out.append("review counts")
    if not np.array_equal(res.reviewer_n_grades, np.bincount(r, minlength=R)):
        out.append("reviewer grade counts")
    raw = np.bincount(p, g, P) / np.bincount(p, minlength=P)
    if not np.allclose(res.raw_mean, raw):
        out.append("raw means")
    if abs(float(res.leniency.sum())) > 1e-6 * max(1, R):
        out.append("leniencies do not sum to 0")
    if np.any(res.scale <= 0):
        out.append("a reviewer scale <= 0")
    return out


def relabelled(gs: GradeSet, rng: Rng) -> tuple[GradeSet, np.ndarray, np.ndarray]:
    """The same grades with proposals and reviewers renumbered and the reviews shuffled;
    returns the new set and the maps old -> new index of proposals and reviewers."""
    pp = rng.permutation(gs.n_proposals)
    rp = rng.permutation(gs.n_reviewers)
    order = rng.permutation(gs.n_grades)
    return (
        GradeSet(
            pp[np.asarray(gs.proposal_idx)][order],
            rp[np.asarray(gs.reviewer_idx)][order],
            np.asarray(gs.grade)[order],
            gs.n_proposals,
            gs.n_reviewers,
            gs.scale,
        ),
        pp,
        rp,
    )


def rescaled(gs: GradeSet, a: float, b: float, flip: bool) -> GradeSet:
    """Grades ``a g + b`` on the scale moved with them; ``flip``: reversed (lower is
    better), so the best grade keeps its meaning."""
    g = np.asarray(gs.grade) * a + b
    lo, hi = gs.scale.min * a + b, gs.scale.max * a + b
    if flip:
        g = lo + hi - g
    g = np.clip(g, lo, hi)  # rounding may step a bound's grade just outside
    return GradeSet(
        gs.proposal_idx,
        gs.reviewer_idx,
        g,
        gs.n_proposals,
        gs.n_reviewers,
        GradeScale(lo, hi, lower_is_better=flip),
    )


# ----------------------------------------------------------------------------- assignment

ASSIGNMENT_FAMILIES_2 = (
    "identical_reviewers",  # every reviewer's column the same: ties everywhere
    "lopsided",  # 1 reviewer for many proposals, or many reviewers for one proposal
    "barely_feasible",  # loads add up to exactly the reviews needed, or one short
    "negative",  # every affinity below zero
    "rescaled",  # affinities multiplied by 1e-9 .. 1e300
)


def assignment_instance_2(rng: Rng, family: str, objective: str) -> AssignmentProblem:
    """A small assignment problem of ``family`` (a plain MIP can solve it: at most 60 pairs
    unless lopsided, which is solved by sorting)."""
    P, R = int(rng.integers(1, 7)), int(rng.integers(2, 8))
    if family == "lopsided":
        P, R = (
            (int(rng.integers(2, 200)), 1) if rng.random() < 0.5 else (1, int(rng.integers(2, 200)))
        )
    k = int(rng.integers(1, min(R, 3) + 1))
    A = rng.random((P, R))
    if family == "identical_reviewers":
        A = np.repeat(rng.random((P, 1)), R, axis=1)
    elif family == "negative":
        A = -A
    elif family == "rescaled":
        A = A * float(rng.choice([1e-9, 1e-4, 1e3, 1e9, 1e300]))
    hi: np.ndarray | None = None
    if family == "barely_feasible":
        need = P * k
        short = int(rng.random() < 0.5)
        hi = np.full(R, min(P, need // R))
        room = need - short - int(hi.sum())
        for s in rng.permutation(R):  # spread the rest, never above P (one review each)
            add = min(room, P - int(hi[s]))
            hi[s] += add
            room -= add
    return AssignmentProblem(
        P,
        R,
        A,
        k=k,
        max_load=hi,
        objective=objective,  # type: ignore[arg-type]
    )


def assignment_value(pb: AssignmentProblem, p: np.ndarray, r: np.ndarray) -> float:
    """The objective recomputed: summed affinity, or the lowest proposal's sum (fair)."""
    A = _dense(pb)
    sums = np.bincount(p, A[p, r], pb.n_proposals)
    return float(sums.min() if pb.objective == "fair" else sums.sum())


def lopsided_optimum(pb: AssignmentProblem) -> float | None:
    """The optimum of a one-row or one-column problem without loads, by sorting."""
    A = _dense(pb)
    k = int(np.broadcast_to(np.asarray(pb.k), (pb.n_proposals,))[0])
    if pb.n_reviewers == 1:  # every proposal takes the reviewer, or none can have k = 1
        return (
            None if k > 1 else (float(A[:, 0].min()) if pb.objective == "fair" else float(A.sum()))
        )
    return float(np.sort(A[0])[-k:].sum())


# ----------------------------------------------------------------------------- allocation


def allocation_scaled(pb: AllocationProblem, unit: float) -> AllocationProblem:
    """The same problem with every capacity, demand and per-PI amount multiplied by
    ``unit`` (the same requests fit, so the same awards are best)."""
    pol = pb.policy
    policy = AllocationPolicy(
        allow_partial=pol.allow_partial,
        min_fraction=pol.min_fraction,
        max_awards_per_pi=pol.max_awards_per_pi,
        max_amount_per_pi=None if pol.max_amount_per_pi is None else pol.max_amount_per_pi * unit,
        group_share_rules=pol.group_share_rules,
        objective=pol.objective,
    )
    pools = tuple(Pool(p.id, p.capacity * unit) for p in pb.pools)
    reqs = tuple(
        Request(
            r.id,
            r.proposal_id,
            r.pi_id,
            r.merit,
            {k: v * unit for k, v in r.demand.items()},
            min_fraction=r.min_fraction,
            eligible=r.eligible,
            feasible=r.feasible,
            bundle=r.bundle,
        )
        for r in pb.requests
    )
    return AllocationProblem(pools, reqs, policy, pb.groups)


def relative_overdraw(problem: AllocationProblem, res: AllocationResult) -> list[str]:
    """Pools used beyond their capacity by more than 1e-9 of it (no absolute slack: a pool
    of 1e-12 units overdrawn by 1e-13 counts)."""
    use = {p.id: 0.0 for p in problem.pools}
    for r in problem.requests:
        for pid, d in r.demand.items():
            use[pid] += res.fractions.get(r.id, 0.0) * d
    return [
        f"pool {p.id}: {use[p.id]:.6g} > {p.capacity:.6g}"
        for p in problem.pools
        if use[p.id] > p.capacity * (1 + 1e-9)
    ]


# ----------------------------------------------------------------------------- scheduling

SCHEDULING_FAMILIES_2 = (
    "never_visible",  # targets that never come within their zenith limit in the window
    "leap_day",  # windows across 2028-02-29 and the end of a year
)
LEAP_DAY = 1835395200.0  # 2028-02-29T00:00Z
YEAR_END = 1924905600.0  # 2030-12-31T00:00Z


def scheduling_instance_2(rng: Rng, family: str) -> FastScheduleProblem:
    """A FAST problem of ``family`` (at most 10 blocks)."""
    if family == "leap_day":
        t0 = float(rng.choice([LEAP_DAY, YEAR_END])) + float(rng.uniform(-86400, 0))
        t1 = t0 + float(rng.uniform(86400, 2 * 86400))
    else:
        t0 = T0 + float(rng.uniform(0, 86400))
        t1 = t0 + float(rng.uniform(600, 86400))
    blocks = []
    for i in range(int(rng.integers(1, 11))):
        zmax = float(rng.choice([40.0, 26.4, 5.0]))
        if family == "never_visible":
            # the zenith angle at transit is |dec - latitude|: beyond zmax it never comes in
            side = float(rng.choice([-1.0, 1.0]))
            dec = sky.FAST_SITE.lat_deg + side * (zmax + float(rng.uniform(0.5, 20)))
            dec = float(np.clip(dec, -89.0, 89.0))
        else:
            dec = float(rng.uniform(-14, 66))
        blocks.append(
            FastBlock(
                f"b{i}",
                float(rng.uniform(0, 360)),
                dec,
                float(rng.choice([600.0, 3600.0, 7200.0])),
                int(rng.integers(1, 6)),
                max_zenith_deg=zmax,
                splittable=bool(rng.random() < 0.3),
                min_chunk_s=1800.0,
            )
        )
    return FastScheduleProblem(t0, t1, tuple(blocks))


def visible_somewhere(p: FastScheduleProblem, b: FastBlock, step: float = 60.0) -> bool:
    """Whether the block comes within its limits at any sampled instant of the window."""
    ts = np.append(np.arange(p.window_start_unix, p.window_end_unix, step), p.window_end_unix)
    z = sky.zenith_angle_deg(b.ra_deg, b.dec_deg, ts, site=p.site)
    return bool(((z <= b.max_zenith_deg) & (z >= b.min_zenith_deg)).any())


# ----------------------------------------------------------------------------- slots

SLOT_FAMILIES_2 = (
    "all_unavailable",  # a resource unavailable from start to end
    "leap_tz",  # slots across 2028-02-29 on calendars in other time zones
)


def slot_instance_2(rng: Rng, family: str) -> SlotProblem:
    """A small slot problem of ``family`` (at most 6 awards: brute-forceable)."""
    tz = dt.timezone(dt.timedelta(hours=float(rng.choice([-9.5, -5.0, 0.0, 5.75, 8.0, 14.0]))))
    start = dt.datetime(2028, 2, 27, tzinfo=UTC).astimezone(tz)
    length = float(rng.choice([6.0, 24.0]))
    n_slots = int(rng.integers(1, 8))
    end = start + dt.timedelta(hours=n_slots * length)
    unavailable: tuple[tuple[dt.datetime, dt.datetime, str], ...] = ()
    if family == "all_unavailable":
        unavailable = ((start - dt.timedelta(hours=1), end, "closed"),)
    resources = [Resource("R0", start, end, length, unavailable)]
    if family == "all_unavailable" or rng.random() < 0.5:
        resources.append(Resource("R1", start, end, length))
    awards = []
    for i in range(int(rng.integers(1, 7))):
        res = resources[int(rng.integers(len(resources)))]
        impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.3:
            d0 = dt.datetime(2028, 2, 29, tzinfo=UTC)
            impossible = ((d0, d0 + dt.timedelta(days=1)),)
        awards.append(
            SlotAward(
                f"a{i}",
                res.id,
                int(rng.integers(1, 3)),
                proposal=f"P{i % 3}",
                impossible=impossible,
                bundle="b" if rng.random() < 0.3 else None,
                weight=float(rng.choice([1.0, 2.0])),
            )
        )
    return SlotProblem(tuple(resources), tuple(awards))


# ----------------------------------------------------------------------------- samples, packages

SAMPLE_FAMILIES = (
    "zero_stock",  # sample types without any inventory
    "tiny_units",  # inventories and masses of 1e-15 .. 1e-7 mg
)


def sample_instance(rng: Rng, family: str) -> SampleProblem:
    """Loans of a few sample types (at most 6 loans: brute-forceable when whole)."""
    unit = float(rng.choice([1e-15, 1e-12, 1e-9, 1e-7])) if family == "tiny_units" else 1.0
    n_types = int(rng.integers(1, 4))
    types = tuple(
        SampleType(
            f"t{k}",
            0.0
            if family == "zero_stock" and rng.random() < 0.6
            else float(rng.uniform(0, 10)) * unit,
        )
        for k in range(n_types)
    )
    partial = rng.random() < 0.5
    loans = tuple(
        SampleLoan(
            f"l{i}",
            float(rng.normal()),
            f"x{i % 2}",
            {
                f"t{k}": float(rng.uniform(0.1, 6)) * unit
                for k in rng.choice(n_types, int(rng.integers(1, n_types + 1)), replace=False)
            },
            min_fraction=float(rng.choice([0.25, 0.5])) if partial else 1.0,
        )
        for i in range(int(rng.integers(1, 7)))
    )
    return SampleProblem(types, loans)


def shipment_violations(pb: SampleProblem, plan: Any) -> list[str]:
    """Shipments within each loan and (relatively) each inventory; every shipped loan's items
    are its fraction of its masses; the remaining stock adds up; no loan left out whose
    least share still fits whole."""
    out: list[str] = []
    inv = {t.id: t.inventory_mg for t in pb.types}
    shipped = dict.fromkeys(inv, 0.0)
    loans = {loan.id: loan for loan in pb.loans}
    for s in plan.shipments:
        loan = loans[s.loan_id]
        items = dict(s.items)
        for tid, mass in loan.masses.items():
            if abs(items.get(tid, 0.0) - s.fraction * mass) > 1e-6 * mass:
                out.append(
                    f"{s.loan_id}: {items.get(tid, 0.0)} of {tid}, not {s.fraction} x {mass}"
                )
        for tid, mg in s.items:
            shipped[tid] += mg
    for tid, mg in shipped.items():
        if mg > inv[tid] * (1 + 1e-9):
            out.append(f"{tid}: {mg:.6g} shipped of {inv[tid]:.6g}")
        if abs(plan.remaining_mg[tid] - max(inv[tid] - mg, 0.0)) > 1e-9 * max(inv[tid], mg):
            out.append(f"{tid}: remaining {plan.remaining_mg[tid]:.6g}")
    sent = {s.loan_id for s in plan.shipments}
    for loan in pb.loans:
        if loan.id not in plan.explanations:
            out.append(f"{loan.id}: no explanation")
        if loan.id not in sent and all(
            shipped[t] + loan.min_fraction * m <= inv[t] * (1 - 1e-9)
            for t, m in loan.masses.items()
        ):
            out.append(f"{loan.id}: left out although its least share fits")
    return out


def package_instance(rng: Rng) -> PackageProblem:
    """One season of one technology, many requests (some for another technology or an
    unsuitable site): the single-route case of packages."""
    season = PackageSeason("s", "rice", int(rng.integers(0, 12)))
    reqs = tuple(
        PackageRequest(
            f"r{i}",
            float(rng.integers(0, 3)),  # ties
            "rice" if rng.random() < 0.85 else "juncao",
            f"site{i}",
            count=(c := int(rng.integers(1, 4))),
            suitable=bool(rng.random() < 0.9),
            min_count=int(rng.integers(1, c + 1)) if rng.random() < 0.5 else None,
        )
        for i in range(int(rng.integers(1, 9)))
    )
    return PackageProblem((season,), reqs)


def package_optimum(pb: PackageProblem) -> float:
    """Most packages handed out to eligible requests (each 0 or within [least, count]) in
    the one season, by brute force: a bound the placement must not beat, reached when
    merits are tied."""
    cap = pb.seasons[0].packages
    ok = [r for r in pb.requests if r.suitable and r.technology == pb.seasons[0].technology]
    best = 0
    for choice in product(*[[0, *range(r.least, r.count + 1)] for r in ok]):
        if sum(choice) <= cap:
            best = max(best, sum(choice))
    return float(best)
