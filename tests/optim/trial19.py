"""Random instances of the nineteenth round (trialopt19), an independent checker and exact
peers: slot placement with long unbroken blocks, many resources, tight windows and
resources kept in a site's time zone across daylight saving changes (OR-Tools CP-SAT);
allocation in a TAC chair's fixed order (the accept band first, set-aside proposals out,
merits handed out by place and so tied) with awards and amounts held from earlier rounds,
per-PI amount caps and per-proposal limits (``scipy.optimize.milp``); reviewer assignment
with heavy forbidden pairs (no shared language) and conflicts beside per-reviewer yearly
limits (``scipy.optimize.milp``). Everything here is written from the problem statements
(the ``optim`` package and class docs); the time-zone grid is computed here from the rule
of ``optim.wallclock``'s doc with ``zoneinfo``, not with ``optim.wallclock``.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Mapping, Sequence

import numpy as np
from tests.optim import trial18 as t18

from opencall.optim import allocation as al
from opencall.optim import assignment as asg
from opencall.optim import slots as sl

#: zones with daylight saving (and one without, one of 45 minutes), with a day near a change
ZONES = (
    ("Europe/Berlin", dt.datetime(2027, 3, 26)),
    ("Europe/Berlin", dt.datetime(2027, 10, 29)),
    ("America/New_York", dt.datetime(2027, 3, 12)),
    ("Australia/Sydney", dt.datetime(2027, 4, 2)),
    ("Pacific/Chatham", dt.datetime(2027, 9, 24)),
    ("Asia/Kolkata", dt.datetime(2027, 3, 26)),
)

FAMILIES = ("long", "many", "tight", "zones")


def zone_grid(r: sl.Resource) -> t18.Grid:
    """The slots of a resource kept in ``r.time_zone`` (the ``optim.wallclock`` rule: local
    bounds ``w0 + k * step``, a repeated time its first occurrence, a skipped one the jump,
    a slot of no length no slot), each bound found by :func:`wall_instant`."""
    tz = zoneinfo.ZoneInfo(r.time_zone)
    w0 = r.start.astimezone(tz).replace(tzinfo=None)
    step = dt.timedelta(hours=r.slot_hours)
    n = int((r.end - r.start) / step) + 4
    inst = [wall_instant(w0 + k * step, tz) for k in range(n + 1)]
    starts, ends, usable = [], [], []
    for k in range(n):
        t, e = inst[k], inst[k + 1]
        if e <= t or t < r.start:
            continue
        if e > r.end:
            break
        starts.append(t)
        ends.append(e)
        usable.append(t18.usable_slot(r, t, e))
    return t18.Grid(tuple(starts), tuple(ends), tuple(usable))


def wall_instant(wall: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of the naive local ``wall``: its first occurrence, or, skipped by
    the clocks, the instant they jump (bisected to the second between the readings with
    the offsets before and after). pandas' ``tz_localize(nonexistent="shift_forward")``
    was the first try: it puts 02:50 on the morning Chatham's clocks go from 02:45 to 03:45
    at 02:00 and 03:00 at 04:00 (an offset of 45 minutes), where the jump is 03:45."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    lo, hi = sorted((first, wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)))
    after = hi.astimezone(tz).utcoffset()
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def slot_instance(seed: int, family: str) -> sl.SlotProblem:
    """A random slot problem of ``family``: ``long`` (unbroken blocks of 6-40 slots on 1-2
    resources of 40-120 slots, closures), ``many`` (6-10 resources, 10-30 short awards,
    bundles across resources), ``tight`` (each award possible only in a window a few slots
    wider than itself), ``zones`` (resources kept in a time zone across a change of the
    clocks, hourly to daily slots)."""
    rng = random.Random(seed * 7919 + FAMILIES.index(family))
    if family == "zones":
        return _zone_instance(rng)
    n_res = {"long": rng.choice([1, 2]), "many": rng.randint(6, 10), "tight": rng.randint(1, 4)}
    hours = rng.choice([8.0, 24.0, 12.0])
    step = dt.timedelta(hours=hours)
    resources = []
    for i in range(n_res[family]):
        n = rng.randint(40, 120) if family == "long" else rng.randint(8, 30)
        start = t18.T0 + rng.choice([0, 0, 1]) * step
        unav = []  # drawn in the order of the first generator (seeds keep their instances)
        for k in range(n):
            if rng.random() < rng.choice([0.0, 0.03, 0.08]):
                unav.append((start + k * step, start + (k + rng.randint(1, 3)) * step, "closed"))
        resources.append(
            sl.Resource(
                f"r{i}",
                start,
                start + n * step,
                hours,
                unavailable=tuple(unav),
                changeover=rng.choice([0, 0, 1, 2]),
            )  # fmt: skip
        )
    n_aw = {"long": rng.randint(3, 12), "many": rng.randint(10, 30), "tight": rng.randint(4, 14)}
    awards = []
    for j in range(n_aw[family]):
        r = rng.choice(resources)
        n_slots = round((r.end - r.start) / step)
        k = rng.randint(6, 40) if family == "long" else rng.choice([1, 1, 2, 3, 4])
        imp: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if family == "tight":
            w0 = rng.randrange(max(1, n_slots - k))
            w1 = min(w0 + k + rng.choice([0, 1, 2, 3]), n_slots)
            imp = ((r.start - step, r.start + w0 * step), (r.start + w1 * step, r.end + 2 * step))
        elif rng.random() < 0.3:
            q = rng.randrange(n_slots)
            imp = ((r.start + q * step, r.start + (q + rng.randint(1, 5)) * step),)
        prop = rng.choice([f"p{m}" for m in range(4)] + [f"q{j}"] * 3)
        bundle = rng.choice([None, None, "b"]) if family == "many" else None
        awards.append(
            sl.SlotAward(
                f"a{j}",
                r.id,
                k,
                proposal=prop,
                impossible=imp,
                bundle=bundle,
                weight=rng.choice([1.0, 2.0, 0.5, 3.0, 1.5]),
                unbroken=family == "long" or rng.random() < 0.5,
            )  # fmt: skip
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


def _zone_instance(rng: random.Random) -> sl.SlotProblem:
    resources = []
    for i in range(rng.randint(1, 3)):
        name, day = rng.choice(ZONES)
        hours = rng.choice([1.0, 2.0, 4.0, 8.0, 12.0, 24.0])
        n_days = rng.randint(2, 6) if hours < 8 else rng.randint(3, 12)
        local0 = day + dt.timedelta(hours=rng.choice([0, 6, 12]))
        start = _instant(local0, name)
        end = _instant(local0 + dt.timedelta(days=n_days), name)
        unav = ()
        if rng.random() < 0.5:
            u = start + dt.timedelta(hours=rng.randint(0, 24 * n_days))
            unav = ((u, u + dt.timedelta(hours=rng.randint(1, 12)), "service"),)
        resources.append(
            sl.Resource(
                f"r{i}",
                start,
                end,
                hours,
                unavailable=unav,
                time_zone=name,
                changeover=rng.choice([0, 0, 1]),
            )  # fmt: skip
        )
    awards = []
    for j in range(rng.randint(2, 10)):
        r = rng.choice(resources)
        n = len(zone_grid(r).starts)
        k = rng.randint(1, max(1, n // 3))
        imp: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.4:
            t = r.start + dt.timedelta(hours=rng.randint(0, 48))
            imp = ((t, t + dt.timedelta(hours=rng.randint(1, 30))),)
        awards.append(
            sl.SlotAward(
                f"a{j}",
                r.id,
                k,
                proposal=rng.choice(["p0", "p1", "p2", f"q{j}"]),
                impossible=imp,
                weight=rng.choice([1.0, 2.0, 0.5]),
                unbroken=rng.random() < 0.5,
            )  # fmt: skip
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


def _instant(wall: dt.datetime, zone: str) -> dt.datetime:
    """The UTC instant of a local time that exists once (the generator picks such times)."""
    import zoneinfo

    return wall.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


# --- allocation in the TAC chair's order ------------------------------------------------


def alloc_instance(seed: int) -> al.AllocationProblem:
    """Requests ranked in a TAC chair's fixed order: the accept band first, the reserve and
    reject bands left out, the calibrated scores handed out by place (so tied where the
    scores tie); awards and amounts the PIs hold from earlier rounds, per-PI count and
    amount caps (in total and per pool), a per-proposal limit on a pool; whole and
    divisible pools; bundles."""
    rng = random.Random(seed)
    pools = []
    for p in range(rng.choice([1, 2, 3])):
        cap = float(rng.choice([4, 10, 24, 60, 200]))
        pools.append(al.Pool(f"p{p}", cap, whole=rng.random() < 0.5))
    n = rng.randint(3, 18)
    scores = sorted((rng.choice([1.0, 1.5, 2.0, 2.5, 3.0, 3.5]) for _ in range(n)), reverse=True)
    band = {i: rng.choice(["", "", "", "accept", "reserve", "reject"]) for i in range(n)}
    order = [i for i in range(n) if band[i] == "accept"]
    order += [i for i in range(n) if band[i] == ""]
    pis = [f"pi{rng.randrange(max(1, n // 2))}" for _ in range(n)]
    reqs = []
    for place, i in enumerate(order):
        dem = {}
        for pl in pools:
            if rng.random() < 0.6 or not dem:
                dem[pl.id] = float(rng.choice([1, 2, 3, 5, 8, 12, pl.capacity // 2]))
        bundle = rng.choice([None, None, None, "b"])
        for part in range(2 if bundle else 1):
            reqs.append(
                al.Request(
                    f"r{i}_{part}",
                    f"P{i}",
                    pis[i],
                    scores[place],
                    dict(dem),
                    min_fraction=rng.choice([1.0, 0.5, 0.25]),
                    bundle=bundle,
                )  # fmt: skip
            )
    if not reqs:
        reqs.append(al.Request("r0", "P0", "pi0", 1.0, {pools[0].id: 1.0}))
    some = sorted({r.pi_id for r in reqs})
    held = {pi: rng.choice([0, 0, 1, 2]) for pi in some}
    held_amount = {pi: {pl.id: float(rng.choice([0, 0, 2, 5])) for pl in pools} for pi in some}
    limits = {}
    if rng.random() < 0.4:
        limits[pools[0].id] = al.ResourceLimit(max_per_proposal=float(rng.choice([3, 6, 10])))
    policy = al.AllocationPolicy(
        allow_partial=rng.random() < 0.5,
        min_fraction=rng.choice([0.25, 0.5]),
        max_awards_per_pi=rng.choice([None, 1, 2, 3]),
        awards_held_by_pi=held,
        max_amount_per_pi=rng.choice([None, None, 10.0, 25.0]),
        max_amount_per_pi_by_pool=(
            {pools[-1].id: float(rng.choice([6, 15]))} if rng.random() < 0.4 else {}
        ),
        amount_held_by_pi=held_amount if rng.random() < 0.6 else {},
        resource_limits=limits,
    )
    return al.AllocationProblem(tuple(pools), tuple(reqs), policy)


def alloc_violations(problem: al.AllocationProblem, fr: Mapping[str, float]) -> list[str]:
    """The eighteenth round's rules (capacities, fractions, whole units, bundles), the PI's
    count cap with the awards held, the PI's amount caps with the amounts held (counted
    when the PI is awarded anything here), the per-proposal limit."""
    pol = problem.policy
    bare = al.AllocationProblem(problem.pools, problem.requests,
                                al.AllocationPolicy(allow_partial=pol.allow_partial,
                                                    min_fraction=pol.min_fraction))  # fmt: skip
    errs = t18.alloc_violations(bare, fr)
    units: dict[str, set[tuple[str, str]]] = {}
    amount: dict[str, float] = {}
    per_pool: dict[tuple[str, str], float] = {}
    per_prop: dict[tuple[str, str], float] = {}
    for r in problem.requests:
        f = fr.get(r.id, 0.0)
        if f <= 1e-9:
            continue
        units.setdefault(r.pi_id, set()).add((r.proposal_id, r.bundle or "\0" + r.id))
        for pid, d in r.demand.items():
            amount[r.pi_id] = amount.get(r.pi_id, 0.0) + d * f
            per_pool[(r.pi_id, pid)] = per_pool.get((r.pi_id, pid), 0.0) + d * f
            per_prop[(r.proposal_id, pid)] = per_prop.get((r.proposal_id, pid), 0.0) + d * f
    for pi, us in units.items():
        held = pol.awards_held_by_pi.get(pi, 0)
        if pol.max_awards_per_pi is not None and len(us) + held > pol.max_awards_per_pi:
            errs.append(f"PI {pi}: {len(us)} + {held} held awards")
        had = sum(pol.amount_held_by_pi.get(pi, {}).values())
        if pol.max_amount_per_pi is not None and amount[pi] + had > pol.max_amount_per_pi + 1e-6:
            errs.append(f"PI {pi}: {amount[pi]} + {had} held > {pol.max_amount_per_pi}")
    for (pi, pid), a in per_pool.items():
        cap = pol.max_amount_per_pi_by_pool.get(pid)
        had = pol.amount_held_by_pi.get(pi, {}).get(pid, 0.0)
        if cap is not None and a > 1e-9 and a + had > cap + 1e-6:
            errs.append(f"PI {pi}: {a} + {had} held of {pid} > {cap}")
    for (prop, pid), a in per_prop.items():
        lim = pol.resource_limits.get(pid)
        if lim is not None and lim.max_per_proposal is not None and a > lim.max_per_proposal + 1e-6:
            errs.append(f"{prop}: {a} of {pid} > {lim.max_per_proposal}")
    return errs


def alloc_objective(problem: al.AllocationProblem, fr: Mapping[str, float]) -> float:
    """``sum w f`` with the package doc's weights."""
    w = t18.alloc_weights(problem, alloc_peer)
    return sum(wi * fr.get(r.id, 0.0) for wi, r in zip(w, problem.requests, strict=True))


def alloc_peer(problem: al.AllocationProblem, weights: Sequence[float] | None = None) -> float:
    """The best ``sum w f`` by ``scipy.optimize.milp`` (gap 0) on the model written from the
    package doc, with ``g_k`` (PI ``k`` is awarded anything here) carrying the held amounts."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    reqs, pol = problem.requests, problem.policy
    n = len(reqs)
    pis = sorted({r.pi_id for r in reqs})
    whole = [(i, p.id) for i, r in enumerate(reqs) for p in problem.pools
             if p.whole and p.id in r.demand]  # fmt: skip
    nz, ng = len(whole), len(pis)
    nv = 2 * n + nz + ng
    gcol = {pi: 2 * n + nz + j for j, pi in enumerate(pis)}
    c = np.zeros(nv)
    w = t18.alloc_weights(problem, alloc_peer) if weights is None else weights
    c[:n] = -np.asarray(w)
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []

    def row(coefs: dict[int, float], a: float, b: float) -> None:
        rows.append(np.bincount(list(coefs), list(coefs.values()), minlength=nv))
        lo.append(a)
        hi.append(b)

    for p in problem.pools:
        row({i: r.demand.get(p.id, 0.0) for i, r in enumerate(reqs)}, -np.inf, p.capacity)
    for i, r in enumerate(reqs):
        row({i: 1.0, n + i: -t18._low(problem, r)}, 0.0, np.inf)
        row({i: 1.0, n + i: -1.0}, -np.inf, 0.0)
        row({n + i: 1.0, gcol[r.pi_id]: -1.0}, -np.inf, 0.0)
    for k, (i, pid) in enumerate(whole):
        row({i: reqs[i].demand[pid], 2 * n + k: -1.0}, 0.0, 0.0)
    heads: dict[str, list[int]] = {}
    for unit in t18._units(problem):
        heads.setdefault(reqs[unit[0]].pi_id, []).append(unit[0])
        for j in unit[1:]:
            row({unit[0]: 1.0, j: -1.0}, 0.0, 0.0)
            row({n + unit[0]: 1.0, n + j: -1.0}, 0.0, 0.0)
    for pi in pis:
        mine = [i for i, r in enumerate(reqs) if r.pi_id == pi]
        held = pol.amount_held_by_pi.get(pi, {})
        if pol.max_awards_per_pi is not None:
            room = pol.max_awards_per_pi - pol.awards_held_by_pi.get(pi, 0)
            row({n + i: 1.0 for i in heads[pi]}, -np.inf, max(room, 0))
        if pol.max_amount_per_pi is not None:
            co = {i: reqs[i].total_demand for i in mine}
            co[gcol[pi]] = sum(held.values())
            row(co, -np.inf, pol.max_amount_per_pi)
        for pid, cap in pol.max_amount_per_pi_by_pool.items():
            co = {i: reqs[i].demand.get(pid, 0.0) for i in mine}
            co[gcol[pi]] = held.get(pid, 0.0)
            row(co, -np.inf, cap)
    for pid, lim in pol.resource_limits.items():
        if lim.max_per_proposal is None:
            continue
        for prop in {r.proposal_id for r in reqs}:
            co = {i: r.demand.get(pid, 0.0) for i, r in enumerate(reqs) if r.proposal_id == prop}
            row(co, -np.inf, lim.max_per_proposal)
    integrality = np.r_[np.zeros(n), np.ones(n), np.ones(nz), np.ones(ng)]
    ub = np.r_[np.ones(2 * n), np.full(nz, np.inf), np.ones(ng)]
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=integrality,
               bounds=Bounds(np.zeros(nv), ub), options={"mip_rel_gap": 0})  # fmt: skip
    assert res.success, res.message
    return float(-res.fun)


# --- reviewer assignment ------------------------------------------------------------------


def assignment_instance(seed: int) -> asg.AssignmentProblem:
    """Proposals in one of 2-5 languages, reviewers reading 1-2 of them (every pair with no
    shared language forbidden: most pairs), conflicts, reviewers' limits for the year (what
    is left of a yearly cap after the reviews they did this year: 0-4, some 0), allowed to
    come up short."""
    rng = random.Random(seed)
    P, R = rng.randint(3, 25), rng.randint(4, 30)
    langs = rng.randint(2, 5)
    plang = [rng.randrange(langs) for _ in range(P)]
    rlang = [set(rng.sample(range(langs), rng.choice([1, 1, 2]))) for _ in range(R)]
    forbidden = [(p, r) for p in range(P) for r in range(R) if plang[p] not in rlang[r]]
    conflicts = [(p, r) for p in range(P) for r in range(R) if rng.random() < 0.08]
    aff = np.round(np.array([[rng.random() for _ in range(R)] for _ in range(P)]), 3)
    year_left = [max(0, rng.choice([6, 6, 8]) - rng.randint(0, 8)) for _ in range(R)]
    return asg.AssignmentProblem(
        P, R, aff, k=rng.choice([1, 2, 3]), max_load=np.minimum(year_left, rng.choice([3, 4])),
        forbidden=np.array(forbidden, np.int64).reshape(-1, 2),
        conflicts=np.array(conflicts, np.int64).reshape(-1, 2), allow_short=True,
    )  # fmt: skip


def assignment_peer(pb: asg.AssignmentProblem) -> tuple[int, float]:
    """The most reviews any assignment gives, then the most affinity among those (two
    ``milp`` solves over the allowed pairs: counts at most ``k``, loads at most the limit)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    P, R = pb.n_proposals, pb.n_reviewers
    banned = {tuple(x) for x in np.asarray(pb.forbidden).tolist()}
    banned |= {tuple(x) for x in np.asarray(pb.conflicts).tolist()}
    pairs = [(p, r) for p in range(P) for r in range(R) if (p, r) not in banned]
    if not pairs:
        return 0, 0.0
    k = np.broadcast_to(np.asarray(pb.k), (P,))
    cap = np.broadcast_to(np.asarray(pb.max_load), (R,))
    A = np.zeros((P + R, len(pairs)))
    for j, (p, r) in enumerate(pairs):
        A[p, j] = A[P + r, j] = 1
    cons = [LinearConstraint(A, -np.inf, np.r_[k, cap])]
    ones = np.ones(len(pairs))
    bnd, integ = Bounds(0, 1), ones
    first = milp(-ones, constraints=cons, integrality=integ, bounds=bnd)
    most = round(-first.fun)
    a = np.array([pb.affinity[p, r] for p, r in pairs])
    cons.append(LinearConstraint(ones[None, :], most, most))
    second = milp(-a, constraints=cons, integrality=integ, bounds=bnd,
                  options={"mip_rel_gap": 0})  # fmt: skip
    return most, float(-second.fun)
