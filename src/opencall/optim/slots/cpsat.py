"""A level of the slot program solved by OR-Tools CP-SAT ([4]_ in the package doc) where
every column is 0-1 and every row and the level's objective have rational coefficients
of small denominators (so that they scale to integers exactly): the program without a
together-bundle (whose first and last hours are continuous columns) and with weights such
as 0.5 or 1.5. On the program's rows, clause-learning search with its own LP proves the
value and runs levels in seconds where HiGHS's branch and bound needed its whole time limit
(``bench/bench_trial19.py``: long unbroken blocks, many resources).

The level is solved in two steps: its own objective (exact, in integers), then, with that
optimum kept, the seeded tie-break between units that the HiGHS form blends into the
objective with a tiny weight (``exact._TIE_EPS``), rounded to integers of at most 1e6.
One worker and the given seed: the same problem and seed give the same placement unless
the time limit stops the search.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from opencall.optim.allocation.mip import MipSolution
from opencall.optim.slots.model import Row

#: the largest denominator a coefficient may have, and the largest integer a scaled row or
#: objective may hold (CP-SAT's linear expressions are 64-bit; far below their limit)
_MAX_DENOMINATOR = 10**6
_MAX_SCALED = 2**50
#: the tie-break's largest integer coefficient
_TIE_SCALE = 10**6


def _scale(values: Sequence[float]) -> int | None:
    """The least positive integer that makes every one of ``values`` whole (each value the
    float nearest a fraction of denominator at most ``_MAX_DENOMINATOR``, their least
    common multiple at most that too), or None."""
    lcm = 1
    for v in values:
        if not math.isfinite(v):
            return None
        f = Fraction(v).limit_denominator(_MAX_DENOMINATOR)
        # the float nearest the fraction, to a few units in the last place (products and
        # sums of such weights): pi's nearest fraction of denominator <= 1e6 is 3e-13 off
        if abs(float(f) - v) > 1e-15 * max(1.0, abs(v)):
            return None
        lcm = math.lcm(lcm, f.denominator)
        if lcm > _MAX_DENOMINATOR:
            return None
    return lcm


def _int_row(row: Row) -> tuple[dict[int, int], float, float] | None:
    """``row`` in integers: its coefficients scaled to whole numbers, its bounds scaled and
    rounded inwards (a bound of ``v - 1e-9`` around a whole ``v`` is ``v``)."""
    coef, lo, hi = row
    s = _scale(list(coef.values()))
    if s is None:
        return None
    ic = {j: round(v * s) for j, v in coef.items() if round(v * s) != 0}
    ilo = -math.inf if lo == -math.inf else math.ceil(lo * s - 1e-6)
    ihi = math.inf if hi == math.inf else math.floor(hi * s + 1e-6)
    big = sum(abs(v) for v in ic.values())
    if big > _MAX_SCALED or any(abs(b) > _MAX_SCALED for b in (ilo, ihi) if math.isfinite(b)):
        return None
    return ic, ilo, ihi


def _parameters(solver: cp_model.CpSolver, seed: int) -> None:
    """One worker and ``seed`` (the same search every time), and the full linear
    relaxation at every node (``linearization_level`` 2): at the default level 1 hundreds
    of one-slot awards competing for 30 days (a matching, integral as an LP) ran to the
    time limit unproved (``tests/optim/test_slots_scale.py``); at 2 under a second."""
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % (2**31)
    solver.parameters.linearization_level = 2


def _sum(x: Sequence[cp_model.IntVar], coef: dict[int, int]) -> cp_model.LinearExprT:
    """``sum_j coef[j] * x[j]`` as one CP-SAT expression."""
    return cp_model.LinearExpr.weighted_sum([x[j] for j in coef], list(coef.values()))


def fits(
    rows: Sequence[Row],
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    c: np.ndarray,
    *,
    whole: bool = False,
) -> bool:
    """Whether the level can go to CP-SAT: 0-1 columns, rows and objective scalable; or
    (``whole``: the span level of a together-bundle) other columns with whole bounds met only by rows
    whose coefficients and bounds are whole already: a bundle's first and last hours on a
    calendar of whole hours (24-hour slots from midnight UTC), whose optimum is a slot's
    start or end, so a whole number loses nothing."""
    other = (col_lo != 0.0) | (col_hi != 1.0)
    if np.any(other) and not whole:
        return False
    if np.any(other):
        bounds = np.concatenate([col_lo[other], col_hi[other]])
        if not (np.all(np.isfinite(bounds)) and np.all(bounds == np.round(bounds))):
            return False
        cols = set(np.flatnonzero(other).tolist())
        if not all(_whole(r) for r in rows if cols.intersection(r[0])):
            return False
    return bool(
        _scale([float(v) for v in c[np.flatnonzero(c)]]) is not None
        and all(_int_row(r) is not None for r in rows)
    )


def _whole(row: Row) -> bool:
    """Whether ``row``'s coefficients and finite bounds are whole numbers (its integer form
    is itself: a column in it may take whole values only without losing any solution)."""
    coef, lo, hi = row
    values = [*coef.values(), *(b for b in (lo, hi) if math.isfinite(b))]
    return all(float(v).is_integer() for v in values)


def solve_level(
    rows: Sequence[Row],
    n: int,
    c: np.ndarray,
    blend: np.ndarray,
    *,
    maximize: bool,
    time_limit_s: float,
    seed: int,
    start: np.ndarray | None = None,
    col_lo: np.ndarray | None = None,
    col_hi: np.ndarray | None = None,
) -> MipSolution:
    """Optimise ``c`` (0-1 columns, or whole ones within ``col_lo`` and ``col_hi``, the
    ``rows``; see :func:`fits`), then ``blend - c`` with
    that optimum kept. ``status`` is ``"optimal"`` when ``c``'s optimum is proved (the
    tie-break's search may have stopped at the limit: its best so far), ``"time_limit"``
    with a solution short of that proof, else ``"infeasible"`` or ``"error"``."""
    t0 = time.perf_counter()
    m = cp_model.CpModel()
    if col_lo is None or col_hi is None:
        x = [m.new_bool_var(f"x{j}") for j in range(n)]
    else:  # whole columns beside the 0-1 ones (``fits``)
        x = [m.new_int_var(int(col_lo[j]), int(col_hi[j]), f"x{j}") for j in range(n)]
    for row in rows:
        ir = _int_row(row)
        if ir is None:  # checked by ``fits``
            raise ValueError("a row of the slot program has no integer form")
        coef, lo, hi = ir
        expr = _sum(x, coef)
        if math.isfinite(lo) and math.isfinite(hi):
            m.add_linear_constraint(expr, int(lo), int(hi))
        elif math.isfinite(lo):
            m.add(expr >= int(lo))
        elif math.isfinite(hi):
            m.add(expr <= int(hi))
    if start is not None:
        for j in range(n):
            m.add_hint(x[j], int(round(start[j])))
    s = _scale([float(v) for v in c[np.flatnonzero(c)]]) or 1
    obj = _sum(x, {int(j): round(float(c[j]) * s) for j in np.flatnonzero(c)})
    (m.maximize if maximize else m.minimize)(obj)
    solver = cp_model.CpSolver()
    _parameters(solver, seed)
    if col_lo is not None:
        # the span level's big-M rows (a bundle's first hour below each slot it takes): the
        # full relaxation at every node slows the search; at the default level it reached
        # 1,464 h in 20 s where level 2 reached 2,016 (bench_slots --family shared, N = 80)
        solver.parameters.linearization_level = 1
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.01)
    st = solver.solve(m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        status = "infeasible" if st == cp_model.INFEASIBLE else "error"
        return MipSolution(np.zeros(n), math.nan, math.nan, math.inf, status, 0.0)
    best = round(solver.objective_value)
    values = np.array([solver.value(v) for v in x], dtype=float)
    bound = solver.best_objective_bound / s
    if st == cp_model.OPTIMAL:
        values = _tie_break(m, x, obj, best, blend - c, maximize, values, t0, time_limit_s, seed)
    status = "optimal" if st == cp_model.OPTIMAL else "time_limit"
    return MipSolution(
        values,
        float(blend @ values),
        bound,
        abs(bound - best / s),
        status,
        time.perf_counter() - t0,
    )


def _tie_break(
    m: cp_model.CpModel,
    x: list[cp_model.IntVar],
    obj: cp_model.LinearExprT,
    best: int,
    tie: np.ndarray,
    maximize: bool,
    values: np.ndarray,
    t0: float,
    time_limit_s: float,
    seed: int,
) -> np.ndarray:
    """The placement at the level's optimum ``best`` that does best on ``tie`` (rounded
    to integers of at most ``_TIE_SCALE``), from ``values``; ``values`` when there is no
    tie-break, or no time to search for it."""
    nz = np.flatnonzero(np.abs(tie) > 0)
    left = time_limit_s - (time.perf_counter() - t0)
    if len(nz) == 0 or left <= 0.01:
        return values
    top = float(np.abs(tie[nz]).max())
    coef = {int(j): round(float(tie[j]) / top * _TIE_SCALE) for j in nz}
    m.add(obj == best)
    m.clear_hints()  # type: ignore[no-untyped-call]
    for j, v in enumerate(values):
        m.add_hint(x[j], int(round(v)))
    m.clear_objective()  # type: ignore[no-untyped-call]
    expr = _sum(x, {j: v for j, v in coef.items() if v})
    (m.maximize if maximize else m.minimize)(expr)
    solver = cp_model.CpSolver()
    _parameters(solver, seed)
    solver.parameters.max_time_in_seconds = left
    st = solver.solve(m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return values
    return np.array([solver.value(v) for v in x], dtype=float)
