"""The exact lexicographic 0-1 program (``solve_slots``): one HiGHS solve per level
(value, span, runs), each level's optimum fixed for the next.

References
----------
.. [1] Ignizio, J. P. (1976). *Goal Programming and Extensions*. Lexington Books.
.. [2] Huangfu, Q., Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
   *Mathematical Programming Computation* 10, 119-142 (the HiGHS solver).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from opencall.optim import limits
from opencall.optim.allocation import solve_mip
from opencall.optim.slots.bounds import (
    _EPS,
    _fewest_awards,
    _greedy_proved,
    _level_row,
    _value_bound,
)
from opencall.optim.slots.check import check
from opencall.optim.slots.greedy import _greedy, _place_set, _polish, _result, _unit_value
from opencall.optim.slots.index import _Index, _index
from opencall.optim.slots.problem import SlotProblem
from opencall.optim.slots.result import SlotSchedule

if TYPE_CHECKING:
    import scipy.sparse as sp


def solve_slots(
    problem: SlotProblem,
    *,
    exact: bool = True,
    time_limit_s: float = 30.0,
    max_columns: int = 200_000,
    seed: int = 0,
) -> SlotSchedule:
    """Place every award's slots (see the module doc for constraints and objective).

    Parameters
    ----------
    problem : SlotProblem
        Resources and awards.
    exact : bool
        Solve the 0-1 program (HiGHS) after the greedy warm start; False returns the greedy.
    time_limit_s : float
        Time limit over all solver stages; when it is reached the best solution found (never
        worse than the greedy) is returned with ``method="milp_time_limit"``.
    max_columns : int
        Above this number of assignment columns the greedy result is returned.
    seed : int
        Solver random seed.

    Returns
    -------
    SlotSchedule
        ``starts`` per placed award; ``unplaced`` with a reason for every other award.

    Notes
    -----
    Columns: ``x[a, k]`` (award ``a`` takes slot ``k`` of its resource; only usable, possible
    slots get a column), ``y[u]`` (unit ``u`` is placed), ``r[a, k]`` in [0, 1] (a run of
    ``a`` starts at ``k``), and ``lo[b], hi[b]`` (first start, last end of a together-bundle
    ``b``, in hours). Rows: ``sum_k x[a, k] = slots_a * y[u(a)]``; ``sum_a x[a, k] <= 1``
    per resource slot; ``r[a, k] >= x[a, k] - x[a, k-1]`` (``k-1`` the slot just before, when
    ``a`` may take it; otherwise ``x[a, k]`` counts as a run start itself; a one-slot award
    has no ``r`` columns: each of its ``x`` is a run); ``sum of a's run starts >= y[u(a)]``
    (a placed award is at least one run: without it the LP relaxation spreads awards over
    half-taken neighbouring slots with almost no run starts, and the runs level's bound was
    near 0); per resource, ``sum_a slots_a * y[u(a)] <=`` the slots any award may take (the
    slot rows added up, so that HiGHS sees the knapsack); ``lo[b] + (H - t_k) x[a, k] <= H``
    and ``hi[b] >= (t_k + len) x[a, k]`` (the smallest big-M for each row, H the horizon).
    Levels (value, span, runs) are solved in turn, each fixing the previous optimum ([1]_);
    the span level carries the runs as a tie-break worth less than a thousandth of an hour
    in all. Levels whose bound the greedy already reaches are not solved: the value bound is
    a 0-1 knapsack per resource over its slots (``_value_bound``), the runs bound the fewest
    awards whose value reaches the fixed value (``_fewest_awards``), the span bound each
    together-bundle at its own length (only when every unit is placed). So hundreds of
    one-slot awards for a few dozen slots are settled by the greedy and the two bounds,
    without a solve. After a level stopped by the time limit, the best placement is polished
    (``_polish``) with the placed set kept.
    """
    t0 = time.perf_counter()
    seed, time_limit_s = limits.solver_run(seed, time_limit_s)
    max_columns = limits.count("max_columns", max_columns, minimum=1)
    problem.validate()
    ix = _index(problem)
    placed = _greedy(ix)
    if not exact:
        return _result(ix, placed, "greedy", time.perf_counter() - t0)
    units = [u for u in ix.units if not any(a.id in ix.pre_unplaced for a in u)]
    awards = [a for u in units for a in u]
    ncols = sum(len(ix.allowed[a.id]) for a in awards)
    if ncols == 0:
        return _result(ix, placed, "milp", time.perf_counter() - t0)
    easy = _greedy_proved(ix, units, awards, placed)
    if easy:
        # the greedy meets both bounds (no bundle to keep together): optimal, no model built
        return _result(ix, placed, "milp", time.perf_counter() - t0, easy)
    if ncols > max_columns:
        return _result(ix, placed, "greedy", time.perf_counter() - t0, ["too large for milp"])
    res = {r.id: r for r in problem.resources}
    # columns
    col: dict[tuple[str, int], int] = {}
    for a in awards:
        for k in ix.allowed[a.id]:
            col[(a.id, k)] = len(col)
    n_x = len(col)
    y_col = {i: n_x + i for i in range(len(units))}
    unit_of = {a.id: i for i, u in enumerate(units) for a in u}
    n = n_x + len(units)
    run_col: dict[tuple[str, int], int] = {}
    run_plain: list[int] = []  # x columns that count as run starts themselves
    for a in awards:
        allowed = set(ix.allowed[a.id])
        grid = ix.grids[a.resource]
        for k in ix.allowed[a.id]:
            # a one-slot award is one run wherever it goes: its slot column is its run
            if a.slots > 1 and k - 1 in allowed and grid[k - 1].end == grid[k].start:
                run_col[(a.id, k)] = n
                n += 1
            else:
                run_plain.append(col[(a.id, k)])
    together = [i for i, u in enumerate(units) if len(u) > 1 and any(a.together for a in u)]
    lohi = {}
    for i in together:
        lohi[i] = (n, n + 1)
        n += 2
    horizon = max(
        (ix.end_hours(r.id, len(ix.grids[r.id]) - 1) for r in problem.resources if ix.grids[r.id]),
        default=0.0,
    )
    rows: list[tuple[dict[int, float], float, float]] = []
    for a in awards:
        coef = {col[(a.id, k)]: 1.0 for k in ix.allowed[a.id]}
        coef[y_col[unit_of[a.id]]] = -float(a.slots)
        rows.append((coef, 0.0, 0.0))
    per_slot: dict[tuple[str, int], list[int]] = {}
    for (aid, k), j in col.items():
        per_slot.setdefault((ix.res_of[aid], k), []).append(j)
    for js in per_slot.values():
        if len(js) > 1:
            rows.append(({j: 1.0 for j in js}, -np.inf, 1.0))
    rows.extend(_changeover_rows(ix, col))
    # the slot rows of a resource added up: its placed awards' slots fit in the slots any of
    # them may take. Implied, but it gives HiGHS the knapsack whose covers (at most 15 awards
    # of 2 slots in 31) the per-slot rows hide from it.
    per_res: dict[str, dict[int, float]] = {}
    for a in awards:
        terms = per_res.setdefault(a.resource, {})
        terms[y_col[unit_of[a.id]]] = terms.get(y_col[unit_of[a.id]], 0.0) + a.slots
    for rid, terms in per_res.items():
        room = len({k for (r, k) in per_slot if r == rid})
        if sum(terms.values()) > room:
            rows.append((terms, -np.inf, float(room)))
    for (aid, k), j in run_col.items():
        rows.append(({j: 1.0, col[(aid, k)]: -1.0, col[(aid, k - 1)]: 1.0}, 0.0, np.inf))
    # a placed award has at least one run (valid: its first slot starts one). Without this
    # row the LP spreads an award over half-taken neighbouring slots with next to no run
    # starts, and the runs level's LP bound is near zero.
    starts_of: dict[str, list[int]] = {}
    for (aid, _), j in run_col.items():
        starts_of.setdefault(aid, []).append(j)
    plain = set(run_plain)
    for a in awards:
        if a.slots == 1:
            continue
        coef = {j: 1.0 for j in starts_of.get(a.id, [])}
        coef.update({col[(a.id, k)]: 1.0 for k in ix.allowed[a.id] if col[(a.id, k)] in plain})
        coef[y_col[unit_of[a.id]]] = -1.0
        rows.append((coef, 0.0, np.inf))
    for i in together:
        lo, hi = lohi[i]
        rows.append(({hi: 1.0, lo: -1.0}, 0.0, np.inf))
        for a in units[i]:
            for k in ix.allowed[a.id]:
                t = ix.hours(a.resource, k)
                t_end = ix.end_hours(a.resource, k)
                j = col[(a.id, k)]
                # lo <= t when x = 1, lo <= H otherwise (the smallest big-M): lo + (H - t) x <= H
                rows.append(({lo: 1.0, j: horizon - t}, -np.inf, horizon))
                # hi >= t + len when x = 1, hi >= 0 otherwise: hi - (t + len) x >= 0
                rows.append(({hi: 1.0, j: -t_end}, 0.0, np.inf))
    col_lo = np.zeros(n)
    col_hi = np.ones(n)
    integer = np.zeros(n, dtype=bool)
    integer[: n_x + len(units)] = True
    for lo, hi in lohi.values():
        col_hi[lo] = col_hi[hi] = horizon
    c_value = np.zeros(n)
    for i, u in enumerate(units):
        c_value[y_col[i]] = _unit_value(u)
    c_span = np.zeros(n)
    for lo, hi in lohi.values():
        c_span[hi] += 1.0
        c_span[lo] -= 1.0
    c_runs = np.zeros(n)
    c_runs[list(run_col.values())] = 1.0
    c_runs[run_plain] = 1.0

    def vector(pl: dict[str, list[int]]) -> np.ndarray:
        x = np.zeros(n)
        for aid, ks in pl.items():
            for k in ks:
                x[col[(aid, k)]] = 1.0
        for i, u in enumerate(units):
            x[y_col[i]] = 1.0 if all(pl.get(a.id) for a in u) else 0.0
        for (aid, k), j in run_col.items():
            have = set(pl.get(aid, ()))
            x[j] = 1.0 if k in have and k - 1 not in have else 0.0
        for i, (lo, hi) in lohi.items():
            ivs = [
                (ix.hours(a.resource, k), ix.end_hours(a.resource, k))
                for a in units[i]
                for k in pl.get(a.id, ())
            ]
            x[lo] = min((s for s, _ in ivs), default=0.0)
            x[hi] = max((e for _, e in ivs), default=0.0)
        return x

    def decode(x: np.ndarray) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for (aid, k), j in col.items():
            if x[j] > 0.5:
                out.setdefault(aid, []).append(k)
        return out

    start = vector(placed)
    stages: list[str] = []
    timed_out = False
    extra: list[tuple[dict[int, float], float, float]] = []
    fixed_value: float | None = None  # the least value the later levels must keep
    # upper bound on value: every unit that survives the pre-check placed, and on each
    # resource no more than the best knapsack of its awards over its slots
    bounds = {
        "value": min(float(c_value.sum()), _value_bound(ix, awards)),
        "span": sum(max(a.slots * res[a.resource].slot_hours for a in units[i]) for i in together),
        "runs": float(len(awards)),
    }
    # The span level is solved with the runs as a tie-break too small to trade against it (so
    # that a level stopped by the time limit still leaves contiguous awards); the level's own
    # optimum, not the blend, is what the next level keeps.
    max_runs = float(sum(a.slots for a in awards)) + 1.0
    d_runs = 1e-3 / max_runs  # span is in hours; runs never outweigh a thousandth of an hour
    blend = {
        "value": c_value,
        "span": c_span + d_runs * c_runs,
        "runs": c_runs,
    }

    def key(v: np.ndarray) -> tuple[float, float, float]:
        return (
            round(float(c_value @ v), 9),
            -round(float(c_span @ v), 9),
            -round(float(c_runs @ v), 9),
        )

    for name, c, maximize in (
        ("value", c_value, True),
        ("span", c_span, False),
        ("runs", c_runs, False),
    ):
        cur = float(c @ start)
        if name == "span" and not together:
            continue
        if name == "runs" and fixed_value is not None:
            # every placed award is at least one run, and reaching the fixed value takes at
            # least this many awards (whatever else is placed)
            bounds["runs"] = float(_fewest_awards(awards, fixed_value))
        if (maximize and cur >= bounds[name] - _EPS) or (
            not maximize and cur <= bounds[name] + _EPS
        ):
            # the span bound holds only when every unit is placed; the runs bound always
            # does once the value is fixed, and otherwise when every unit is placed
            if (
                name == "value"
                or (name == "runs" and fixed_value is not None)
                or float(c_value @ start) >= float(c_value.sum()) - _EPS
            ):
                stages.append(f"{name}: greedy meets the bound")
                extra.append(_level_row(c, cur, maximize))
                if name == "value":
                    fixed_value = _level_row(c, cur, maximize)[1]
                continue
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0.05:
            timed_out = True
            break
        a_rows = rows + extra
        mat, lo_r, hi_r = _csr(a_rows, n)
        sol = solve_mip(
            blend[name],
            mat,
            lo_r,
            hi_r,
            col_lo,
            col_hi,
            integer,
            maximize=maximize,
            mip_rel_gap=1e-9,
            time_limit_s=left,
            seed=seed,
            start=start,
        )
        if sol.status not in ("optimal", "time_limit") or not math.isfinite(sol.objective):
            timed_out = True
            stages.append(f"{name}: {sol.status}")
            break
        x = np.round(sol.x[: n_x + len(units)])
        cand = decode(np.concatenate([x, sol.x[n_x + len(units) :]]))
        cand_vec = vector(cand)
        if not check(problem, _starts(ix, cand)) and key(cand_vec) >= key(start):
            start = cand_vec
            placed = cand
            cur = float(c @ cand_vec)
            if name == "value":
                # a better warm start for the next levels: same placed set, shorter spans,
                # by polishing the solver's placement or by placing the same set again from
                # scratch (the solver packs calendars with no regard to spans)
                for again in (_polish(ix, placed), _place_set(ix, units, placed)):
                    if (
                        again is not None
                        and not check(problem, _starts(ix, again))
                        and key(vector(again)) > key(start)
                    ):
                        placed = again
                        start = vector(again)
        stages.append(f"{name}: {sol.status} {cur:g}")
        if sol.status != "optimal":
            timed_out = True
            break
        extra.append(_level_row(c, cur, maximize))
        if name == "value":
            fixed_value = _level_row(c, cur, maximize)[1]
    if timed_out:
        polished = _polish(ix, placed)
        if key(vector(polished)) > key(vector(placed)) and not check(
            problem, _starts(ix, polished)
        ):
            placed = polished
            stages.append("polished")
    return _result(
        ix, placed, "milp_time_limit" if timed_out else "milp", time.perf_counter() - t0, stages
    )


def _changeover_rows(
    ix: _Index, col: Mapping[tuple[str, int], int]
) -> list[tuple[dict[int, float], float, float]]:
    """The changeover of each resource as rows: a slot ``k`` of proposal ``P`` keeps the
    next ``c`` slots clear of every other proposal, ``m x_P(k) + sum of the others' x in
    (k, k + c] <= m``, ``x_P(k)`` the sum of ``P``'s columns at ``k`` and ``m`` the slots
    of that window any other proposal may take (at most one award a slot, so the row binds
    only when ``x_P(k)`` is 1). A pair closer than ``c`` is always caught by the row of its
    earlier slot."""
    by_slot: dict[str, dict[int, list[tuple[str, int]]]] = {}
    for (aid, k), j in col.items():
        rid = ix.res_of[aid]
        if ix.res[rid].changeover:
            by_slot.setdefault(rid, {}).setdefault(k, []).append((ix.owner[aid], j))
    rows: list[tuple[dict[int, float], float, float]] = []
    for rid, slots in by_slot.items():
        c = ix.res[rid].changeover
        for k, here in slots.items():
            for who in sorted({o for o, _ in here}):
                others = [
                    (k + d, j) for d in range(1, c + 1) for o, j in slots.get(k + d, ()) if o != who
                ]
                if not others:
                    continue
                m = float(len({k2 for k2, _ in others}))
                coef = {j: m for o, j in here if o == who}
                coef.update({j: 1.0 for _, j in others})
                rows.append((coef, -np.inf, m))
    return rows


def _starts(ix: _Index, placed: dict[str, list[int]]) -> dict[str, tuple[dt.datetime, ...]]:
    return {
        aid: tuple(ix.grids[ix.res_of[aid]][k].start for k in sorted(ks))
        for aid, ks in placed.items()
    }


def _csr(
    rows: list[tuple[dict[int, float], float, float]], n: int
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    import scipy.sparse as sp

    data, ri, ci = [], [], []
    for i, (coef, _, _) in enumerate(rows):
        for j, v in coef.items():
            ri.append(i)
            ci.append(j)
            data.append(v)
    mat = sp.csr_matrix((data, (ri, ci)), shape=(len(rows), n))
    return (
        mat,
        np.array([r[1] for r in rows], dtype=float),
        np.array([r[2] for r in rows], dtype=float),
    )
