"""Random slot-placement instances of the eighteenth round (trialopt18), an independent
checker and an exact peer (OR-Tools CP-SAT when installed, else ``scipy.optimize.milp``).

Shapes earlier rounds did not try together: unbroken awards (``SlotAward.unbroken``, new in
the seventeenth round) beside changeovers, booked slots, same-time bundles, impossible
dates and closures; every award wanting the same few slots (all collide); awards of one
slot; awards longer than the grid; tied weights; one-slot resources; awards of one
proposal sharing a resource. Everything here is written from the problem statement
(``optim.slots`` module and class docs), not from the solver's code.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from opencall.optim import allocation as al
from opencall.optim import slots as sl

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Grid:
    """A resource's slots: ``start[k]`` and whether slot ``k`` is usable."""

    starts: tuple[dt.datetime, ...]
    ends: tuple[dt.datetime, ...]
    usable: tuple[bool, ...]


def grid(r: sl.Resource) -> Grid:
    """Slots of ``slot_hours`` from ``start`` ending at or before ``end`` (UTC, no zone;
    a resource kept in a time zone: ``trial19.zone_grid``)."""
    if r.time_zone:
        from tests.optim.trial19 import zone_grid

        return zone_grid(r)
    step = dt.timedelta(hours=r.slot_hours)
    starts, ends, usable = [], [], []
    t = r.start
    while t + step <= r.end:
        e = t + step
        starts.append(t)
        ends.append(e)
        usable.append(usable_slot(r, t, e))
        t = e
    return Grid(tuple(starts), tuple(ends), tuple(usable))


def usable_slot(r: sl.Resource, t: dt.datetime, e: dt.datetime) -> bool:
    """Whether the slot ``[t, e)`` of ``r`` is usable: no unavailable period overlaps it
    and it has not begun."""
    if r.not_before is not None and t < r.not_before:
        return False
    return not any(u0 < e and t < u1 for u0, u1, _ in r.unavailable)


def who(a: sl.SlotAward) -> str:
    return a.proposal if a.proposal else f"award {a.id}"


def allowed(problem: sl.SlotProblem, a: sl.SlotAward, g: Grid, r: sl.Resource) -> list[bool]:
    """Whether ``a`` may take each slot: usable, not impossible, not within the changeover
    of a slot booked by someone else."""
    out = []
    for k, (t, e) in enumerate(zip(g.starts, g.ends, strict=True)):
        ok = g.usable[k] and not any(i0 < e and t < i1 for i0, i1 in a.impossible)
        if ok and r.changeover > 0:
            for b0, b1, owner in r.booked:
                if owner == who(a):
                    continue
                for j, (t2, e2) in enumerate(zip(g.starts, g.ends, strict=True)):
                    if t2 < b1 and e2 > b0 and abs(j - k) <= r.changeover:
                        ok = False
        out.append(ok)
    return out


def units(problem: sl.SlotProblem) -> list[list[sl.SlotAward]]:
    """All-or-nothing units: a bundle of a proposal, else the award alone."""
    out: dict[tuple[str, str], list[sl.SlotAward]] = {}
    for a in problem.awards:
        key = (a.proposal, a.bundle) if a.bundle is not None else ("", "\0" + a.id)
        out.setdefault(key, []).append(a)  # type: ignore[arg-type]
    return list(out.values())


def violations(problem: sl.SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]) -> list[str]:
    """Every hard rule a placement breaks, from the problem statement."""
    errs: list[str] = []
    res = {r.id: r for r in problem.resources}
    grids = {r.id: grid(r) for r in problem.resources}
    taken: dict[tuple[str, int], str] = {}
    for a in problem.awards:
        ts = list(starts.get(a.id, ()))
        if not ts:
            continue
        if a.resource not in res:
            errs.append(f"{a.id} on an unknown resource")
            continue
        g = grids[a.resource]
        ok = allowed(problem, a, g, res[a.resource])
        if len(set(ts)) != a.slots or len(ts) != a.slots:
            errs.append(f"{a.id}: {len(ts)} slots for {a.slots}")
        ks = []
        for t in ts:
            if t not in g.starts:
                errs.append(f"{a.id}: {t} off the grid")
                continue
            k = g.starts.index(t)
            ks.append(k)
            if not ok[k]:
                errs.append(f"{a.id}: slot {k} not allowed")
            if (a.resource, k) in taken:
                errs.append(f"{a.id}: slot {k} also {taken[(a.resource, k)]}'s")
            taken[(a.resource, k)] = a.id
        ks.sort()
        if a.unbroken and ks and ks[-1] - ks[0] != len(ks) - 1:
            errs.append(f"{a.id}: unbroken award in more than one run {ks}")
    by_id = {a.id: a for a in problem.awards}
    for (rid, k), aid in taken.items():
        c = res[rid].changeover
        for (rid2, k2), aid2 in taken.items():
            if rid2 == rid and k2 != k and abs(k2 - k) <= c:
                if who(by_id[aid]) != who(by_id[aid2]):
                    errs.append(f"{aid}@{k} and {aid2}@{k2} within changeover {c}")
    for unit in units(problem):
        placed = [bool(starts.get(a.id)) for a in unit]
        if any(placed) and not all(placed):
            errs.append(f"bundle {[a.id for a in unit]} placed in part")
        if all(placed) and any(a.same_time for a in unit) and len(unit) > 1:
            sets = []
            for a in unit:
                g = grids[a.resource]
                sets.append({(t, g.ends[g.starts.index(t)]) for t in starts[a.id]})
            if any(s != sets[0] for s in sets):
                errs.append(f"same-time bundle {[a.id for a in unit]} not at the same times")
    return errs


def value(problem: sl.SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]) -> float:
    return sum(a.weight * a.slots for a in problem.awards if starts.get(a.id))


def runs(problem: sl.SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]) -> int:
    grids = {r.id: grid(r) for r in problem.resources}
    n = 0
    for a in problem.awards:
        ts = starts.get(a.id)
        if not ts:
            continue
        ks = sorted(grids[a.resource].starts.index(t) for t in ts)
        n += 1 + sum(1 for p, q in zip(ks, ks[1:], strict=False) if q != p + 1)
    return n


def peer_value(problem: sl.SlotProblem) -> float:
    """The most value any feasible placement holds, by CP-SAT (exact, integer weights x 1000)."""
    return peer(problem)[0]


def together(problem: sl.SlotProblem) -> bool:
    """Whether a bundle of two awards or more asks to be kept together (a span to minimise)."""
    return any(len(u) > 1 and any(a.together for a in u) for u in units(problem))


def peer(problem: sl.SlotProblem, fewest_runs: bool = False) -> tuple[float, int]:
    """The most value, and with ``fewest_runs`` the fewest runs at that value (the third
    level; for problems without together-bundles, whose span level is then empty)."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    res = {r.id: r for r in problem.resources}
    grids = {r.id: grid(r) for r in problem.resources}
    x: dict[tuple[str, int], object] = {}
    y: dict[str, object] = {}
    for a in problem.awards:
        y[a.id] = m.NewBoolVar(f"y_{a.id}")
        if a.resource not in res:
            m.Add(y[a.id] == 0)  # type: ignore[arg-type]
            continue
        g = grids[a.resource]
        ok = allowed(problem, a, g, res[a.resource])
        xs = []
        for k in range(len(g.starts)):
            v = m.NewBoolVar(f"x_{a.id}_{k}")
            if not ok[k]:
                m.Add(v == 0)  # type: ignore[arg-type]
            x[(a.id, k)] = v
            xs.append(v)
        m.Add(sum(xs) == a.slots * y[a.id])  # type: ignore[arg-type]
        if a.unbroken:
            n = len(g.starts)
            s = [m.NewBoolVar(f"s_{a.id}_{k}") for k in range(n)]
            for k in range(n):
                if k + a.slots > n:
                    m.Add(s[k] == 0)  # type: ignore[arg-type]
            m.Add(sum(s) == y[a.id])  # type: ignore[arg-type]
            for j in range(n):
                m.Add(xs[j] == sum(s[k] for k in range(max(0, j - a.slots + 1), j + 1)))  # type: ignore[arg-type]
    for r in problem.resources:
        g = grids[r.id]
        on = [a for a in problem.awards if a.resource == r.id]
        for k in range(len(g.starts)):
            m.Add(sum(x[(a.id, k)] for a in on) <= 1)  # type: ignore[arg-type]
        c = r.changeover
        if c > 0:
            for a in on:
                for b in on:
                    if who(a) >= who(b):
                        continue
                    for k in range(len(g.starts)):
                        for j in range(max(0, k - c), min(len(g.starts), k + c + 1)):
                            if j != k:
                                m.AddBoolOr([x[(a.id, k)].Not(), x[(b.id, j)].Not()])  # type: ignore[attr-defined]
    for unit in units(problem):
        for a in unit[1:]:
            m.Add(y[a.id] == y[unit[0].id])  # type: ignore[arg-type]
        if len(unit) > 1 and any(a.same_time for a in unit):
            for a in unit:
                ga = grids.get(a.resource)
                if ga is None:
                    continue
                for b in unit:
                    gb = grids.get(b.resource)
                    if b is a or gb is None:
                        continue
                    pos = {
                        (t, e): j for j, (t, e) in enumerate(zip(gb.starts, gb.ends, strict=True))
                    }
                    for k, (t, e) in enumerate(zip(ga.starts, ga.ends, strict=True)):
                        j = pos.get((t, e))
                        if j is None:
                            m.Add(x[(a.id, k)] == 0)  # type: ignore[arg-type]
                        else:
                            m.Add(x[(a.id, k)] == x[(b.id, j)])  # type: ignore[arg-type]
    val = sum(round(a.weight * 1000) * a.slots * y[a.id] for a in problem.awards)
    m.Maximize(val)  # type: ignore[arg-type]
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    st = solver.Solve(m)
    assert st == cp_model.OPTIMAL, solver.StatusName(st)
    best = round(solver.ObjectiveValue())
    if not fewest_runs:
        return best / 1000.0, -1
    m.Add(val == best)  # type: ignore[arg-type]
    starts = []
    for a in problem.awards:
        if a.resource not in res:
            continue
        n = len(grids[a.resource].starts)
        for k in range(n):
            b = m.NewBoolVar(f"run_{a.id}_{k}")
            prev = x[(a.id, k - 1)] if k > 0 else None
            if prev is None:
                m.Add(b >= x[(a.id, k)])  # type: ignore[operator]
            else:
                m.Add(b >= x[(a.id, k)] - prev)  # type: ignore[operator]
            starts.append(b)
    m.Minimize(sum(starts))  # type: ignore[arg-type]
    st = solver.Solve(m)
    assert st == cp_model.OPTIMAL, solver.StatusName(st)
    return best / 1000.0, round(solver.ObjectiveValue())


def instance(seed: int, big: bool = False) -> sl.SlotProblem:
    """A small random instance of this round's shapes (``big``: 1-3 resources of 40-160
    slots and 8-40 awards of 1-30 slots)."""
    rng = random.Random(seed)
    n_res = rng.choice([1, 1, 2, 3])
    hours = rng.choice([8.0, 24.0])
    step = dt.timedelta(hours=hours)
    resources = []
    for i in range(n_res):
        n = rng.randint(40, 160) if big else rng.choice([1, 2, 3, 5, 8, 12])
        off = rng.choice([0, 0, 0, 1])
        start = T0 + off * step
        unav = tuple(
            (start + k * step, start + (k + 1) * step, "closed")
            for k in range(n)
            if rng.random() < rng.choice([0.0, 0.1, 0.3])
        )
        booked = tuple(
            (start + k * step, start + (k + 1) * step, rng.choice(["p0", "p1", "px"]))
            for k in range(n)
            if rng.random() < rng.choice([0.0, 0.0, 0.2])
        )
        resources.append(
            sl.Resource(
                f"r{i}",
                start,
                start + n * step + rng.choice([dt.timedelta(0), step / 2]),
                hours,
                unavailable=unav,
                changeover=rng.choice([0, 0, 1, 2]),
                booked=booked,
                not_before=start + step if rng.random() < 0.1 else None,
            )
        )
    n_aw = rng.randint(8, 40) if big else rng.randint(1, 7)
    collide = rng.random() < 0.3
    awards = []
    for j in range(n_aw):
        r = rng.choice(resources)
        n_slots = int((r.end - r.start) / step)
        k = rng.choice([1, 1, 2, 3, 4, max(1, n_slots), n_slots + 1])
        if big:
            k = rng.choice([1, 1, 2, 3, 5, 8, 13, 30])
        imp: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if collide:
            # everyone may use only the first two slots
            imp = ((r.start + 2 * step, r.end + 3 * step),)
        elif rng.random() < 0.3:
            q = rng.randrange(max(1, n_slots))
            imp = ((r.start + q * step, r.start + (q + 1 + 3 * big) * step),)
        prop = rng.choice(["p0", "p1", "p2", "p3", ""] + [f"q{j}"] * (3 * big))
        bundle = rng.choice([None, None, "b"]) if prop else None
        awards.append(
            sl.SlotAward(
                f"a{j}",
                r.id,
                max(1, k),
                proposal=prop,
                impossible=imp,
                bundle=bundle,
                together=bundle is not None and rng.random() < 0.5,
                same_time=bundle is not None and rng.random() < 0.3,
                weight=rng.choice([1.0, 1.0, 2.0, 0.5, 3.0]),
                unbroken=rng.random() < 0.5,
            )
        )
    # a same-time bundle needs the same number of slots in each award
    fixed = []
    counts: dict[tuple[str, str | None], int] = {}
    st = {(a.proposal, a.bundle) for a in awards if a.bundle is not None and a.same_time}
    for a in awards:
        if (a.proposal, a.bundle) in st:
            n = counts.setdefault((a.proposal, a.bundle), a.slots)
            a = sl.SlotAward(a.id, a.resource, n, a.proposal, a.impossible, a.bundle,
                             a.together, a.weight, a.same_time, a.unbroken)  # fmt: skip
        fixed.append(a)
    return sl.SlotProblem(tuple(resources), tuple(fixed))


def as_lists(starts: Mapping[str, Sequence[dt.datetime]]) -> dict[str, list[dt.datetime]]:
    return {k: sorted(v) for k, v in starts.items()}


__all__ = [
    "as_lists",
    "grid",
    "instance",
    "peer",
    "peer_value",
    "together",
    "runs",
    "units",
    "value",
    "violations",
]


# --- allocation -------------------------------------------------------------------------


def alloc_instance(seed: int) -> al.AllocationProblem:
    """Pools of extreme skew (0, 1, 3 and 1e6 units; whole and divisible), many one-unit
    requests beside requests of a whole pool, tied merits, bundles, PI caps that bind,
    one-row instances."""
    rng = random.Random(seed)
    n_pools = rng.choice([1, 1, 2, 3])
    pools = []
    for p in range(n_pools):
        cap = rng.choice([0.0, 1.0, 3.0, 7.0, 1e6, 2.5])
        pools.append(al.Pool(f"p{p}", cap, whole=rng.random() < 0.5 and cap == int(cap)))
    n_req = rng.choice([1, 2, 5, 9, 14])
    tie = rng.random() < 0.4
    reqs = []
    for i in range(n_req):
        dem = {}
        for pl in pools:
            if rng.random() < 0.7 or not dem:
                big = rng.random() < 0.2
                d = pl.capacity if big and pl.capacity > 0 else rng.choice([1.0, 1.0, 2.0, 3.0])
                dem[pl.id] = d
        k = rng.randrange(max(1, n_req // 2 + 1))
        reqs.append(
            al.Request(
                f"r{i}",
                f"P{k}",
                f"pi{k % 3}",  # one PI a proposal, some PIs with several proposals
                rng.choice([3.0, 3.0]) if tie else float(rng.randint(1, 5)),
                dem,
                min_fraction=rng.choice([1.0, 0.5, 0.25]),
                bundle=rng.choice([None, None, "b"]),
            )
        )
    policy = al.AllocationPolicy(
        allow_partial=rng.random() < 0.5,
        min_fraction=rng.choice([0.25, 0.5]),
        max_awards_per_pi=rng.choice([None, None, 1, 2]),
    )
    return al.AllocationProblem(tuple(pools), tuple(reqs), policy)


def _units(problem: al.AllocationProblem) -> list[list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(problem.requests):
        key = (r.proposal_id, r.bundle) if r.bundle is not None else ("\0", r.id)
        out.setdefault(key, []).append(i)
    return list(out.values())


def _low(problem: al.AllocationProblem, r: al.Request) -> float:
    if r.bundle is not None or not problem.policy.allow_partial:
        return 1.0
    return max(r.min_fraction, problem.policy.min_fraction)


def alloc_weights(
    problem: al.AllocationProblem,
    peer: Callable[[al.AllocationProblem, Sequence[float]], float] | None = None,
) -> list[float]:
    """Merit rescaled affinely to [floor, 1 + floor] (the package doc's "Objective weights")
    over the requests some award can hold: those the peer's model (``peer``, this module's
    ``alloc_peer`` by default), asked to award that request alone (weight 1 on it, 0 on the
    others), awards anything; the others weigh 0 (trialopt24b: a request no award can hold
    sets no scale)."""
    solve = peer if peer is not None else alloc_peer
    n = len(problem.requests)
    can = [solve(problem, [float(j == i) for j in range(n)]) > 1e-9 for i in range(n)]
    ms = [r.merit for r, ok in zip(problem.requests, can, strict=True) if ok]
    if not ms:
        return [0.0] * n
    lo, hi = min(ms), max(ms)
    f = problem.policy.merit_floor
    return [
        f + ((r.merit - lo) / (hi - lo) if hi > lo else 1.0) if ok else 0.0
        for r, ok in zip(problem.requests, can, strict=True)
    ]


def alloc_violations(problem: al.AllocationProblem, fr: Mapping[str, float]) -> list[str]:
    """Every rule an award breaks: capacities (exact, 1e-9 relative), fractions 0 or in
    [min, 1], whole units whole, bundles whole or nothing, the PI's count cap."""
    errs = []
    pools = {p.id: p for p in problem.pools}
    for p in problem.pools:
        used = sum(r.demand.get(p.id, 0.0) * fr.get(r.id, 0.0) for r in problem.requests)
        if used > p.capacity * (1 + 1e-9) + 1e-9:
            errs.append(f"{p.id}: {used} used of {p.capacity}")
    for r in problem.requests:
        f = fr.get(r.id, 0.0)
        if f > 1e-12 and not (_low(problem, r) - 1e-9 <= f <= 1 + 1e-9):
            errs.append(f"{r.id}: fraction {f}")
        for pid, d in r.demand.items():
            if f > 1e-12 and pools[pid].whole and abs(d * f - round(d * f)) > 1e-6:
                errs.append(f"{r.id}: {d * f} units of whole pool {pid}")
    for unit in _units(problem):
        fs = [fr.get(problem.requests[i].id, 0.0) for i in unit]
        if len(unit) > 1 and any(f > 1e-12 for f in fs) and not all(f > 1 - 1e-9 for f in fs):
            errs.append(f"bundle {unit} in part: {fs}")
    cap = problem.policy.max_awards_per_pi
    if cap is not None:
        count: dict[str, int] = {}
        for unit in _units(problem):
            r = problem.requests[unit[0]]
            if fr.get(r.id, 0.0) > 1e-12:
                count[r.pi_id] = count.get(r.pi_id, 0) + 1
        errs += [f"PI {k}: {n} awards" for k, n in count.items() if n > cap]
    return errs


def alloc_peer(problem: al.AllocationProblem, weights: Sequence[float] | None = None) -> float:
    """The best ``sum w f`` by ``scipy.optimize.milp`` on the model written from the doc
    (``w``: ``weights``, else ``alloc_weights``)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    reqs = problem.requests
    n = len(reqs)
    w = alloc_weights(problem) if weights is None else weights
    whole = [
        (i, p.id) for i, r in enumerate(reqs) for p in problem.pools if p.whole and p.id in r.demand
    ]
    # columns: f (n), y (n), z (integer units of whole pools)
    nz = len(whole)
    nv = 2 * n + nz
    c = np.zeros(nv)
    c[:n] = -np.asarray(w)
    rows, lo, hi = [], [], []

    def row(coefs: dict[int, float], a: float, b: float) -> None:
        v = np.zeros(nv)
        for k, x in coefs.items():
            v[k] += x
        rows.append(v)
        lo.append(a)
        hi.append(b)

    for p in problem.pools:
        row({i: r.demand.get(p.id, 0.0) for i, r in enumerate(reqs)}, -np.inf, p.capacity)
    for i, r in enumerate(reqs):
        row({i: 1.0, n + i: -_low(problem, r)}, 0.0, np.inf)
        row({i: 1.0, n + i: -1.0}, -np.inf, 0.0)
    for k, (i, pid) in enumerate(whole):
        row({i: reqs[i].demand[pid], 2 * n + k: -1.0}, 0.0, 0.0)
    for unit in _units(problem):
        for j in unit[1:]:
            row({unit[0]: 1.0, j: -1.0}, 0.0, 0.0)
            row({n + unit[0]: 1.0, n + j: -1.0}, 0.0, 0.0)
    cap = problem.policy.max_awards_per_pi
    if cap is not None:
        by_pi: dict[str, list[int]] = {}
        for unit in _units(problem):
            by_pi.setdefault(reqs[unit[0]].pi_id, []).append(unit[0])
        for heads in by_pi.values():
            row({n + i: 1.0 for i in heads}, -np.inf, cap)
    integrality = np.r_[np.zeros(n), np.ones(n), np.ones(nz)]
    ub = np.r_[np.ones(2 * n), np.full(nz, np.inf)]
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=integrality,
               bounds=Bounds(np.zeros(nv), ub), options={"mip_rel_gap": 0})  # fmt: skip
    assert res.success, res.message
    return float(-res.fun)
