"""Random allocation problems of the twenty-third round (trialopt23), each a function of its
seed, and an exact peer written from the package docstring of ``opencall.optim.allocation``
(not from its code): ``scipy.optimize.milp`` at a zero gap on the model the docstring
states, with the PI caps (count, amount, amount per pool, held from earlier rounds), the
resource limits (per proposal, in total) and the caps per group that round 18's peer
(``trial18.alloc_peer``) leaves out.

Families (``FAMILIES``):

``many_tiny``
    20 to 40 pools of 0 to 3 units (half counted in whole units), each request asking one
    or two units of one to three of them.
``one_huge``
    one pool of 1e6 to 1e9 units beside two of a few units; some requests ask a tenth to
    all of the huge pool, the others a unit or two.
``identical``
    every request alike (merit, demand, minimum fraction), up to 40 of them, for room
    for some of them only.
``exact_caps``
    caps that bind exactly: a PI's amount cap, a pool's ``max_total`` and a group's cap
    each equal to the sum of some of the demands under them (0.1 + 0.2 among them).
``infeasible_min``
    minimum fractions whose smallest award does not fit: a request's minimum beyond the
    pool, or beyond ``max_per_proposal``, or every minimum above half of the pool.
``ties``
    two or three merits only, PI count caps of one, groups capped at one award.

One request a proposal and no bundles (round 18's families have bundles): a proposal's
award is its request's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import numpy as np

from opencall.optim import allocation as al

FAMILIES = ("many_tiny", "one_huge", "identical", "exact_caps", "infeasible_min", "ties")


def _req(i: int, pi: str, merit: float, dem: dict[str, float], mf: float) -> al.Request:
    return al.Request(f"r{i}", f"P{i}", pi, merit, dem, min_fraction=mf)


def _drawn(rng: random.Random, i: int, pis: int, top: int, dem: dict[str, float]) -> al.Request:
    """Request ``i`` of one of ``pis`` PIs, merit 1 to ``top``, minimum 1 or 1/2 (drawn in
    that order)."""
    pi = f"pi{rng.randrange(pis)}"
    merit = float(rng.randint(1, top))
    return _req(i, pi, merit, dem, rng.choice([1.0, 0.5]))


def instance(seed: int, family: str) -> al.AllocationProblem:
    """A random allocation problem of ``family``; the same ``seed`` gives the same problem."""
    rng = random.Random(seed * 7919 + FAMILIES.index(family) * 104729)
    pools: list[al.Pool] = []
    reqs: list[al.Request] = []
    groups: list[al.Group] = []
    pol: dict[str, object] = {
        "allow_partial": rng.random() < 0.5,
        "min_fraction": rng.choice([0.25, 0.5, 0.75]),
    }
    if family == "many_tiny":
        np_ = rng.randint(20, 40)
        pools = [
            al.Pool(f"p{k}", float(rng.choice([0, 1, 1, 2, 3])), whole=rng.random() < 0.5)
            for k in range(np_)
        ]
        for i in range(rng.randint(8, 30)):
            dem = {
                f"p{k}": float(rng.choice([1, 1, 2]))
                for k in rng.sample(range(np_), rng.randint(1, 3))
            }
            reqs.append(_drawn(rng, i, 6, 9, dem))
        pol["max_awards_per_pi"] = rng.choice([None, 2, 3])
    elif family == "one_huge":
        big = rng.choice([1e6, 1e7, 1e8, 1e9])
        pools = [al.Pool("huge", big), al.Pool("a", float(rng.randint(1, 4)), whole=True),
                 al.Pool("b", float(rng.randint(0, 3)))]  # fmt: skip
        for i in range(rng.randint(4, 16)):
            if rng.random() < 0.4:
                dem = {"huge": big * rng.choice([0.1, 0.3, 0.5, 0.7, 1.0])}
                if rng.random() < 0.5:
                    dem["a"] = 1.0
            else:
                dem = {rng.choice(["a", "b", "huge"]): float(rng.choice([1, 2]))}
            reqs.append(
                _req(i, f"pi{rng.randrange(5)}", rng.uniform(1, 5), dem, rng.choice([1.0, 0.25]))
            )
        pol["max_amount_per_pi"] = rng.choice([None, big * 0.6])
    elif family == "identical":
        n = rng.randint(2, 40)
        d = float(rng.choice([1, 2, 3, 7]))
        pools = [al.Pool("h", d * rng.randint(0, n) + rng.choice([0.0, 0.5, d / 2]))]
        mf = rng.choice([1.0, 0.5, 0.3])
        for i in range(n):
            reqs.append(_req(i, f"pi{i}", 3.0, {"h": d}, mf))
    elif family == "exact_caps":
        np_ = rng.randint(1, 3)
        pools = [al.Pool(f"p{k}", float(rng.randint(3, 12))) for k in range(np_)]
        n = rng.randint(4, 12)
        for i in range(n):
            dem = {f"p{k}": rng.choice([0.1, 0.2, 0.3, 1.0, 1.5, 2.0]) for k in range(np_)
                   if rng.random() < 0.7} or {"p0": 0.1}  # fmt: skip
            reqs.append(_drawn(rng, i, 3, 6, dem))
        pis = sorted({r.pi_id for r in reqs})
        pi = rng.choice(pis)
        mine = [r for r in reqs if r.pi_id == pi]
        pol["max_amount_per_pi"] = sum(
            r.total_demand for r in rng.sample(mine, max(1, len(mine) - 1))
        )
        some = rng.sample(reqs, rng.randint(1, n))
        lim_pool = rng.choice(pools).id
        total = sum(r.demand.get(lim_pool, 0.0) for r in some)
        if total > 0:
            pol["resource_limits"] = {lim_pool: al.ResourceLimit(max_total=total)}
        members = frozenset(r.proposal_id for r in rng.sample(reqs, rng.randint(2, n)))
        groups = [al.Group("g", members, from_nationality=False)]
        inside = [r for r in reqs if r.proposal_id in members]
        amount = sum(r.total_demand for r in inside[: max(1, len(inside) // 2)])
        pol["group_caps"] = (al.GroupCap("country", ("g",), max_awards=rng.choice([None, 2]),
                                         max_amount=amount, nationality_based=False),)  # fmt: skip
    elif family == "infeasible_min":
        cap = float(rng.randint(2, 10))
        pools = [al.Pool("h", cap)]
        pol["allow_partial"] = True
        pol["min_fraction"] = rng.choice([0.25, 0.6])
        for i in range(rng.randint(3, 12)):
            d = rng.choice([cap * 0.6, cap * 1.5, cap * 3, 1.0, cap])
            reqs.append(
                _req(
                    i, f"pi{i % 4}", float(rng.randint(1, 5)), {"h": d}, rng.choice([0.6, 0.8, 1.0])
                )
            )
        if rng.random() < 0.5:
            pol["resource_limits"] = {"h": al.ResourceLimit(max_per_proposal=cap * 0.5)}
    else:  # ties
        np_ = rng.randint(1, 2)
        pools = [
            al.Pool(f"p{k}", float(rng.randint(2, 8)), whole=rng.random() < 0.5) for k in range(np_)
        ]
        merits = rng.sample([1.0, 2.0, 3.0], rng.randint(1, 2))
        n = rng.randint(3, 14)
        for i in range(n):
            dem = {f"p{rng.randrange(np_)}": float(rng.choice([1, 2]))}
            reqs.append(_req(i, f"pi{rng.randrange(4)}", rng.choice(merits), dem, 1.0))
        pol["max_awards_per_pi"] = 1
        members = frozenset(r.proposal_id for r in reqs if rng.random() < 0.5)
        groups = [al.Group("g", members, from_nationality=False)]
        pol["group_caps"] = (al.GroupCap("country", ("g",), max_awards=1, nationality_based=False),)
    policy = al.AllocationPolicy(**pol)  # type: ignore[arg-type]
    return al.AllocationProblem(tuple(pools), tuple(reqs), policy, tuple(groups))


def low(problem: al.AllocationProblem, r: al.Request) -> float:
    """The smallest fraction an award of ``r`` may be (1: whole awards only)."""
    if not problem.policy.allow_partial:
        return 1.0
    return max(r.min_fraction, problem.policy.min_fraction)


def least_points(problem: al.AllocationProblem, r: al.Request) -> list[float]:
    """The fractions at which ``r``'s award may be judged to fit: ``low`` where it asks for
    no pool counted in whole units, else every allowed fraction (its part of each such
    pool whole; the families' demands there are at most 3 units)."""
    lo = low(problem, r)
    ds = [
        d
        for pid, d in r.demand.items()
        if d > 0 and any(p.id == pid and p.whole for p in problem.pools)
    ]
    if not ds:
        return [lo]
    grid = {k / d for d in ds for k in range(int(d) + 1)} | {1.0}
    return sorted(
        f for f in grid if f >= lo - 1e-12 and all(abs(d * f - round(d * f)) < 1e-9 for d in ds)
    )


def fits(problem: al.AllocationProblem, fr: Mapping[str, float], r: al.Request) -> bool:
    """Whether ``r`` (not awarded in ``fr``) could be awarded beside the others at some
    fraction its minimum and the whole pools allow, breaking no rule."""
    return any(not violations(problem, {**fr, r.id: f}) for f in least_points(problem, r))


def candidate(problem: al.AllocationProblem, r: al.Request) -> bool:
    """Whether ``r``'s smallest award fits under every ``max_per_proposal`` (the families'
    requests are all eligible, feasible and above any threshold)."""
    lims = problem.policy.resource_limits
    return all(
        lim.max_per_proposal is None
        or low(problem, r) * r.demand.get(pid, 0.0) <= lim.max_per_proposal * (1 + 1e-9) + 1e-9
        for pid, lim in lims.items()
    )


def weights(problem: al.AllocationProblem) -> list[float]:
    """Merit rescaled affinely to [floor, 1 + floor] over the candidate requests (the
    docstring's "Objective weights"); 0 for a request that cannot be awarded."""
    ms = [r.merit for r in problem.requests if candidate(problem, r)]
    if not ms:
        return [0.0] * len(problem.requests)
    lo, hi = min(ms), max(ms)
    f = problem.policy.merit_floor
    return [
        f + ((r.merit - lo) / (hi - lo) if hi > lo else 1.0) if candidate(problem, r) else 0.0
        for r in problem.requests
    ]


def _cap_pools(problem: al.AllocationProblem, cap: al.GroupCap) -> list[str]:
    return [p.id for p in problem.pools] if cap.pools is None else list(cap.pools)


def violations(problem: al.AllocationProblem, fr: Mapping[str, float]) -> list[str]:
    """Every rule of the docstring an answer breaks (1e-9 relative tolerance)."""
    pol = problem.policy
    errs: list[str] = []

    def over(used: float, cap: float, what: str) -> None:
        if used > cap * (1 + 1e-9) + 1e-9:
            errs.append(f"{what}: {used!r} > {cap!r}")

    for p in problem.pools:
        used = sum(r.demand.get(p.id, 0.0) * fr[r.id] for r in problem.requests)
        over(used, problem.effective_capacity(p.id), f"pool {p.id}")
        for r in problem.requests:
            if p.whole and fr[r.id] > 0:
                x = r.demand.get(p.id, 0.0) * fr[r.id]
                if abs(x - round(x)) > 1e-6:
                    errs.append(f"{r.id}: {x} of whole pool {p.id}")
    for r in problem.requests:
        f = fr[r.id]
        if f != 0.0 and not (low(problem, r) - 1e-9 <= f <= 1 + 1e-9):
            errs.append(f"{r.id}: fraction {f}")
        for pid, lim in pol.resource_limits.items():
            if lim.max_per_proposal is not None:
                over(r.demand.get(pid, 0.0) * f, lim.max_per_proposal, f"{r.id} on {pid}")
    pis = {r.pi_id for r in problem.requests}
    for pi in pis:
        mine = [r for r in problem.requests if r.pi_id == pi]
        if pol.max_awards_per_pi is not None:
            n = sum(fr[r.id] > 0 for r in mine) + pol.awards_held_by_pi.get(pi, 0)
            over(n, pol.max_awards_per_pi, f"PI {pi} awards")
        if pol.max_amount_per_pi is not None:
            amt = sum(r.total_demand * fr[r.id] for r in mine) + pol.amount_held(pi)
            over(amt, pol.max_amount_per_pi, f"PI {pi} amount")
        for pid, cap in pol.max_amount_per_pi_by_pool.items():
            amt = sum(r.demand.get(pid, 0.0) * fr[r.id] for r in mine) + pol.amount_held(pi, pid)
            over(amt, cap, f"PI {pi} amount of {pid}")
    groups = {g.name: g for g in problem.groups}
    for gc in pol.group_caps:
        for name in gc.groups:
            mine = [r for r in problem.requests if r.proposal_id in groups[name].proposal_ids]
            if gc.max_awards is not None:
                over(sum(fr[r.id] > 0 for r in mine), gc.max_awards, f"group {name} awards")
            if gc.max_amount is not None:
                amt = sum(
                    r.demand.get(pid, 0.0) * fr[r.id]
                    for r in mine
                    for pid in _cap_pools(problem, gc)
                )
                over(amt, gc.max_amount, f"group {name} amount")
    return errs


def value(problem: al.AllocationProblem, fr: Mapping[str, float]) -> float:
    """``sum w f`` with the docstring's weights (no tie-break)."""
    return sum(w * fr[r.id] for w, r in zip(weights(problem), problem.requests, strict=True))


def peer(problem: al.AllocationProblem) -> float | None:
    """The most ``sum w f`` over the docstring's model, by ``scipy.optimize.milp`` at a zero
    relative gap (columns: f, y per request, whole units per (request, whole pool)); None
    where its own answer breaks a rule (``violations``), so that it cannot be trusted."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    pol = problem.policy
    reqs = problem.requests
    n = len(reqs)
    if n == 0:
        return 0.0
    whole = [
        (i, p.id) for i, r in enumerate(reqs) for p in problem.pools if p.whole and p.id in r.demand
    ]
    nv = 2 * n + len(whole)
    sparse: list[tuple[dict[int, float], float, float]] = []

    def row(coefs: dict[int, float], a: float, b: float) -> None:
        sparse.append((coefs, a, b))

    for p in problem.pools:
        row(
            {i: r.demand.get(p.id, 0.0) for i, r in enumerate(reqs)},
            -np.inf,
            problem.effective_capacity(p.id),
        )
    for i, r in enumerate(reqs):
        row({i: 1.0, n + i: -low(problem, r)}, 0.0, np.inf)
        row({i: 1.0, n + i: -1.0}, -np.inf, 0.0)
        for pid, lim in pol.resource_limits.items():
            if lim.max_per_proposal is not None and r.demand.get(pid, 0.0) > 0:
                row({i: r.demand[pid]}, -np.inf, lim.max_per_proposal)
    for k, (i, pid) in enumerate(whole):
        row({i: reqs[i].demand[pid], 2 * n + k: -1.0}, 0.0, 0.0)
    for pi in {r.pi_id for r in reqs}:
        mine = [i for i, r in enumerate(reqs) if r.pi_id == pi]
        if pol.max_awards_per_pi is not None:
            row(
                {n + i: 1.0 for i in mine},
                -np.inf,
                pol.max_awards_per_pi - pol.awards_held_by_pi.get(pi, 0),
            )
        if pol.max_amount_per_pi is not None:
            row(
                {i: reqs[i].total_demand for i in mine},
                -np.inf,
                pol.max_amount_per_pi - pol.amount_held(pi),
            )
        for pid, cap in pol.max_amount_per_pi_by_pool.items():
            row(
                {i: reqs[i].demand.get(pid, 0.0) for i in mine},
                -np.inf,
                cap - pol.amount_held(pi, pid),
            )
    groups = {g.name: g for g in problem.groups}
    for gc in pol.group_caps:
        for name in gc.groups:
            mine = [i for i, r in enumerate(reqs) if r.proposal_id in groups[name].proposal_ids]
            if gc.max_awards is not None:
                row({n + i: 1.0 for i in mine}, -np.inf, gc.max_awards)
            if gc.max_amount is not None:
                cp = _cap_pools(problem, gc)
                row(
                    {i: sum(reqs[i].demand.get(p, 0.0) for p in cp) for i in mine},
                    -np.inf,
                    gc.max_amount,
                )
    c = np.zeros(nv)
    c[:n] = -np.asarray(weights(problem))
    ub = np.r_[np.ones(2 * n), np.full(len(whole), np.inf)]
    integrality = np.r_[np.zeros(n), np.ones(n), np.ones(len(whole))]
    dense = np.zeros((len(sparse), nv))
    for k, (coefs, _, _) in enumerate(sparse):
        for j, x in coefs.items():
            dense[k, j] += x
    lo = [a for _, a, _ in sparse]
    hi = [b for *_, b in sparse]
    res = milp(c, constraints=LinearConstraint(dense, lo, hi), integrality=integrality,
               bounds=Bounds(np.zeros(nv), ub), options={"mip_rel_gap": 0})  # fmt: skip
    assert res.success, res.message
    fr = {r.id: float(res.x[i]) if res.x[n + i] > 0.5 else 0.0 for i, r in enumerate(reqs)}
    if violations(problem, fr):
        # HiGHS's feasibility tolerance (about 1e-6 of a row's scale) let an award of one
        # unit beside 1e9 of them through: no exact answer from this peer
        return None
    return float(-res.fun)
