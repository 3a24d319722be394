"""Building the allocation integer program and solving it in phases (see the package doc)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from opencall.optim import limits
from opencall.optim.allocation.caps import cap_members, cap_pools, cap_rows
from opencall.optim.allocation.explain import _explain, _least_award
from opencall.optim.allocation.mip import (
    MipModel,
    MipSolution,
    _box_bound,
    _gap,
    rows_to_csr,
    solve_mip,
)
from opencall.optim.allocation.model import (
    _TIE_EPS,
    _TOL,
    AllocationProblem,
    AllocationResult,
    Backend,
    GroupShareOutcome,
    GroupShareRule,
    Request,
    _bundle_blocker,
    _is_candidate,
    _meets,
    _min_fraction,
    _oriented,
    _per_proposal_limit_blocks,
    seeded_rank,
)
from opencall.optim.arrays import FloatArray

#: objective weights whose largest lies outside this range are solved in its units
_WEIGHT_RANGE = (1e-6, 1e6)
#: HiGHS's absolute MIP gap (``mip_abs_gap``, 1e-6), which ``scipy.optimize.milp`` does not
#: expose: the weights are scaled so that the seeded tie perturbation between two tied
#: requests is at least ten times it (never past a largest weight of 1e6)
_HIGHS_ABS_GAP = 1e-6


@dataclass
class _Model:
    cand: list[int]
    f_col: dict[int, int]
    y_col: dict[int, int]
    n_cols: int
    integer: npt.NDArray[np.bool_]
    col_hi: FloatArray
    rows: list[tuple[dict[int, float], float, float]]
    weights: FloatArray
    group_terms: list[tuple[GroupShareRule, tuple[str, ...], float, dict[int, float]]]
    #: the least the seeded perturbation tells two tied requests apart by (0: none)
    tie_step: float = 0.0
    #: a proposal's own award column (caps of awards per group count proposals), by the
    #: proposal's requests: set to 1 with them where a request is added by hand (``_fill``)
    proposal_col: dict[int, int] = field(default_factory=dict)


def _at_most(terms: dict[int, float], limit: float) -> tuple[dict[int, float], float, float]:
    """The row ``sum(terms) <= limit`` divided by ``limit``: amounts of any size (1e12
    core-hours beside a request of 0.001) keep the solver's coefficients near 1, where its
    tolerances hold. A limit of 0, or one so small beside the terms that dividing by it
    would overflow (an inventory of 5e-324 mg), divides by the largest term instead."""
    big = max(terms.values(), default=0.0)
    scale = limit if limit > 0 and big < 1e9 * limit else (big or 1.0)
    hi = limit / scale if limit > 0 else 0.0
    # a term the solver would read as 0 (below 1e-9) is counted as 1e-8 of the limit: a
    # tiny request beside a huge capacity is never free, the row never overdrawn (never
    # more than the row's own bound, so a request that fits stays possible)
    floor = min(1e-8, hi) if hi > 0 else 1e-8
    return ({c: max(v / scale, floor) if v > 0 else 0.0 for c, v in terms.items()}, -math.inf, hi)


def _build(problem: AllocationProblem, seed: int) -> _Model:
    policy = problem.policy
    reqs = problem.requests
    cand = [
        i
        for i, r in enumerate(reqs)
        if _is_candidate(r, problem)
        and _bundle_blocker(problem, i) is None
        and _per_proposal_limit_blocks(problem, i) is None
    ]
    f_col: dict[int, int] = {}
    y_col: dict[int, int] = {}
    integer: list[bool] = []
    bundle_col: dict[tuple[str, str], int] = {}
    col = 0
    for i in cand:
        r = reqs[i]
        lo = _min_fraction(r, policy)
        if r.bundle is not None:
            # every request of a bundle shares one binary column: all or nothing, in full
            key = (r.proposal_id, r.bundle)
            if key not in bundle_col:
                bundle_col[key] = col
                integer.append(True)
                col += 1
            y_col[i] = f_col[i] = bundle_col[key]
            continue
        y_col[i] = col
        integer.append(True)
        col += 1
        if lo < 1.0:
            f_col[i] = col
            integer.append(False)
            col += 1
        else:
            f_col[i] = y_col[i]

    def add(terms: dict[int, float], c: int, v: float) -> None:
        terms[c] = terms.get(c, 0.0) + v

    rows: list[tuple[dict[int, float], float, float]] = []
    # capacity rows (a max_total resource limit lowers the capacity)
    per_pool: dict[str, dict[int, float]] = {}
    for i in cand:
        for pid, d in reqs[i].demand.items():
            if d > 0:
                add(per_pool.setdefault(pid, {}), f_col[i], d)
    # a row is left out only when every request fits together: relative to the limit, so a
    # pool of 1e-12 mg is not overdrawn by 1e-13 mg (an absolute 1e-12 let it through)
    for p in problem.pools:
        terms = per_pool.get(p.id)
        cap = problem.effective_capacity(p.id)
        if terms and sum(terms.values()) > cap * (1 + 1e-12):
            rows.append(_at_most(terms, cap))
    # changeover rows: the awards of k proposals and the changeover between each two fit in
    # the pool's room, sum(d f) + c (k - 1) <= room, with k counted by award columns (two
    # awarded requests of one proposal on the pool count twice: never too few)
    for p in problem.pools:
        terms = per_pool.get(p.id)
        if p.changeover <= 0 or not terms:
            continue
        row = dict(terms)
        for i in cand:
            if reqs[i].demand.get(p.id, 0.0) > 0:
                add(row, y_col[i], p.changeover)
        if sum(row.values()) > p.changeover_room + p.changeover:
            rows.append(_at_most(row, p.changeover_room + p.changeover))
    # shared capacities (the common instants of same-time bundles sharing a resource)
    index_of = {r.id: i for i, r in enumerate(reqs)}
    candidates = set(cand)
    for sc in problem.shared:
        terms = {}
        for rid, d in sc.demand.items():
            i = index_of[rid]
            if d > 0 and i in candidates:
                add(terms, f_col[i], d)
        if terms and sum(terms.values()) > sc.capacity * (1 + 1e-12):
            rows.append(_at_most(terms, sc.capacity))
    # partial-award linking rows
    hi: list[float] = [1.0] * col
    whole = {p.id for p in problem.pools if p.whole}
    for i in cand:
        if f_col[i] != y_col[i]:
            lo = _min_fraction(reqs[i], policy)
            rows.append(({f_col[i]: 1.0, y_col[i]: -1.0}, -math.inf, 0.0))
            rows.append(({f_col[i]: 1.0, y_col[i]: -lo}, 0.0, math.inf))
            # on a pool counted in whole units the part awarded is a whole number n:
            # f = n / d, n an integer column in [0, d]
            for pid, d in reqs[i].demand.items():
                if pid in whole and d > 0:
                    integer.append(True)
                    hi.append(float(math.floor(d + 1e-9)))
                    rows.append(({f_col[i]: 1.0, col: -1.0 / d}, 0.0, 0.0))
                    col += 1
    # per-proposal resource limits
    by_proposal: dict[str, list[int]] = {}
    for i in cand:
        by_proposal.setdefault(reqs[i].proposal_id, []).append(i)
    for pid, lim in policy.resource_limits.items():
        if lim.max_per_proposal is None:
            continue
        for members in by_proposal.values():
            rows.extend(_pool_limit_row(reqs, members, f_col, pid, lim.max_per_proposal))
    rows.extend(_pi_rows(problem, cand, y_col, f_col))
    # caps per country (income group, region): optim.allocation.caps

    proposal_col: dict[int, int] = {}

    def new_column(proposal: str) -> int:
        nonlocal col
        integer.append(True)
        hi.append(1.0)
        proposal_col.update(dict.fromkeys(by_proposal[proposal], col))
        col += 1
        return col - 1

    rows.extend(cap_rows(problem, cand, y_col, f_col, _at_most, new_column))
    weights, tie_step = _weights(problem, cand, f_col, col, seed)
    group_terms = _group_terms(problem, cand, f_col)
    col_hi = np.array(hi)
    return _Model(
        cand,
        f_col,
        y_col,
        col,
        np.array(integer, dtype=bool),
        col_hi,
        rows,
        weights,
        group_terms,
        tie_step,
        proposal_col,
    )


def _pool_limit_row(
    reqs: Sequence[Request],
    members: Sequence[int],
    f_col: Mapping[int, int],
    pid: str,
    limit: float,
) -> list[tuple[dict[int, float], float, float]]:
    """The row ``members' awards on pool pid <= limit``, where they could overdraw it
    (relative to the limit, as the capacity rows); none otherwise."""
    terms: dict[int, float] = {}
    for i in members:
        d = reqs[i].demand.get(pid, 0.0)
        if d > 0:
            terms[f_col[i]] = terms.get(f_col[i], 0.0) + d
    if terms and sum(terms.values()) > limit * (1 + 1e-12):
        return [_at_most(terms, float(limit))]
    return []


def _pi_rows(
    problem: AllocationProblem,
    cand: Sequence[int],
    y_col: Mapping[int, int],
    f_col: Mapping[int, int],
) -> list[tuple[dict[int, float], float, float]]:
    """The PI caps: awards, amount, amount per pool, each less what the PI holds from
    earlier rounds of the call (a bundle's members share one column, so a bundle counts
    as one award)."""
    policy = problem.policy
    reqs = problem.requests
    rows: list[tuple[dict[int, float], float, float]] = []
    by_pi: dict[str, list[int]] = {}
    for i in cand:
        by_pi.setdefault(reqs[i].pi_id, []).append(i)
    for pi, members in by_pi.items():
        k = policy.max_awards_per_pi
        if k is not None:
            k = max(0, k - policy.awards_held_by_pi.get(pi, 0))
        count_terms = {y_col[i]: 1.0 for i in members}
        if k is not None and len(count_terms) > k:
            rows.append((count_terms, -math.inf, float(k)))
        amax = policy.max_amount_per_pi
        if amax is not None:
            amax = max(0.0, amax - policy.amount_held(pi))
        if amax is not None and sum(reqs[i].total_demand for i in members) > amax:
            terms: dict[int, float] = {}
            for i in members:
                terms[f_col[i]] = terms.get(f_col[i], 0.0) + reqs[i].total_demand
            rows.append(_at_most(terms, float(amax)))
        for pid, pmax in policy.max_amount_per_pi_by_pool.items():
            pmax = max(0.0, pmax - policy.amount_held(pi, pid))
            rows.extend(_pool_limit_row(reqs, members, f_col, pid, pmax))
    return rows


def _placeable(problem: AllocationProblem, cand: Sequence[int]) -> list[int]:
    """The candidates some award can hold at all: the least award of each one (of its
    bundle, whole) fits, alone, every pool it asks of (its capacity less a ``max_total``
    limit, its room beside changeovers), every shared capacity, its proposal's and its PI's
    limits less what the PI holds, every cap of its groups, and its PI may still be awarded. The others can never be
    awarded, so they move no weight (trialopt24b)."""
    policy = problem.policy
    reqs = problem.requests
    pools = {p.id: p for p in problem.pools}
    whole = {p.id for p in problem.pools if p.whole}
    units: dict[tuple[str, str], list[int]] = {}
    for i in cand:
        r = reqs[i]
        units.setdefault((r.proposal_id, r.bundle) if r.bundle else ("", r.id), []).append(i)

    def over(amount: float, cap: float) -> bool:
        return amount > cap * (1 + 1e-9)

    def fits(members: list[int]) -> bool:
        r = reqs[members[0]]
        lo = _least_award(r, _min_fraction(r, policy), whole) if len(members) == 1 else 1.0
        need: dict[str, float] = {}
        for i in members:
            for pid, d in reqs[i].demand.items():
                if d > 0:
                    need[pid] = need.get(pid, 0.0) + lo * d
        k = policy.max_awards_per_pi
        if k is not None and k - policy.awards_held_by_pi.get(r.pi_id, 0) <= 0:
            return False
        amax = policy.max_amount_per_pi
        if amax is not None and over(sum(need.values()), amax - policy.amount_held(r.pi_id)):
            return False
        for pid, d in need.items():
            p = pools[pid]
            lim = policy.resource_limits.get(pid)
            pmax = policy.max_amount_per_pi_by_pool.get(pid)
            if (
                over(d, problem.effective_capacity(pid))
                or (p.changeover > 0 and over(d, p.changeover_room))
                or (lim is not None and lim.max_per_proposal is not None
                    and over(d, lim.max_per_proposal))
                or (pmax is not None and over(d, pmax - policy.amount_held(r.pi_id, pid)))
            ):  # fmt: skip
                return False
        for gcap in policy.group_caps:
            pools_of = cap_pools(problem, gcap)
            for _name, group_ids in cap_members(problem, gcap):
                if r.proposal_id not in group_ids:
                    continue
                if gcap.max_awards is not None and gcap.max_awards <= 0:
                    return False
                if gcap.max_amount is not None and over(
                    sum(need.get(pid, 0.0) for pid in pools_of), gcap.max_amount
                ):
                    return False
        return not any(
            over(sum(lo * sc.demand.get(reqs[i].id, 0.0) for i in members), sc.capacity)
            for sc in problem.shared
        )

    ok = {i for members in units.values() if fits(members) for i in members}
    return [i for i in cand if i in ok]


def _weights(
    problem: AllocationProblem,
    cand: Sequence[int],
    f_col: Mapping[int, int],
    n_cols: int,
    seed: int,
) -> tuple[FloatArray, float]:
    """The columns' objective weights: oriented merit rescaled to [floor, 1 + floor] over
    the candidates some award can hold (``_placeable``; the others weigh 0), a seeded tie
    perturbation by their places among themselves; and the least that perturbation tells
    two tied requests apart by (0: none)."""
    policy = problem.policy
    reqs = problem.requests
    placed = _placeable(problem, cand)
    weights = np.zeros(n_cols)
    if placed:
        s = np.array([_oriented(problem, reqs[i].merit) for i in placed])
        lo_s, hi_s = float(s.min()), float(s.max())
        if not math.isfinite(hi_s - lo_s):
            # finite merits whose range overflows: rescale first (an affine map of the same
            # ranking; merits spanning the float range would otherwise give NaN weights)
            s = s / max(abs(lo_s), abs(hi_s))
            lo_s, hi_s = float(s.min()), float(s.max())
        base = (s - lo_s) / (hi_s - lo_s) if hi_s > lo_s else np.ones_like(s)
        base = base + policy.merit_floor
        # the tie-break counts the places among the placeable requests only: a request no
        # award can hold, ranked among them, moved the others' places (and ``n``)
        order = seeded_rank(problem, seed, set(placed))
        position = {i: k for k, i in enumerate(order)}
        n = len(order)
        for k, i in enumerate(placed):
            w = float(base[k]) * (1.0 + _TIE_EPS * (n - position[i]) / n)
            if policy.objective == "merit_x_amount":
                w *= reqs[i].total_demand
            weights[f_col[i]] += w
    # two tied requests' weights differ by at least w * _TIE_EPS / n (one place apart)
    positive = weights[weights > 0]
    tie_step = float(positive.min()) * _TIE_EPS / max(len(placed), 1) if positive.size else 0.0
    return weights, tie_step


def _group_terms(
    problem: AllocationProblem, cand: Sequence[int], f_col: Mapping[int, int]
) -> list[tuple[GroupShareRule, tuple[str, ...], float, dict[int, float]]]:
    """A group-share rule's amount terms: memberships are read only for groups named by a
    rule."""
    reqs = problem.requests
    group_terms: list[tuple[GroupShareRule, tuple[str, ...], float, dict[int, float]]] = []
    groups = {g.name: g for g in problem.groups}
    caps = {p.id: problem.effective_capacity(p.id) for p in problem.pools}
    for rule in problem.policy.group_share_rules:
        group_members = groups[rule.group].proposal_ids
        pools = problem.rule_pools(rule)
        target = rule.min_share * sum(caps[pid] for pid in pools)
        g_terms: dict[int, float] = {}
        for i in cand:
            if reqs[i].proposal_id in group_members and _meets(
                problem, reqs[i].merit, rule.min_quality
            ):
                amount = sum(reqs[i].demand.get(pid, 0.0) for pid in pools)
                if amount > 0:
                    g_terms[f_col[i]] = g_terms.get(f_col[i], 0.0) + amount
        group_terms.append((rule, pools, target, g_terms))
    return group_terms


def _group_amount(terms: Mapping[int, float], x: FloatArray) -> float:
    return float(sum(coef * x[c] for c, coef in terms.items()))


def solve_allocation(
    problem: AllocationProblem,
    *,
    seed: int = 0,
    backend: Backend = "highspy",
    mip_rel_gap: float = 1e-4,
    time_limit_s: float = 60.0,
    highs_options: Mapping[str, Any] | None = None,
) -> AllocationResult:
    """Choose awarded fractions for ``problem``.

    The model, its objective weights and the phases of the group share rule are described
    in the ``opencall.optim.allocation`` package docstring.

    Parameters
    ----------
    problem : AllocationProblem
        Pools, requests, groups and the call's policy.
    seed : int, optional
        Seed of the tie-break (with each request's id) and of HiGHS.
    backend : {"highspy", "scipy"}, optional
        The MIP solver (``"scipy"``: ``scipy.optimize.milp``, without warm starts).
    mip_rel_gap : float, optional
        Relative gap at which each phase stops.
    time_limit_s : float, optional
        Wall-clock limit of the whole solve; with share rules phase 0 gets 70 % of it.
        A phase the limit stops (even before the solver's first solution) keeps the
        solver's awards and adds, best ranked first, every request that still fits whole
        (status ``"time_limit"``, the bound and gap the solver's, else the columns' box).
    highs_options : mapping, optional
        Further HiGHS options, by name (highspy backend only).

    Returns
    -------
    AllocationResult
        Fractions and amounts per request, one explanation per request, the final phase's
        objective, dual bound and gap, and the outcome of every group share rule.

    Raises
    ------
    RuntimeError
        If the solver reports the model infeasible or fails.
    """
    t0 = time.perf_counter()
    seed, time_limit_s = limits.solver_run(seed, time_limit_s)
    mip_rel_gap = limits.non_negative("mip_rel_gap", mip_rel_gap)
    ranked = seeded_rank(problem, seed)
    if ranked != list(range(len(problem.requests))):
        # the model is built, and handed to the solver, in the seeded order of the requests,
        # never in the caller's: where several answers lie within the solver's gap (sixteen
        # identical requests, some partial), the one it stops at followed the columns' order,
        # so shuffling the requests moved a partial award from one to another
        canon = replace(problem, requests=tuple(problem.requests[i] for i in ranked))
        res = solve_allocation(
            canon,
            seed=seed,
            backend=backend,
            mip_rel_gap=mip_rel_gap,
            time_limit_s=max(time_limit_s - (time.perf_counter() - t0), 0.01),
            highs_options=highs_options,
        )
        ids = [r.id for r in problem.requests]
        return replace(
            res,
            fractions={k: res.fractions[k] for k in ids},
            amounts={k: res.amounts[k] for k in ids},
            explanations={k: res.explanations[k] for k in ids},
            solve_time_s=time.perf_counter() - t0,
        )
    model = _build(problem, seed)
    n = model.n_cols
    col_lo = np.zeros(n)
    order = [i for i in seeded_rank(problem, seed) if i in model.f_col]

    def run(
        c: FloatArray,
        rows: Sequence[tuple[dict[int, float], float, float]],
        integer: npt.NDArray[np.bool_],
        lo: FloatArray,
        hi: FloatArray,
        start: FloatArray | None,
        share: float = 1.0,
        fill: bool = False,
        tie_step: float = 0.0,
        strict: bool = False,
    ) -> MipSolution:
        a, r_lo, r_hi = rows_to_csr(rows, c.shape[0])
        remaining = share * max(time_limit_s - (time.perf_counter() - t0), 0.01)
        # weights far from 1 (merit x amount in units of 1e100: HiGHS gave up, "unknown",
        # and nothing was awarded) are solved in units of the largest, reported in their own
        top = float(np.abs(c).max()) if c.size else 0.0
        unit = top if top > 0 and not _WEIGHT_RANGE[0] <= top <= _WEIGHT_RANGE[1] else 1.0
        if tie_step > 0 and top > 0:
            # the seeded tie-break holds only where the solver's absolute gap is below the
            # perturbation (scipy's milp stopped within it and awarded tied requests by
            # index): smaller units, so that one place in the seeded order is worth ten
            # times the gap, but never a largest weight beyond 1e6
            unit = max(min(unit, tie_step / (10.0 * _HIGHS_ABS_GAP)), top / _WEIGHT_RANGE[1])
        sol = solve_mip(
            c / unit,
            a,
            r_lo,
            r_hi,
            lo,
            hi,
            integer,
            backend=backend,
            mip_rel_gap=mip_rel_gap,
            time_limit_s=remaining,
            seed=seed,
            start=start,
            polish=True,
            options={**_STRICT, **(highs_options or {})} if strict else highs_options,
        )
        stopped = sol.status == "time_limit" or (
            sol.status == "error" and sol.time_s >= 0.9 * remaining
        )
        if sol.status == "infeasible" or (sol.status == "error" and not stopped):
            raise RuntimeError(f"allocation MIP failed: {sol.status}")
        if stopped and fill:
            # stopped by the time limit, perhaps before any solution (scipy: none at all):
            # the requests that still fit are added by rank, so that a short limit never
            # leaves capacity unawarded that a request could take whole
            x = _fill(a, r_lo, r_hi, model, _clean(sol.x, integer, hi), order)
            bound = sol.bound
            if not math.isfinite(bound):
                bound = _box_bound(MipModel(c / unit, a, r_lo, r_hi, lo, hi, integer), True)
            obj = float(np.dot(c / unit, x))
            sol = replace(
                sol,
                x=x,
                objective=obj,
                bound=bound,
                gap=_gap(obj, bound, True),
                status="time_limit",
            )
        if unit != 1.0:
            sol = replace(sol, objective=sol.objective * unit, bound=sol.bound * unit)
        return sol

    # phase 0: merit only
    # with share rules, phase 0 may use at most 70 % of the time limit, phase 1 a fifth of
    # the rest and phase 2 the remainder
    share0 = 0.7 if model.group_terms else 1.0
    sol0 = run(
        model.weights,
        model.rows,
        model.integer,
        col_lo,
        model.col_hi,
        None,
        share0,
        True,
        model.tie_step,
    )
    x0 = _clean(sol0.x, model.integer, model.col_hi)
    final, x, phases = sol0, x0, 1
    merit_amounts = [_group_amount(t[3], x0) for t in model.group_terms]
    unmet = [
        k
        for k, (_, _, target, _) in enumerate(model.group_terms)
        if merit_amounts[k] < target * (1 - _TOL)
    ]
    required = [
        min(target, merit_amounts[k]) for k, (_, _, target, _) in enumerate(model.group_terms)
    ]
    if not model.group_terms:
        tight = _withdrawn_rows(problem, model, x0, order) | _tiny_term_rows(model)
        if tight:
            # the solver's tolerance let an award in that the capacity cannot hold, and the
            # repair must take a whole one back (a pool of 1e6 units filled by one request,
            # a second of 1 unit beside it), or a row holds a term at 1e-5 of its bound or
            # less (at 1e-6, HiGHS's presolve proved a worse answer optimal): solved again
            # with those rows in units of their smallest term, where the tolerance is below
            # any award, and the better answer kept (the first where they are equal); and
            # with HiGHS's feasibility tolerances at 1e-10 (``_STRICT``): a row of 1e9 units
            # whose terms reach 7e8 cannot be put in smaller units, and at the default
            # tolerances two awards of 5e8 h and two of 1 h were taken for 1e9 h again, the
            # repair withdrew one of 5e8 h and the run said "optimal" 13.6 % below its bound
            # (the scipy backend takes no options: its repaired answer stands)
            rows_t = [
                _in_small_units(row) if k in tight else row for k, row in enumerate(model.rows)
            ]
            sol_t = run(model.weights, rows_t, model.integer, col_lo, model.col_hi, None, 1.0, True,
                        model.tie_step, strict=True)  # fmt: skip
            x_t = _clean(sol_t.x, model.integer, model.col_hi)
            first = _result(problem, model, seed, backend, sol0, x0, x0, sol0, [], [], 1, 0.0)
            again = _result(problem, model, seed, backend, sol_t, x_t, x_t, sol_t, [], [], 1, 0.0)
            best = again if again.objective > first.objective else first
            # both dual bounds hold for the problem: the lower one (the strict solve's) is
            # kept, so that the gap reported is the repaired answer's against it
            bound = max(min(first.bound, again.bound), best.objective)
            return replace(
                best,
                bound=bound,
                mip_gap=_gap(best.objective, bound, True),
                solve_time_s=time.perf_counter() - t0,
            )
    # (a rule is unmet, and binds, by a shortfall relative to its target: an absolute one
    # let every rule over pools of 1e-12 units pass as met)
    if unmet:
        # phase 1: the most that the groups can jointly reach, capped at each target
        g = len(model.group_terms)
        # a rule's amounts far from 1 (capacities of 1e200 units: HiGHS "rejected the
        # model") are counted in units of the larger of its target and its terms
        units = []
        for _, _, target, terms in model.group_terms:
            size = max(target, max(terms.values(), default=0.0))
            far = size > 0 and not _WEIGHT_RANGE[0] <= size <= _WEIGHT_RANGE[1]
            units.append(size if far else 1.0)
        c1 = np.zeros(n + g)
        rows1 = list(model.rows)
        for k, (_, _, target, terms) in enumerate(model.group_terms):
            if target > 0:
                c1[n + k] = units[k] / target
            row = {c: v / units[k] for c, v in terms.items()}
            row[n + k] = -1.0
            rows1.append((row, 0.0, math.inf))
        hi1 = np.concatenate(
            [model.col_hi, [t[2] / units[k] for k, t in enumerate(model.group_terms)]]
        )
        int1 = np.concatenate([model.integer, np.zeros(g, dtype=bool)])
        start1 = np.concatenate(
            [x0, [min(merit_amounts[k], t[2]) / units[k] for k, t in enumerate(model.group_terms)]]
        )
        sol1 = run(c1, rows1, int1, np.zeros(n + g), hi1, start1, 0.2)
        x1 = _clean(sol1.x[:n], model.integer, model.col_hi)
        required = [
            min(target, _group_amount(terms, x1)) for (_, _, target, terms) in model.group_terms
        ]
        # phase 2: merit subject to the achievable group amounts
        rows2 = list(model.rows)
        for k, (_, _, _, terms) in enumerate(model.group_terms):
            if required[k] > 0:
                slack = 1e-9 * required[k]
                u = units[k]
                rows2.append(
                    ({c: v / u for c, v in terms.items()}, (required[k] - slack) / u, math.inf)
                )
        sol2 = run(
            model.weights,
            rows2,
            model.integer,
            col_lo,
            model.col_hi,
            x1,
            fill=True,
            tie_step=model.tie_step,
        )
        final, x, phases = sol2, _clean(sol2.x, model.integer, model.col_hi), 3
    return _result(
        problem,
        model,
        seed,
        backend,
        final,
        x,
        x0,
        sol0,
        merit_amounts,
        required,
        phases,
        time.perf_counter() - t0,
    )


def _fill(
    a: Any,
    row_lo: FloatArray,
    row_hi: FloatArray,
    model: _Model,
    x: FloatArray,
    order: Sequence[int],
) -> FloatArray:
    """``x`` (of a solve stopped by its time limit) with every request left out that still
    fits whole added, best ranked first (``order``): its award columns set to 1 where every
    row it touches stays within its bounds. ``x`` is first dropped for the empty award when
    it breaks a row beyond the solver's tolerance (a point the solver left unfinished)."""
    import scipy.sparse as sp

    csc = sp.csc_matrix(a)
    csc.sort_indices()
    n_rows = int(csc.shape[0])
    tol_hi = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(row_hi), row_hi, 0.0)))
    tol_lo = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(row_lo), row_lo, 0.0)))

    def holds(act: FloatArray) -> bool:
        # the solver's own feasibility tolerance (1e-6) for its point; additions are held
        # to 1e-9 below
        return bool(np.all(act <= row_hi + 1e3 * tol_hi) and np.all(act >= row_lo - 1e3 * tol_lo))

    x = np.array(x[: model.n_cols], dtype=np.float64)
    act = np.asarray(csc @ x, dtype=np.float64) if n_rows else np.zeros(0)
    if not holds(act):
        x = np.zeros(model.n_cols)
        act = np.zeros(n_rows)
        if not holds(act):
            return x
    for i in order:
        cols = sorted({model.y_col[i], model.f_col[i]} | set(_own(model, i)))
        if x[model.y_col[i]] > 0.5:
            continue
        idx: list[npt.NDArray[np.int32]] = []
        val: list[FloatArray] = []
        for c in cols:
            lo_, hi_ = csc.indptr[c], csc.indptr[c + 1]
            idx.append(csc.indices[lo_:hi_])
            val.append(csc.data[lo_:hi_] * (1.0 - x[c]))
        rows = np.concatenate(idx)
        delta = np.concatenate(val)
        touched, inv = np.unique(rows, return_inverse=True)
        new = act[touched] + np.bincount(inv, weights=delta, minlength=touched.size)
        if np.all(new <= row_hi[touched] + tol_hi[touched]) and np.all(
            new >= row_lo[touched] - tol_lo[touched]
        ):
            act[touched] = new
            x[cols] = 1.0
    return x


def _own(model: _Model, i: int) -> list[int]:
    """The proposal's own award column of request ``i``, if it has one."""
    c = model.proposal_col.get(i)
    return [] if c is None else [c]


def _withdrawn_rows(
    problem: AllocationProblem, model: _Model, x: FloatArray, order: Sequence[int]
) -> set[int]:
    """The rows (of ``model.rows``, at most) that ``x`` overdraws, when holding the
    capacities (:func:`_hold_capacities`, after :func:`_trim_partial`) takes a whole award
    back; empty when it takes none (the repair then only trims partial awards)."""
    fractions = _fractions(problem, model, x)
    _trim_partial(problem, fractions)
    before = {k for k, f in fractions.items() if f > 0}
    _hold_capacities(problem, model, fractions, order)
    if all(fractions[k] > 0 for k in before):
        return set()
    out = set()
    for k, (terms, _lo, hi) in enumerate(model.rows):
        if math.isfinite(hi) and hi > 0:
            act = math.fsum(v * float(x[c]) for c, v in terms.items())
            if act > hi * (1 + 1e-12):
                out.add(k)
    return out


def _tiny_term_rows(model: _Model) -> set[int]:
    """The capacity rows (``<=`` a positive bound) holding a positive term of at most 1e-5
    of the bound, that :func:`_in_small_units` would rescale."""
    out = set()
    for k, (terms, _lo, hi) in enumerate(model.rows):
        if math.isfinite(hi) and hi > 0:
            pos = [v for v in terms.values() if v > 0]
            if pos and min(pos) <= 1e-5 * hi and _in_small_units((terms, _lo, hi))[0] != terms:
                out.add(k)
    return out


def _in_small_units(
    row: tuple[dict[int, float], float, float],
) -> tuple[dict[int, float], float, float]:
    """``row`` (``sum(terms) <= hi``) divided by its smallest positive term (a blow-up of at
    most 1e6, and none beyond a largest term of 1e9): the solver's tolerance of 1e-6 of a
    unit is then below the smallest award, not 1e-6 of the capacity."""
    terms, lo, hi = row
    pos = [v for v in terms.values() if v > 0]
    if not pos:
        return row
    k = min(1.0 / min(pos), 1e6, 1e9 / max(pos))
    if k <= 1.0:
        return row
    return ({c: v * k for c, v in terms.items()}, lo * k, hi * k)


def _fractions(problem: AllocationProblem, model: _Model, x: FloatArray) -> dict[str, float]:
    """Each request's awarded fraction in the solver's point ``x`` (0 where its award
    column is off; else within its bounds, 1 within 1e-9 of it)."""
    fractions: dict[str, float] = {}
    for i, r in enumerate(problem.requests):
        if i in model.f_col and x[model.y_col[i]] > 0.5:
            f = float(np.clip(x[model.f_col[i]], _min_fraction(r, problem.policy), 1.0))
            fractions[r.id] = 1.0 if f > 1.0 - 1e-9 else f
        else:
            fractions[r.id] = 0.0
    return fractions


def _clean(x: FloatArray, integer: npt.NDArray[np.bool_], hi: FloatArray) -> FloatArray:
    out = np.clip(np.asarray(x, dtype=np.float64), 0.0, hi)
    out[integer] = np.round(out[integer])
    return out


def _trim_partial(problem: AllocationProblem, fractions: dict[str, float]) -> None:
    """Partial awards trimmed back onto every pool they overdraw, in place.

    HiGHS's primal feasibility tolerance (1e-6 on a row scaled by its capacity) lets a
    partial fraction push a pool past its capacity by up to a millionth of it: capacity 3,
    a bundle of 2 in full and a third of 3 awarded as 0.333334, 3.000002 used. The partial
    fractions on such a pool (not bundled, not on a pool counted in whole units) are lowered,
    never below their minimum, until the pool holds; the solver's answer is otherwise kept.
    """
    policy = problem.policy
    whole = {p.id for p in problem.pools if p.whole}
    for pool in problem.pools:
        cap = problem.effective_capacity(pool.id)
        users = [r for r in problem.requests if r.demand.get(pool.id, 0.0) > 0]

        def used(users: list[Request] = users, pid: str = pool.id) -> float:
            return sum(fractions[r.id] * r.demand[pid] for r in users)

        excess = used() - cap
        if excess <= 0:
            continue
        for r in users:
            f = fractions[r.id]
            lo = _min_fraction(r, policy)
            if not lo <= f < 1.0 or r.bundle is not None:
                continue
            if any(pid in whole and d > 0 for pid, d in r.demand.items()):
                continue
            cut = min(excess / r.demand[pool.id] * (1 + 1e-9), f - lo)
            fractions[r.id] = f - cut
            excess = used() - cap
            if excess <= 0:
                break


def _hold_capacities(
    problem: AllocationProblem,
    model: _Model,
    fractions: dict[str, float],
    order: Sequence[int],
    protected: frozenset[str] = frozenset(),
) -> float:
    """Awards taken back, in place, from every pool, shared capacity and amount cap (per
    PI, per PI and pool, per proposal, per group) still overdrawn after :func:`_trim_partial`;
    returns the objective they were worth.

    The solvers hold a row to 1e-6 of its scaled bound, and a row is scaled by its
    capacity (``_at_most``), so a whole request of 1 unit beside 1e6 units of capacity fits
    in that tolerance: a pool of 1,000,000 mg filled by one loan and awarded a second of
    1 mg as well, which the inventory could not ship. (A feasibility tolerance of the
    solver cannot be tightened through ``scipy.optimize.milp``, so the answer is repaired
    here, for both backends alike.) Where a capacity is overdrawn by more than 1e-12 of it,
    the awards that may be partial are first cut, lowest ranked first, never below their
    minimum (a millionth of one award costs less than another award); then the lowest
    ranked award large enough to clear what is left alone (else the lowest ranked) is
    withdrawn, with its bundle, until the capacity holds."""
    policy = problem.policy
    reqs = problem.requests
    index = {r.id: i for i, r in enumerate(reqs)}
    place = {i: k for k, i in enumerate(order)}
    whole = {p.id for p in problem.pools if p.whole}
    limits_: list[tuple[float, dict[str, float]]] = [
        (
            problem.effective_capacity(p.id),
            {r.id: r.demand[p.id] for r in reqs if r.demand.get(p.id, 0.0) > 0},
        )
        for p in problem.pools
    ]
    limits_ += [
        (sc.capacity, {k: d for k, d in sc.demand.items() if d > 0}) for sc in problem.shared
    ]
    # the amounts capped per PI (in all, and per pool; less what the PI holds already) and
    # per proposal, held to the same rule (their rows are scaled by the cap alike)
    by_pi: dict[str, list[Request]] = {}
    for r in reqs:
        by_pi.setdefault(r.pi_id, []).append(r)
    for pi, mine in by_pi.items():
        if policy.max_amount_per_pi is not None:
            total = {r.id: r.total_demand for r in mine if r.total_demand > 0}
            limits_.append((policy.max_amount_per_pi - policy.amount_held(pi), total))
        for pid, pmax in policy.max_amount_per_pi_by_pool.items():
            of_pool = {r.id: r.demand[pid] for r in mine if r.demand.get(pid, 0.0) > 0}
            limits_.append((pmax - policy.amount_held(pi, pid), of_pool))
    for pid, lim in policy.resource_limits.items():
        if lim.max_per_proposal is not None:
            by_prop: dict[str, dict[str, float]] = {}
            for r in reqs:
                if r.demand.get(pid, 0.0) > 0:
                    by_prop.setdefault(r.proposal_id, {})[r.id] = r.demand[pid]
            limits_ += [(lim.max_per_proposal, d) for d in by_prop.values()]
    for gcap in policy.group_caps:
        if gcap.max_amount is not None:
            pools = cap_pools(problem, gcap)
            for _name, group_ids in cap_members(problem, gcap):
                of_group = {
                    r.id: sum(r.demand.get(pid, 0.0) for pid in pools)
                    for r in reqs
                    if r.proposal_id in group_ids
                }
                limits_.append((gcap.max_amount, {k: d for k, d in of_group.items() if d > 0}))
    lost = 0.0
    for cap, demand in limits_:
        # round-off of the sum only: a whole request of 1 unit beside 1e9 of capacity is
        # not round-off (1e-9 let it through)
        tol = 1e-12 * abs(cap)

        def excess(demand: dict[str, float] = demand, cap: float = cap) -> float:
            return math.fsum(fractions[rid] * d for rid, d in demand.items()) - cap

        left = excess()
        if left <= tol:
            continue
        # lowest ranked first (a request off the ranking, never awarded, last of all)
        # the requests counted by a group share rule (``protected``) last, so that a rule's
        # required amount is kept where another award can give way
        users = sorted(demand, key=lambda rid: (rid in protected, -place.get(index[rid], -1)))
        # partial awards are cut where a unit of the row costs the least objective (weight
        # over demand), the lowest ranked first among equals: cutting a request of 5e6 h
        # by 3e-7 of it costs nothing, cutting two of 1 and 2 h to their minimum cost them
        # a quarter each (the lowest ranked first alone did that, "optimal" 4.6 % below)
        for rid in sorted(
            users, key=lambda rid: (rid in protected, _unit_cost(model, index[rid], demand[rid]))
        ):
            i = index[rid]
            r = reqs[i]
            f = fractions[rid]
            lo = _min_fraction(r, policy)
            if f <= 0 or lo >= 1.0 or r.bundle is not None or i not in model.f_col:
                continue
            if any(pid in whole and d > 0 for pid, d in r.demand.items()):
                continue
            cut = min(left / demand[rid] * (1 + 1e-9), f - lo)
            if cut <= 0:
                continue
            fractions[rid] = f - cut
            lost += float(model.weights[model.f_col[i]]) * cut
            left = excess()
            if left <= tol:
                break
        while left > tol:
            awarded = [rid for rid in users if fractions[rid] > 0]
            if not awarded:
                break
            enough = [rid for rid in awarded if fractions[rid] * demand[rid] >= left]
            r = reqs[index[(enough or awarded)[0]]]
            members = (
                [q for q in reqs if q.proposal_id == r.proposal_id and q.bundle == r.bundle]
                if r.bundle is not None
                else [r]
            )
            cols = {model.f_col[index[q.id]]: fractions[q.id] for q in members}
            lost += sum(float(model.weights[c]) * f for c, f in cols.items())
            for q in members:
                fractions[q.id] = 0.0
            left = excess()
    return lost


#: HiGHS's feasibility tolerances of a second solve after a repair (defaults 1e-7 and 1e-6)
_STRICT: Mapping[str, Any] = {
    "primal_feasibility_tolerance": 1e-10,
    "mip_feasibility_tolerance": 1e-10,
}


def _unit_cost(model: _Model, i: int, d: float) -> float:
    """The objective one unit of a row costs where request ``i`` takes ``d`` of it in full
    (its weight over ``d``; 0 off the model, where it is never cut)."""
    return float(model.weights[model.f_col[i]]) / d if i in model.f_col else 0.0


def _group_short(
    problem: AllocationProblem,
    model: _Model,
    fractions: dict[str, float],
    required: Sequence[float],
) -> bool:
    """Whether a group share rule's requests receive less than its required amount."""
    reqs = problem.requests
    return any(
        math.fsum(
            fractions[reqs[i].id] * terms[model.f_col[i]]
            for i in model.cand
            if model.f_col[i] in terms
        )
        < required[k] * (1 - _TOL)
        for k, (*_, terms) in enumerate(model.group_terms)
    )


def _refill(
    problem: AllocationProblem,
    model: _Model,
    fractions: dict[str, float],
    x: FloatArray,
    order: Sequence[int],
    protected: frozenset[str] = frozenset(),
) -> float:
    """After :func:`_hold_capacities` took awards back: every request left out that now
    fits whole is added, best ranked first (``_fill`` over the model's rows), and the
    capacities held again; returns the objective added. The award taken back may be the
    one the solver chose for its size (a pool's whole capacity beside many requests of a
    few units, which the tolerance let in with it): without this the units it freed stayed
    unawarded, "the solver stopped within its gap"."""
    reqs = problem.requests
    kept = np.array(x[: model.n_cols], dtype=np.float64)
    for i in model.f_col:
        if fractions[reqs[i].id] <= 0:
            kept[model.y_col[i]] = kept[model.f_col[i]] = 0.0
    a, r_lo, r_hi = rows_to_csr(model.rows, model.n_cols)
    filled_x = _fill(a, r_lo, r_hi, model, kept, order)
    added = [i for i in order if fractions[reqs[i].id] <= 0 and filled_x[model.y_col[i]] > 0.5]
    # ``_fill`` starts again from nothing where ``kept`` breaks a row: then nothing is added
    if any(kept[model.y_col[i]] > 0.5 and filled_x[model.y_col[i]] < 0.5 for i in model.f_col):
        return 0.0
    gained = 0.0
    cols: set[int] = set()
    for i in added:
        fractions[reqs[i].id] = 1.0
        if model.f_col[i] not in cols:
            cols.add(model.f_col[i])
            gained += float(model.weights[model.f_col[i]])
    if not added:
        return 0.0
    return gained - _hold_capacities(problem, model, fractions, order, protected)


def _result(
    problem: AllocationProblem,
    model: _Model,
    seed: int,
    backend: str,
    final: MipSolution,
    x: FloatArray,
    x0: FloatArray,
    sol0: MipSolution,
    merit_amounts: list[float],
    required: list[float],
    phases: int,
    elapsed: float,
) -> AllocationResult:
    reqs = problem.requests
    fractions = _fractions(problem, model, x)
    f0: dict[int, float] = {
        i: float(x0[model.f_col[i]]) if i in model.f_col and x0[model.y_col[i]] > 0.5 else 0.0
        for i in range(len(reqs))
    }
    _trim_partial(problem, fractions)
    order = [i for i in seeded_rank(problem, seed) if i in model.f_col]
    protected = frozenset(
        reqs[i].id for *_, terms in model.group_terms for i in model.cand if model.f_col[i] in terms
    )
    lost = _hold_capacities(problem, model, fractions, order, protected)
    repaired = lost > 0
    if repaired or _group_short(problem, model, fractions, required):
        # a group below its required amount: the requirement's row, scaled by the rule's
        # target, held an amount of 1 beside a target of 3e8 to nothing (the solvers'
        # tolerance), so that the one group request that fitted was left out; the group's
        # requests are then added first
        first = [i for i in order if reqs[i].id in protected]
        rest = [i for i in order if reqs[i].id not in protected]
        lost -= _refill(problem, model, fractions, x, first + rest, protected)
        repaired = True
        obj = final.objective - lost
        final = replace(final, objective=obj, gap=_gap(obj, final.bound, True))
    whole = {p.id for p in problem.pools if p.whole}

    def part(f: float, pid: str, d: float) -> float:
        a = f * d
        return float(round(a)) if pid in whole and abs(a - round(a)) < 1e-6 else a

    amounts = {
        r.id: {pid: part(fractions[r.id], pid, d) for pid, d in r.demand.items()} for r in reqs
    }
    # group outcomes
    outcomes: list[GroupShareOutcome] = []
    binding_members: set[int] = set()
    groups = {g.name: g for g in problem.groups}
    for k, (rule, pools, target, terms) in enumerate(model.group_terms):
        achieved = sum(
            amounts[r.id].get(pid, 0.0)
            for r in reqs
            if r.proposal_id in groups[rule.group].proposal_ids
            and _meets(problem, r.merit, rule.min_quality)
            for pid in pools
        )
        if repaired and achieved < required[k]:
            # the amount the solver found for the group overdrew a capacity (within its
            # tolerance) and no other award could give way: what is left is what the group
            # can be given
            required = [*required[:k], achieved, *required[k + 1 :]]
        # a rule binds where it asked for more than merit alone gave: not one whose
        # group can reach nothing (no member at or above its min_quality, or none at all)
        binding = merit_amounts[k] < required[k] * (1 - _TOL)
        if binding:
            binding_members.update(i for i in model.cand if model.f_col[i] in terms)
        outcomes.append(
            GroupShareOutcome(
                rule.group,
                pools,
                target,
                required[k],
                merit_amounts[k],
                achieved,
                binding,
                rule.min_quality,
            )
        )
    explanations = _explain(problem, model, seed, fractions, f0, binding_members, outcomes)
    objective = final.objective
    return AllocationResult(
        status=final.status,
        fractions=dict(fractions),
        amounts=dict(amounts),
        explanations=dict(explanations),
        objective=objective,
        bound=final.bound,
        mip_gap=final.gap,
        solve_time_s=elapsed,
        merit_only_objective=sol0.objective,
        group_shares=tuple(outcomes),
        seed=seed,
        backend=backend,
        phases=phases,
    )
