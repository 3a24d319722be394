"""Random slot placements of the twenty-first round (trialopt21): resources lending several
identical items, some out of service for a while (``Resource.fewer``, new in trialop20b),
beside places booked outside the schedule on a shared resource, closures, slots already
begun, impossible dates, unbroken awards, bundles (all-or-nothing, kept together, at the
same time on two resources), a zone's change of the clocks; with an independent checker and
an exact peer (OR-Tools CP-SAT). Everything here is written from the problem statement
(``optim.slots`` module and class docs), not from the solver's code; each instance is a
function of its seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Mapping, Sequence

from tests.optim import trial18 as t18

from opencall.optim import slots as sl

UTC = dt.UTC
#: the Sunday Europe's clocks go forward in 2027 (28 March, 01:00 UTC)
T0 = dt.datetime(2027, 3, 26, tzinfo=UTC)
FAMILIES = ("items", "items_zone", "items_tight")


def places(r: sl.Resource, t: dt.datetime, e: dt.datetime) -> int:
    """The groups the slot ``[t, e)`` of ``r`` holds, from the doc: ``groups_per_slot`` less
    the places of every ``fewer`` period overlapping it, and on a shared resource less one
    for each booked slot overlapping it; 0 at least."""
    n = r.groups_per_slot - sum(k for u0, u1, k in r.fewer if u0 < e and t < u1)
    if r.groups_per_slot > 1:
        n -= sum(1 for b0, b1, _ in r.booked if b0 < e and t < b1)
    return max(n, 0)


def slot_rooms(r: sl.Resource) -> tuple[t18.Grid, list[int]]:
    """The grid of ``r`` and the places of each slot (0 where it cannot be used)."""
    g = t18.grid(r)
    room = [
        places(r, t, e) if ok else 0 for t, e, ok in zip(g.starts, g.ends, g.usable, strict=True)
    ]
    return g, room


def instance(seed: int, family: str) -> sl.SlotProblem:
    """A random problem of ``family``: ``items`` (UTC slots), ``items_zone`` (slots kept
    in Europe/Berlin or America/New_York over a change of the clocks), ``items_tight``
    (every award wanting the few slots left by items out of service)."""
    rng = random.Random(seed * 7727 + FAMILIES.index(family) * 1_000_003)
    n_res = rng.choice([1, 2, 2, 3])
    resources = []
    for j in range(n_res):
        gps = rng.choice([1, 2, 3, 5])
        hours = rng.choice([24.0, 12.0, 8.0]) if family != "items" else rng.choice([24.0, 8.0, 1.5])
        n_slots = rng.randint(3, 8)
        zone = ""
        start = T0 + dt.timedelta(hours=rng.choice([0, 6]))
        if family == "items_zone":
            zone = rng.choice(["Europe/Berlin", "America/New_York"])
            if zone == "America/New_York":  # 14 March 2027, 07:00 UTC
                start = dt.datetime(2027, 3, 12, 5, tzinfo=UTC)
        end = start + dt.timedelta(hours=hours * n_slots)

        def span(k0: int, k1: int, _s: dt.datetime = start, _h: float = hours) -> tuple:
            return (_s + dt.timedelta(hours=_h * k0), _s + dt.timedelta(hours=_h * k1))

        fewer = []
        for _ in range(rng.choice([0, 1, 2, 3] if family != "items_tight" else [2, 3, 4])):
            k0 = rng.randrange(n_slots)
            k1 = rng.randint(k0 + 1, n_slots + 1)
            a, b = span(k0, k1)
            # an item's share of the places: a whole number from 1 to all of them
            fewer.append((a + dt.timedelta(minutes=rng.choice([0, 30])), b, rng.randint(1, gps)))
        booked = []
        if gps > 1:
            for _ in range(rng.choice([0, 0, 1, 3])):
                k = rng.randrange(n_slots)
                booked.append((*span(k, k + 1), f"other{rng.randrange(3)}"))
        unavailable = []
        if rng.random() < 0.3:
            k = rng.randrange(n_slots)
            unavailable.append((*span(k, k + 1), "service"))
        not_before = span(1, 1)[0] if rng.random() < 0.15 else None
        resources.append(
            sl.Resource(
                f"R{j}",
                start,
                end,
                hours,
                tuple(unavailable),
                not_before=not_before,
                time_zone=zone,
                booked=tuple(booked),
                groups_per_slot=gps,
                fewer=tuple(fewer),
                changeover=rng.choice([0, 1]) if gps == 1 and family == "items" else 0,
            )
        )
    awards = []
    n_aw = rng.randint(3, 8) if family != "items_tight" else rng.randint(5, 9)
    i = 0
    while i < n_aw:
        r = rng.choice(resources)
        prop = f"p{rng.randrange(max(2, n_aw - 2))}"
        weight = rng.choice([1.0, 2.0, 0.5, 3.0])
        n = rng.choice([1, 1, 2, 3])
        impossible = ()
        if rng.random() < 0.2:
            k = rng.randint(0, 3)
            impossible = ((r.start + dt.timedelta(hours=r.slot_hours * k),
                           r.start + dt.timedelta(hours=r.slot_hours * (k + 1))),)  # fmt: skip
        if rng.random() < 0.25 and n_res > 1:
            other = rng.choice([x for x in resources if x is not r])
            same = rng.random() < 0.5 and other.slot_hours == r.slot_hours
            together = not same and rng.random() < 0.5
            key = f"b{i}"
            for k, res in enumerate((r, other)):
                awards.append(
                    sl.SlotAward(
                        f"a{i}_{k}",
                        res.id,
                        n,
                        proposal=f"q{i}",
                        bundle=key,
                        same_time=same,
                        together=together,
                        weight=weight,
                    )  # fmt: skip
                )
            i += 2
            continue
        awards.append(
            sl.SlotAward(
                f"a{i}",
                r.id,
                n,
                proposal=prop,
                impossible=impossible,
                weight=weight,
                unbroken=n > 1 and rng.random() < 0.4,
            )  # fmt: skip
        )
        i += 1
    return sl.SlotProblem(tuple(resources), tuple(awards))


def violations(problem: sl.SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]) -> list[str]:
    """Every rule a placement breaks: the eighteenth round's (grid, closures, impossible
    dates, changeovers, unbroken runs, bundles whole, same-time bundles) with a slot
    shared by up to its places (``places``) instead of one award."""
    one = sl.SlotProblem(
        tuple(
            sl.Resource(
                r.id,
                r.start,
                r.end,
                r.slot_hours,
                r.unavailable,
                r.not_before,
                r.time_zone,
                r.changeover,
                r.booked if r.groups_per_slot == 1 else (),
                r.wall_start,
                groups_per_slot=1,
            )  # fmt: skip
            for r in problem.resources
        ),
        problem.awards,
    )
    errs = [e for e in t18.violations(one, starts) if "also" not in e]
    res = {r.id: r for r in problem.resources}
    rooms = {rid: slot_rooms(r) for rid, r in res.items()}
    used: Counter[tuple[str, int]] = Counter()
    for a in problem.awards:
        g, _ = rooms[a.resource]
        for t in starts.get(a.id, ()):
            if t in g.starts:
                used[(a.resource, g.starts.index(t))] += 1
    for (rid, k), n in used.items():
        room = rooms[rid][1][k]
        if n > room:
            errs.append(f"{rid} slot {k}: {n} awards, {room} places")
    return errs


def peer(problem: sl.SlotProblem) -> float:
    """The most value any feasible placement holds, by CP-SAT (weights x 1000, exact)."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    res = {r.id: r for r in problem.resources}
    rooms = {rid: slot_rooms(r) for rid, r in res.items()}
    x: dict[tuple[str, int], cp_model.IntVar] = {}
    y: dict[str, cp_model.IntVar] = {}
    for a in problem.awards:
        y[a.id] = m.NewBoolVar(f"y_{a.id}")
        g, room = rooms[a.resource]
        ok = t18.allowed(problem, a, g, res[a.resource])
        n = len(g.starts)
        xs = [m.NewBoolVar(f"x_{a.id}_{k}") for k in range(n)]
        for k in range(n):
            x[(a.id, k)] = xs[k]
            if not ok[k] or room[k] < 1:
                m.Add(xs[k] == 0)
        m.Add(sum(xs) == a.slots * y[a.id])
        if a.unbroken:
            s = [m.NewBoolVar(f"s_{a.id}_{k}") for k in range(n)]
            for k in range(n):
                if k + a.slots > n:
                    m.Add(s[k] == 0)
            m.Add(sum(s) == y[a.id])
            for j in range(n):
                m.Add(xs[j] == sum(s[k] for k in range(max(0, j - a.slots + 1), j + 1)))
    for r in problem.resources:
        g, room = rooms[r.id]
        on = [a for a in problem.awards if a.resource == r.id]
        for k in range(len(g.starts)):
            m.Add(sum(x[(a.id, k)] for a in on) <= max(room[k], 0))
        c = r.changeover
        for a in on:
            for b in on:
                if c == 0 or t18.who(a) >= t18.who(b):
                    continue
                for k in range(len(g.starts)):
                    for j in range(max(0, k - c), min(len(g.starts), k + c + 1)):
                        if j != k:
                            m.AddBoolOr([x[(a.id, k)].Not(), x[(b.id, j)].Not()])
    for unit in t18.units(problem):
        for a in unit[1:]:
            m.Add(y[a.id] == y[unit[0].id])
        if len(unit) > 1 and any(a.same_time for a in unit):
            for a in unit:
                ga = rooms[a.resource][0]
                for b in unit:
                    if b is a:
                        continue
                    gb = rooms[b.resource][0]
                    pos = {
                        (t, e): j for j, (t, e) in enumerate(zip(gb.starts, gb.ends, strict=True))
                    }
                    for k, (t, e) in enumerate(zip(ga.starts, ga.ends, strict=True)):
                        j = pos.get((t, e))
                        if j is None:
                            m.Add(x[(a.id, k)] == 0)
                        else:
                            m.Add(x[(a.id, k)] == x[(b.id, j)])
    m.Maximize(sum(round(a.weight * 1000) * a.slots * y[a.id] for a in problem.awards))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    st = solver.Solve(m)
    assert st == cp_model.OPTIMAL, solver.StatusName(st)
    return round(solver.ObjectiveValue()) / 1000.0
