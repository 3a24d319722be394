"""Random instances of the twentieth round (trialopt20) and an independent assignment
checker: slot placement, allocation and reviewer assignment on shapes no earlier round
drew. Slots: heavy-tailed request sizes (Pareto), many tiny proposals of one or two slots,
capacity a hair above or below the demand, adversarial ties (every award the same size,
weight and window) and resources kept in time zones around the date line (Kiritimati at
+14, Pago Pago at -11, Auckland and Chatham across their change of the clocks, Adak).
Allocation: heavy-tailed demands, many tiny proposals, capacity near the demand, every
merit tied. Assignment: reviewers of very unequal limits (one takes half the call, most
take one or none), huge conflict sets (most pairs conflicted), every affinity tied.

The slot and allocation checkers and exact peers are the earlier rounds' (``trial18``,
``trial19``: written from the problem statements); the assignment checker is written here
from ``AssignmentProblem``'s doc, not from the solver's ``check``. Every instance is a
function of its seed alone (``random.Random``, never the hash of a string).
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import numpy as np
from tests.optim import trial18 as t18

from opencall.optim import allocation as al
from opencall.optim import assignment as asg
from opencall.optim import slots as sl

SLOT_FAMILIES = ("heavy", "tiny", "near", "ties", "dateline")
ALLOC_FAMILIES = ("heavy", "tiny", "near", "ties")
ASSIGN_FAMILIES = ("unequal", "conflicts", "ties")

#: zones around the date line, each with a local day to start from (Auckland and Chatham
#: change their clocks on 2027-04-04 and 2027-09-26, Adak on 2027-03-14 and 2027-11-07)
DATELINE = (
    ("Pacific/Kiritimati", dt.datetime(2027, 4, 2)),
    ("Pacific/Pago_Pago", dt.datetime(2027, 4, 2)),
    ("Pacific/Auckland", dt.datetime(2027, 4, 2)),
    ("Pacific/Auckland", dt.datetime(2027, 9, 24)),
    ("Pacific/Chatham", dt.datetime(2027, 4, 2)),
    ("Pacific/Tongatapu", dt.datetime(2027, 9, 24)),
    ("America/Adak", dt.datetime(2027, 3, 12)),
    ("Pacific/Fiji", dt.datetime(2027, 12, 30)),
)


def pareto_int(rng: random.Random, alpha: float, cap: int) -> int:
    """A heavy-tailed whole number in ``[1, cap]``: ``floor(Pareto(alpha))``."""
    return max(1, min(cap, int(rng.paretovariate(alpha))))


# --- slots ---------------------------------------------------------------------------------


def slot_instance(seed: int, family: str) -> sl.SlotProblem:
    """A random slot problem of ``family`` (one of ``SLOT_FAMILIES``, the module doc)."""
    rng = random.Random(seed * 7919 + SLOT_FAMILIES.index(family) * 104729)
    if family == "dateline":
        return _dateline(rng)
    hours = rng.choice([8.0, 12.0, 24.0])
    step = dt.timedelta(hours=hours)
    n_res = {"heavy": rng.randint(1, 3), "tiny": rng.randint(1, 4), "near": rng.randint(1, 3),
             "ties": rng.randint(1, 2)}[family]  # fmt: skip
    resources = []
    for i in range(n_res):
        n = rng.randint(20, 60) if family != "tiny" else rng.randint(10, 30)
        start = t18.T0 + rng.choice([0, 1]) * step
        unav = []
        if family != "ties" and rng.random() < 0.5:
            k = rng.randrange(n)
            unav.append((start + k * step, start + (k + rng.randint(1, 3)) * step, "closed"))
        resources.append(
            sl.Resource(
                f"r{i}",
                start,
                start + n * step,
                hours,
                unavailable=tuple(unav),
                changeover=rng.choice([0, 0, 0, 1]),
            )  # fmt: skip
        )
    capacity = {r.id: round((r.end - r.start) / step) for r in resources}
    awards: list[sl.SlotAward] = []
    if family == "ties":
        # every award the same size, weight and (per resource) window: only the seeded
        # tie-break tells them apart
        k = rng.choice([1, 2, 3, 5])
        for j in range(rng.randint(6, 24)):
            r = rng.choice(resources)
            awards.append(sl.SlotAward(f"a{j}", r.id, k, proposal=f"p{j}",
                                       unbroken=rng.random() < 0.5))  # fmt: skip
        return sl.SlotProblem(tuple(resources), tuple(awards))
    if family == "near":
        # the demand on each resource within a slot or two of its capacity, either side
        for r in resources:
            left = capacity[r.id] + rng.choice([-2, -1, 0, 1, 2])
            while left > 0:
                k = min(left, rng.choice([1, 2, 3, 4, 6, 8]))
                left -= k
                j = len(awards)
                awards.append(sl.SlotAward(f"a{j}", r.id, k, proposal=f"p{j % 7}",
                                           weight=rng.choice([1.0, 1.0, 2.0, 0.5]),
                                           unbroken=rng.random() < 0.3))  # fmt: skip
        return sl.SlotProblem(tuple(resources), tuple(awards))
    n_aw = rng.randint(8, 20) if family == "heavy" else rng.randint(30, 90)
    for j in range(n_aw):
        r = rng.choice(resources)
        if family == "heavy":
            k = pareto_int(rng, 1.1, capacity[r.id])
        else:
            k = rng.choice([1, 1, 1, 2])
        imp: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.2:
            q = r.start + rng.randrange(capacity[r.id]) * step
            imp = ((q, q + rng.randint(1, 4) * step),)
        prop = f"q{j}" if family == "tiny" else rng.choice([f"p{m}" for m in range(3)] + [f"q{j}"])
        bundle = rng.choice([None, None, None, "b"]) if family == "heavy" else None
        awards.append(
            sl.SlotAward(
                f"a{j}",
                r.id,
                k,
                proposal=prop,
                impossible=imp,
                bundle=bundle,
                weight=rng.choice([1.0, 2.0, 0.5, 1.5])
                if family == "heavy"
                else rng.choice([1.0, 1.0, 2.0]),
                unbroken=rng.random() < 0.4,
            )  # fmt: skip
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


def _dateline(rng: random.Random) -> sl.SlotProblem:
    """Resources kept in zones either side of the date line, the same UTC days being two
    calendar dates apart; impossible periods given in UTC across the local midnight."""
    resources = []
    for i in range(rng.randint(1, 3)):
        name, day = rng.choice(DATELINE)
        hours = rng.choice([1.0, 3.0, 6.0, 12.0, 24.0])
        n_days = rng.randint(2, 5) if hours < 6 else rng.randint(3, 10)
        local0 = day + dt.timedelta(hours=rng.choice([0, 9, 18]))
        tz = zoneinfo.ZoneInfo(name)
        start = local0.replace(tzinfo=tz).astimezone(dt.UTC)
        end = (local0 + dt.timedelta(days=n_days)).replace(tzinfo=tz).astimezone(dt.UTC)
        resources.append(
            sl.Resource(
                f"r{i}", start, end, hours, time_zone=name, changeover=rng.choice([0, 0, 1])
            )  # fmt: skip
        )
    awards = []
    for j in range(rng.randint(3, 12)):
        r = rng.choice(resources)
        n = len(t18.grid(r).starts)
        k = rng.randint(1, max(1, n // 3))
        imp: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.5:
            # a day in UTC around the resource's local midnight
            t = r.start + dt.timedelta(hours=rng.randint(0, 72))
            imp = ((t, t + dt.timedelta(hours=rng.choice([1, 12, 24]))),)
        awards.append(
            sl.SlotAward(
                f"a{j}",
                r.id,
                k,
                proposal=rng.choice(["p0", "p1", f"q{j}"]),
                impossible=imp,
                weight=rng.choice([1.0, 2.0, 0.5]),
                bundle=rng.choice([None, None, "b"]),
                unbroken=rng.random() < 0.5,
            )  # fmt: skip
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


# --- allocation ----------------------------------------------------------------------------


def alloc_instance(seed: int, family: str) -> al.AllocationProblem:
    """A random allocation problem of ``family`` (one of ``ALLOC_FAMILIES``)."""
    rng = random.Random(seed * 6007 + ALLOC_FAMILIES.index(family) * 15485863)
    n_pools = rng.choice([1, 2, 3])
    n = {"heavy": rng.randint(5, 25), "tiny": rng.randint(60, 200), "near": rng.randint(4, 20),
         "ties": rng.randint(4, 30)}[family]  # fmt: skip
    whole = [rng.random() < 0.5 for _ in range(n_pools)]
    demands: list[dict[str, float]] = []
    for _ in range(n):
        dem: dict[str, float] = {}
        for p in range(n_pools):
            if rng.random() < 0.6 or not dem:
                if family == "heavy":
                    d = float(pareto_int(rng, 1.0, 10_000))
                elif family == "tiny":
                    d = float(rng.choice([1, 1, 1, 2]))
                else:
                    d = float(rng.choice([1, 2, 3, 5, 8]))
                dem[f"p{p}"] = d
        demands.append(dem)
    pools = []
    for p in range(n_pools):
        total = sum(d.get(f"p{p}", 0.0) for d in demands)
        if family == "near":
            cap = max(0.0, total + rng.choice([-2.0, -1.0, -0.5, 0.0, 1.0]))
        elif family == "heavy":
            cap = max(1.0, round(total * rng.choice([0.1, 0.3, 0.6])))
        else:
            cap = max(1.0, round(total * rng.choice([0.2, 0.5, 0.8])))
        pools.append(al.Pool(f"p{p}", float(round(cap)) if whole[p] else cap, whole=whole[p]))
    reqs = []
    for i, dem in enumerate(demands):
        merit = 3.0 if family == "ties" else rng.choice([1.0, 2.0, 2.5, 3.0, 4.0, 5.0])
        reqs.append(
            al.Request(
                f"r{i}",
                f"P{i}",
                f"pi{rng.randrange(max(1, n // 3))}",
                merit,
                dem,
                min_fraction=rng.choice([1.0, 0.5, 0.25]),
                bundle=None,
            )  # fmt: skip
        )
    policy = al.AllocationPolicy(
        allow_partial=rng.random() < 0.5,
        min_fraction=rng.choice([0.25, 0.5]),
        max_awards_per_pi=rng.choice([None, None, 2]),
    )
    return al.AllocationProblem(tuple(pools), tuple(reqs), policy)


# --- assignment ----------------------------------------------------------------------------


def assignment_instance(seed: int, family: str) -> asg.AssignmentProblem:
    """A random assignment problem of ``family`` (one of ``ASSIGN_FAMILIES``): short
    answers allowed, since the limits or the conflicts leave too few pairs."""
    rng = random.Random(seed * 31337 + ASSIGN_FAMILIES.index(family) * 2147483647)
    P, R = rng.randint(5, 40), rng.randint(4, 30)
    k = rng.choice([1, 2, 3])
    if family == "ties":
        aff = np.full((P, R), 0.5)
        if rng.random() < 0.5:
            aff[:, : R // 2] = 0.75
    else:
        aff = np.round(np.array([[rng.random() for _ in range(R)] for _ in range(P)]), 3)
    if family == "unequal":
        # one reviewer able to take half the call, most one review or none
        loads = [rng.choice([0, 0, 1, 1, 1, 2]) for _ in range(R)]
        loads[rng.randrange(R)] = max(1, P * k // 2)
        loads[rng.randrange(R)] = max(1, P // 4)
    else:
        loads = [rng.choice([1, 2, 3, 4]) for _ in range(R)]
    density = rng.choice([0.6, 0.8, 0.9]) if family == "conflicts" else 0.05
    conflicts = [(p, r) for p in range(P) for r in range(R) if rng.random() < density]
    return asg.AssignmentProblem(
        P, R, aff, k=k, max_load=np.array(loads, np.int64),
        conflicts=np.array(conflicts, np.int64).reshape(-1, 2), allow_short=True,
    )  # fmt: skip


def assignment_violations(pb: asg.AssignmentProblem, res: asg.AssignmentResult) -> list[str]:
    """Every rule the assignment breaks (the problem's doc): a pair twice, a pair in
    conflict or forbidden, a proposal above ``k`` reviews, a reviewer above its limit."""
    errs = []
    P, R = pb.n_proposals, pb.n_reviewers
    pairs = list(zip(np.asarray(res.proposals).tolist(), np.asarray(res.reviewers).tolist(),
                     strict=True))  # fmt: skip
    if len(set(pairs)) != len(pairs):
        errs.append("a pair assigned twice")
    banned = {tuple(x) for x in np.asarray(pb.conflicts).reshape(-1, 2).tolist()}
    banned |= {tuple(x) for x in np.asarray(pb.forbidden).reshape(-1, 2).tolist()}
    errs += [f"pair {p}, {r} banned" for p, r in pairs if (p, r) in banned]
    k = np.broadcast_to(np.asarray(pb.k), (P,))
    cap = np.broadcast_to(np.asarray(pb.max_load), (R,))
    per_p = np.bincount([p for p, _ in pairs], minlength=P)
    per_r = np.bincount([r for _, r in pairs], minlength=R)
    errs += [f"proposal {p}: {per_p[p]} > {k[p]}" for p in range(P) if per_p[p] > k[p]]
    errs += [f"reviewer {r}: {per_r[r]} > {cap[r]}" for r in range(R) if per_r[r] > cap[r]]
    total = sum(float(pb.affinity[p, r]) for p, r in pairs)
    if abs(total - res.total_affinity) > 1e-6:
        errs.append(f"total affinity {res.total_affinity} is not the pairs' {total}")
    return errs
