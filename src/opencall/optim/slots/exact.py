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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from opencall.optim import limits, ties
from opencall.optim.allocation import MipSolution, solve_mip
from opencall.optim.slots import cpsat
from opencall.optim.slots.bounds import (
    _EPS,
    _fewest_awards,
    _greedy_proved,
    _level_row,
    _value_bound,
)
from opencall.optim.slots.check import check
from opencall.optim.slots.greedy import _greedy, _place_set, _polish, _result
from opencall.optim.slots.index import _Index, _index
from opencall.optim.slots.model import Row, _Model, _model, weight_unit
from opencall.optim.slots.problem import SlotAward, SlotProblem
from opencall.optim.slots.result import SlotSchedule

if TYPE_CHECKING:
    import scipy.sparse as sp


#: the relative weight of the seeded tie-break on the value level
_TIE_EPS = 1e-7


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
        Time limit over all stages, the greedy included; when it is reached the best
        solution found (never worse than the greedy) is returned with
        ``method="milp_time_limit"`` (``"greedy_time_limit"`` with ``exact=False``). When
        it passes during the greedy's construction, the placement so far is returned and
        the units not yet tried are unplaced with the reason ``"time_limit"``; the repair
        and the polish stop where they are; ``stages`` says where it stopped.
    max_columns : int
        Above this number of assignment columns the greedy result is returned.
    seed : int
        Solver random seed, and the seed of the tie-break between awards of equal value
        (their ids, never their positions: see the module doc).

    Returns
    -------
    SlotSchedule
        ``starts`` per placed award; ``unplaced`` with a reason for every other award.

    Notes
    -----
    Columns: ``x[a, k]`` (award ``a`` takes slot ``k`` of its resource; only usable, possible
    slots get a column), ``y[u]`` (unit ``u`` is placed), ``r[a, k]`` in [0, 1] (a run of
    ``a`` starts at ``k``), and ``lo[b], hi[b]`` (first start, last end of a together-bundle
    ``b``, in hours). Rows: ``sum_k x[a, k] = slots_a * y[u(a)]``; ``sum_a x[a, k] <= g``
    per resource slot (``g`` its ``groups_per_slot``, 1 unless the slot is shared); ``r[a, k] >= x[a, k] - x[a, k-1]`` (``k-1`` the slot just before, when
    ``a`` may take it; otherwise ``x[a, k]`` counts as a run start itself; a one-slot award
    has no ``r`` columns: each of its ``x`` is a run); ``sum of a's run starts >= y[u(a)]``
    (a placed award is at least one run: without it the LP relaxation spreads awards over
    half-taken neighbouring slots with almost no run starts, and the runs level's bound was
    near 0); per resource, ``sum_a slots_a * y[u(a)] <=`` the slots any award may take (the
    slot rows added up, so that HiGHS sees the knapsack); ``lo[b] + (H - t_k) x[a, k] <= H``
    and ``hi[b] >= (t_k + len) x[a, k]`` (the smallest big-M for each row, H the horizon).
    Levels (value, span, runs) are solved in turn, each fixing the previous optimum ([1]_);
    the value level is one level per tier of value (``model.value_tiers``: weights 1e12
    apart lost every lighter award to one sum's tolerance);
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
    unit = _weight_unit(problem)
    solved = _reweighted(problem, unit)
    result = _solve(_canonical(solved, seed), exact, t0, time_limit_s, max_columns, seed)
    # the awards in the order they were given
    given = [a.id for a in problem.awards]
    return replace(
        result,
        starts={a: result.starts[a] for a in given if a in result.starts},
        unplaced={a: result.unplaced[a] for a in given if a in result.unplaced},
        value=result.value * unit,
    )


def _weight_unit(problem: SlotProblem) -> float:
    """The unit the weights of ``problem`` are solved in (``model.weight_unit``). Every
    weight times 1e-7 lost a third of the value (the greedy "met the bound" within an
    absolute 1e-6, the runs level dropped awards within the value row's), times 1e-12
    every award; a power of two divides every weight exactly, so the order of the awards
    and the seeded tie-break are those of the weights as given."""
    return weight_unit([a.weight for a in problem.awards])


def _reweighted(problem: SlotProblem, unit: float) -> SlotProblem:
    """``problem`` with every weight divided by ``unit``."""
    if unit == 1.0:
        return problem
    awards = tuple(replace(a, weight=a.weight / unit) for a in problem.awards)
    return SlotProblem(problem.resources, awards, problem.exclusive)


def _canonical(problem: SlotProblem, seed: int) -> SlotProblem:
    """``problem`` with its resources by id and its awards in the seeded order of their ids
    (``opencall.optim.ties``): the greedy and HiGHS read the columns in the awards' order,
    so that the awards or resources given in another order took other slots with the same
    seed (5 of 60 small random instances), the same objective."""
    ranks = ties.tie_ranks([a.id for a in problem.awards], seed)
    return SlotProblem(
        tuple(sorted(problem.resources, key=lambda r: r.id)),
        tuple(problem.awards[i] for i in np.argsort(ranks, kind="stable")),
        tuple(tuple(sorted(g)) for g in sorted(problem.exclusive)),
    )


def _solve(
    problem: SlotProblem,
    exact: bool,
    t0: float,
    time_limit_s: float,
    max_columns: int,
    seed: int,
) -> SlotSchedule:
    """:func:`solve_slots` on a validated problem in canonical order."""
    ix = _index(problem)
    built = _greedy(ix, deadline=t0 + time_limit_s, seed=seed)
    placed = built.placed
    if built.stages:
        # the limit passed before the greedy ended: its feasible placement so far
        method = "milp_time_limit" if exact else "greedy_time_limit"
        wall = time.perf_counter() - t0
        return _result(ix, placed, method, wall, built.stages, built.late)
    if not exact:
        return _result(ix, placed, "greedy", time.perf_counter() - t0)
    return _exact(problem, ix, placed, t0, time_limit_s, max_columns, seed)


def _exact(
    problem: SlotProblem,
    ix: _Index,
    placed: dict[str, list[int]],
    t0: float,
    time_limit_s: float,
    max_columns: int,
    seed: int,
) -> SlotSchedule:
    """The 0-1 program's levels from the greedy's ``placed`` (see :func:`solve_slots`),
    or the greedy's result where it is proved optimal, too large, or out of time."""
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
    if time.perf_counter() - t0 >= time_limit_s:
        stages = ["time limit reached before the milp"]
        return _result(ix, placed, "milp_time_limit", time.perf_counter() - t0, stages)
    res = {r.id: r for r in problem.resources}
    m = _model(ix, units, awards, seed)
    # upper bound on value: every unit that survives the pre-check placed, and on each
    # resource no more than the best knapsack of its awards over its slots
    tiers = _tier_levels(ix, m)
    tols = {name: m.tier_tols[k] for k, (name, _, _) in enumerate(tiers)}
    lv = _Levels(placed, m.vector(placed), value_unit=m.tier_units[0], tols=tols)
    bounds = {
        **{name: bound for name, _, bound in tiers},
        "span": sum(
            max(a.slots * res[a.resource].slot_hours for a in units[i]) for i in m.together
        ),
        "runs": float(len(awards)),
    }
    # The span level is solved with the runs as a tie-break too small to trade against it (so
    # that a level stopped by the time limit still leaves contiguous awards); the level's own
    # optimum, not the blend, is what the next level keeps.
    max_runs = float(sum(a.slots for a in awards)) + 1.0
    d_runs = 1e-3 / max_runs  # span is in hours; runs never outweigh a thousandth of an hour
    # Each level also carries the seeded tie-break between units (``m.c_tie``: the seed and
    # the unit's id, never its position), too small to trade against the level itself: a
    # relative 1e-7 of the value; in all less than half a run, or half the runs' step.
    d_tie = 0.5 / max(len(units), 1)
    blend = {
        **{name: c * (1.0 + _tie_eps(c, tols[name]) * m.c_tie) for name, c, _ in tiers},
        "span": m.c_span + d_runs * m.c_runs - d_runs * d_tie * m.c_tie,
        "runs": m.c_runs - d_tie * m.c_tie,
    }
    levels = [(name, c, True) for name, c, _ in tiers]
    levels += [("span", m.c_span, False), ("runs", m.c_runs, False)]
    _run_levels(problem, m, lv, awards, (levels, bounds, blend), t0 + time_limit_s, seed)
    if lv.timed_out:
        polished = _polish(ix, lv.placed)
        if m.key(m.vector(polished)) > m.key(m.vector(lv.placed)) and not check(
            problem, _starts(ix, polished)
        ):
            lv.placed = polished
            lv.stages.append("polished")
    return _result(
        ix,
        lv.placed,
        "milp_time_limit" if lv.timed_out else "milp",
        time.perf_counter() - t0,
        lv.stages,
    )


def _tie_eps(c: np.ndarray, tol: float) -> float:
    """The relative weight of the seeded tie-break on a value level of objective ``c`` and
    tolerance ``tol``: ``_TIE_EPS``, less where the tie-break of all its units together
    (at most that times their value) could outweigh ``tol``, a quarter of its least unit
    (``model.value_tolerance``): one relative 1e-7 of a whole value of 22 outweighed a
    lighter award of 3e-7, left out for the tie-break."""
    return min(_TIE_EPS, tol / max(float(np.abs(c).sum()), tol))


def _tier_levels(ix: _Index, m: _Model) -> list[tuple[str, np.ndarray, float]]:
    """The value level of each tier of units (``model.value_tiers``): its name (``value``,
    then ``value 2``, ...), its objective and an upper bound on it (the knapsack bound of
    ``_value_bound`` over the tier's awards, in the tier's units)."""
    out = []
    for k, c in enumerate(m.c_tiers):
        mine = [a for i, u in enumerate(m.units) if c[m.y_col[i]] for a in u]
        bound = min(float(c.sum()), _value_bound(ix, mine) / m.tier_units[k])
        out.append(("value" if k == 0 else f"value {k + 1}", c, bound))
    return out


def _run_levels(
    problem: SlotProblem,
    m: _Model,
    lv: _Levels,
    awards: list[SlotAward],
    program: tuple[list[tuple[str, np.ndarray, bool]], dict[str, float], dict[str, np.ndarray]],
    deadline: float,
    seed: int,
) -> None:
    """The levels of ``program`` (each level's name, objective and sense; the bounds; the
    blended objectives: the value of each tier, span and runs) in turn, each fixed at its
    optimum for the next (``lv`` updated): a level the greedy already meets its bound in is
    not solved, the span level only with a together-bundle; a level stopped by
    ``deadline`` (``time.perf_counter``) ends them."""
    levels, bounds, blend = program
    for name, c, maximize in levels:
        if name == "span" and not m.together:
            continue
        if name == "runs" and lv.fixed_value is not None:
            # every placed award is at least one run, and reaching the fixed value takes at
            # least this many awards (whatever else is placed)
            bounds["runs"] = float(_fewest_awards(awards, lv.fixed_value))
        cur = float(c @ lv.start)
        if _greedy_settles(m, lv, name, cur, bounds[name], maximize):
            lv.stages.append(f"{name}: greedy meets the bound")
            lv.fix(name, c, cur, maximize)
            continue
        left = deadline - time.perf_counter()
        if not _solve_level(problem, m, lv, (name, c, blend[name], maximize), left, seed):
            break


@dataclass
class _Levels:
    """Where the levels of ``solve_slots`` stand: the best placement so far and its column
    values (the next solve's warm start), what each level did, the rows that keep the
    levels already settled, and whether a level stopped before its optimum."""

    placed: dict[str, list[int]]
    start: np.ndarray
    stages: list[str] = field(default_factory=list)
    extra: list[Row] = field(default_factory=list)
    fixed_value: float | None = None  # the least value the later levels must keep
    value_unit: float = 1.0  # the unit of the value level (its tier's, ``_Model.tier_units``)
    #: each value level's tolerance, by name (``_Model.tier_tols``); other levels ``_EPS``
    tols: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False

    def fix(self, name: str, c: np.ndarray, value: float, maximize: bool) -> None:
        """Keep level ``name`` at ``value`` in the levels after it."""
        row = _level_row(c, value, maximize, self.tols.get(name))
        self.extra.append(row)
        if name == "value":
            self.fixed_value = row[1] * self.value_unit


def _greedy_settles(
    m: _Model, lv: _Levels, name: str, cur: float, bound: float, maximize: bool
) -> bool:
    """Whether the placement so far (``cur`` on level ``name``) meets the level's bound, so
    that the level needs no solve."""
    eps = lv.tols.get(name, _EPS)
    if not ((maximize and cur >= bound - eps) or (not maximize and cur <= bound + eps)):
        return False
    # the span bound holds only when every unit is placed; the runs bound always
    # does once the value is fixed, and otherwise when every unit is placed
    return (
        name.startswith("value")
        or (name == "runs" and lv.fixed_value is not None)
        or m.all_placed(lv.start, _EPS)
    )


def _solve_level(
    problem: SlotProblem,
    m: _Model,
    lv: _Levels,
    level: tuple[str, np.ndarray, np.ndarray, bool],
    left: float,
    seed: int,
) -> bool:
    """Solve one level (its name, objective, blended objective and sense) within ``left``
    seconds from ``lv.start``, keep the solver's placement when it passes the check and is
    no worse, and fix the level for the next; False when the levels stop here (no time
    left, no solution, or a level stopped by the time limit)."""
    name, c, blend, maximize = level
    if left <= 0.05:
        lv.timed_out = True
        return False
    rows = m.rows + lv.extra
    # the value level by CP-SAT where the program allows it and its LP relaxation is weak
    # (``_value_engine``); the runs level (whose LP relaxation is tight: HiGHS proves it in
    # a fraction of a second where CP-SAT's search ran to the limit) and the span level
    # (continuous hours) by HiGHS, except the span level of a shared resource, by CP-SAT
    # when its hours are whole: from the value level's full calendar HiGHS's span search
    # ran to its limit at 3.5 x CP-SAT's span (bench_slots --family shared, N = 80)
    span = name == "span" and _shared(problem)
    value = name.startswith("value")
    fits = (value or span) and cpsat.fits(rows, m.col_lo, m.col_hi, c, whole=span)
    if not fits:
        engine = "highs"
    elif span:
        engine = "cp-sat"
    else:
        engine = _value_engine(m, rows, (c, blend), float(c @ lv.start), left, seed)
    if engine == "cp-sat":
        sol = cpsat.solve_level(
            rows, m.n, c, blend, maximize=maximize, time_limit_s=left, seed=seed, start=lv.start,
            # the whole columns only on the span level (its search as ``cpsat`` says)
            col_lo=m.col_lo if span else None, col_hi=m.col_hi if span else None,
        )  # fmt: skip
    else:
        gap = lv.tols.get(name, _EPS)
        sol = _highs_level(m, rows, blend, maximize, left, seed, lv.start, gap=gap)
    if sol.status not in ("optimal", "time_limit") or not math.isfinite(sol.objective):
        lv.timed_out = True
        lv.stages.append(f"{name}: {sol.status} ({engine})")
        return False
    cur = float(c @ lv.start)
    x = np.round(sol.x[: m.n_int])
    cand = m.decode(np.concatenate([x, sol.x[m.n_int :]]))
    cand_vec = m.vector(cand)
    if not check(problem, _starts(m.ix, cand)) and m.key(cand_vec) >= m.key(lv.start):
        lv.start = cand_vec
        lv.placed = cand
        cur = float(c @ cand_vec)
        if value:
            _rewarm(problem, m, lv)
    lv.stages.append(f"{name}: {sol.status} {cur:g} ({engine})")
    if sol.status != "optimal":
        lv.timed_out = True
        return False
    lv.fix(name, c, cur, maximize)
    return True


#: which engine solves a value level that CP-SAT can take: ``"auto"`` (by the LP gap,
#: ``_value_engine``), or ``"cp-sat"`` / ``"highs"`` always (``bench/bench_trial20.py``
#: measures each against the choice)
VALUE_ENGINE = "auto"
#: the relative gap between the LP relaxation's value and the warm start's above which
#: the value level goes to CP-SAT (``bench/bench_trial20.py``)
_LP_GAP = 0.03


def _value_engine(
    m: _Model,
    rows: list[Row],
    level: tuple[np.ndarray, np.ndarray],
    cur: float,
    left: float,
    seed: int,
) -> str:
    """``"highs"`` or ``"cp-sat"`` for a value level (``level``: its objective and its
    blended objective) that both can solve, by what the instance is: its LP relaxation (one HiGHS LP, hundredths of a second) against the
    warm start's value ``cur``. Where the relaxation is within ``_LP_GAP`` of it (many
    one-slot awards, demand near the capacity: an LP almost integral) HiGHS's branch and
    bound closes the gap in a few nodes, while CP-SAT's second step (the seeded tie-break
    at the value's optimum) searched for up to 18 s where HiGHS's one blended solve took
    6 s; where it is far (long unbroken blocks, many resources: 14-16 %) HiGHS needed
    4-10 s and CP-SAT under one (``bench/bench_trial20.py``). The choice depends on the
    problem alone, never on the time taken, so that the same input takes the same path."""
    if VALUE_ENGINE in ("cp-sat", "highs"):
        return VALUE_ENGINE
    c, blend = level
    lp = _highs_level(m, rows, blend, True, max(0.1 * left, 0.01), seed, None, relax=True)
    if lp.status != "optimal" or not math.isfinite(lp.objective):
        return "cp-sat"
    relaxed = float(c @ lp.x)
    return "highs" if relaxed - cur <= _LP_GAP * max(abs(relaxed), _EPS) else "cp-sat"


def _shared(problem: SlotProblem) -> bool:
    """Whether a resource of ``problem`` holds several groups a slot."""
    return any(r.groups_per_slot > 1 for r in problem.resources)


def _highs_level(
    m: _Model,
    rows: list[Row],
    blend: np.ndarray,
    maximize: bool,
    left: float,
    seed: int,
    start: np.ndarray | None,
    *,
    relax: bool = False,
    gap: float = _EPS,
) -> MipSolution:
    """One level by HiGHS, the level's objective and its tie-break blended (``blend``);
    with ``relax`` its LP relaxation (no column integer). ``gap``: the absolute gap at
    which the search stops (a value level's tolerance, ``model.value_tolerance``), the
    relative gap 1e-9 or less. Below ``_EPS`` the objective is solved times ``_EPS / gap``:
    HiGHS's own tolerances are absolute (its gap 1e-6, its dual feasibility 1e-7), and with
    a lighter award of 3e-7 beside awards of 3 it proved an optimum without it (its bound
    equal to its objective), which the program's optimum had."""
    times = _EPS / gap if gap < _EPS else 1.0
    scale = max(float(np.abs(blend).sum()) * times, 1.0)
    mat, lo_r, hi_r = _csr(rows, m.n)
    sol = solve_mip(
        blend * times,
        mat,
        lo_r,
        hi_r,
        m.col_lo,
        m.col_hi,
        np.zeros_like(m.integer) if relax else m.integer,
        maximize=maximize,
        mip_rel_gap=min(1e-9, _EPS / scale),
        time_limit_s=left,
        seed=seed,
        start=start,
    )
    if times == 1.0:
        return sol
    return replace(sol, objective=sol.objective / times, bound=sol.bound / times)


def _rewarm(problem: SlotProblem, m: _Model, lv: _Levels) -> None:
    """A better warm start for the levels after the value: the same placed set with shorter
    spans, by polishing the solver's placement or by placing the same set again from
    scratch (the solver packs calendars with no regard to spans)."""
    ix = m.ix
    for again in (_polish(ix, lv.placed), _place_set(ix, m.units, lv.placed)):
        if (
            again is not None
            and not check(problem, _starts(ix, again))
            and m.key(m.vector(again)) > m.key(lv.start)
        ):
            lv.placed = again
            lv.start = m.vector(again)


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
