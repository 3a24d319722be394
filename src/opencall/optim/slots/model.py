"""The 0-1 program of ``solve_slots`` (its columns, rows, bounds and the three level
objectives, see its Notes), built once and solved level by level in
``opencall.optim.slots.exact``."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from opencall.optim.slots.greedy import _unit_value, unit_ties
from opencall.optim.slots.index import _Index, is_same_time
from opencall.optim.slots.problem import SlotAward

#: one row of the program: its coefficients by column, its lower and upper bound
Row = tuple[dict[int, float], float, float]


@dataclass
class _Model:
    """The columns of the program (``x`` by award and slot, ``y`` by unit, run starts,
    ``lo``/``hi`` by together-bundle), its rows and column bounds, and the objective of
    each level."""

    ix: _Index
    units: Sequence[list[SlotAward]]
    col: dict[tuple[str, int], int]
    y_col: dict[int, int]
    run_col: dict[tuple[str, int], int]
    run_plain: list[int]  # x columns that count as run starts themselves
    together: list[int]  # the units kept together
    lohi: dict[int, tuple[int, int]]
    n: int
    rows: list[Row]
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    c_value: np.ndarray
    c_span: np.ndarray
    c_runs: np.ndarray
    #: each unit's seeded tie-break on its ``y`` column, in (0, 1] (1: first in the order)
    c_tie: np.ndarray
    #: the value level's objective per tier of units (``value_tiers``), the heaviest first,
    #: each in units of a power of two near its heaviest weight; one tier: ``[c_value]``
    c_tiers: list[np.ndarray] = field(default_factory=list)
    #: the units (a power of two) each tier of ``c_tiers`` is in
    tier_units: list[float] = field(default_factory=list)
    #: the tolerance of each tier's value, in its units (``value_tolerance``)
    tier_tols: list[float] = field(default_factory=list)

    @property
    def n_int(self) -> int:
        """The integer columns (``x`` and ``y``), which come first."""
        return len(self.col) + len(self.units)

    def vector(self, pl: Mapping[str, Sequence[int]]) -> np.ndarray:
        """The column values of the placement ``pl``."""
        ix, units = self.ix, self.units
        x = np.zeros(self.n)
        for aid, ks in pl.items():
            for k in ks:
                x[self.col[(aid, k)]] = 1.0
        for i, u in enumerate(units):
            x[self.y_col[i]] = 1.0 if all(pl.get(a.id) for a in u) else 0.0
        for (aid, k), j in self.run_col.items():
            have = set(pl.get(aid, ()))
            x[j] = 1.0 if k in have and k - 1 not in have else 0.0
        for i, (lo, hi) in self.lohi.items():
            ivs = [
                (ix.hours(a.resource, k), ix.end_hours(a.resource, k))
                for a in units[i]
                for k in pl.get(a.id, ())
            ]
            x[lo] = min((s for s, _ in ivs), default=0.0)
            x[hi] = max((e for _, e in ivs), default=0.0)
        return x

    def decode(self, x: np.ndarray) -> dict[str, list[int]]:
        """The placement whose ``x`` columns are 1 in ``x``."""
        out: dict[str, list[int]] = {}
        for (aid, k), j in self.col.items():
            if x[j] > 0.5:
                out.setdefault(aid, []).append(k)
        return out

    def key(self, v: np.ndarray) -> tuple[float, ...]:
        """The lexicographic objective of ``v``, higher is better: the value of each tier
        (``value_tiers``, in its own units), the span, the runs."""
        return (
            *(round(float(c @ v), 9) for c in self.c_tiers),
            -round(float(self.c_span @ v), 9),
            -round(float(self.c_runs @ v), 9),
        )

    def all_placed(self, v: np.ndarray, eps: float) -> bool:
        """Whether ``v`` places every unit (each tier's value at its sum, within ``eps``)."""
        return all(float(c @ v) >= float(c.sum()) - eps for c in self.c_tiers)


def _model(
    ix: _Index, units: Sequence[list[SlotAward]], awards: Sequence[SlotAward], seed: int = 0
) -> _Model:
    """The program for the ``units`` (whose ``awards`` have a column each slot they may
    take); ``seed`` orders the units of equal value (``c_tie``)."""
    col: dict[tuple[str, int], int] = {}
    for a in awards:
        for k in ix.allowed[a.id]:
            col[(a.id, k)] = len(col)
    n_x = len(col)
    y_col = {i: n_x + i for i in range(len(units))}
    unit_of = {a.id: i for i, u in enumerate(units) for a in u}
    run_col, run_plain, n = _run_columns(ix, awards, col, n_x + len(units))
    together = [i for i, u in enumerate(units) if len(u) > 1 and any(a.together for a in u)]
    lohi: dict[int, tuple[int, int]] = {}
    for i in together:
        lohi[i] = (n, n + 1)
        n += 2
    horizon = max(
        (
            ix.end_hours(r.id, len(ix.grids[r.id]) - 1)
            for r in ix.problem.resources
            if ix.grids[r.id]
        ),
        default=0.0,
    )
    y_of = {a.id: y_col[unit_of[a.id]] for a in awards}
    rows = _capacity_rows(ix, awards, col, y_of)
    rows.extend(_run_rows(ix, awards, col, y_of, run_col, run_plain))
    rows.extend(_span_rows(ix, units, col, lohi, horizon))
    rows.extend(_same_time_rows(ix, units, col))
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
    c_tie = np.zeros(n)
    tie = unit_ties(units, seed)
    for i, u in enumerate(units):
        c_tie[y_col[i]] = (len(units) - tie[id(u)]) / len(units)
    c_tiers, tier_units, tier_tols = [], [], []
    for tier in value_tiers(units):
        c = np.zeros(n)
        for i in tier:
            c[y_col[i]] = c_value[y_col[i]]
        unit = weight_unit([a.weight for i in tier for a in units[i]])
        c_tiers.append(c / unit)
        tier_units.append(unit)
        tier_tols.append(value_tolerance([_unit_value(units[i]) / unit for i in tier]))
    return _Model(
        ix, units, col, y_col, run_col, run_plain, together, lohi, n, rows, col_lo, col_hi,
        integer, c_value, c_span, c_runs, c_tie, c_tiers, tier_units, tier_tols,
    )  # fmt: skip


#: the least largest weight solved as given: the levels' tolerances and the comparison of
#: placements are absolute below 1 (``bounds._EPS``, ``_Model.key``); smaller weights are
#: solved in units of a power of two near the largest
_LEAST_TOP_WEIGHT = 2.0**-10
#: the units lighter than this fraction of every heavier unit, all of them together, are
#: a tier of their own (``value_tiers``)
_TIER_RATIO = 2.0**-20


#: the tolerance of a value level (its tier's units) where no unit is lighter than 4 x it
_VALUE_EPS = 1e-6


def value_tolerance(values: Sequence[float]) -> float:
    """The tolerance of a value level whose units are worth ``values`` (in the tier's
    units): ``_VALUE_EPS``, or a quarter of the least positive unit value where that is
    smaller. Within one tier the lighter units may be worth less than ``_VALUE_EPS`` (weights
    1e7 apart, the lighter ones too many to be a tier of their own): a level "met" within
    an absolute 1e-6, a level row kept within a relative 1e-6 and a tie-break of a relative
    1e-7 of the whole value each left out a lighter award that fitted (2 of 45 instances at
    1e7, ``tests/optim/test_trial_instances_23b.py``). A quarter of the least unit still
    tells apart any two placements that differ by a unit."""
    least = min((v for v in values if v > 0.0), default=math.inf)
    return min(_VALUE_EPS, 0.25 * least)


def weight_unit(weights: Sequence[float]) -> float:
    """The unit ``weights`` are solved in: 1 (as given) unless the largest is below
    ``_LEAST_TOP_WEIGHT``, else the power of two nearest the largest (exact in floating
    point: the order of the weights and the seeded tie-break are those given)."""
    top = max(weights, default=1.0)
    if top >= _LEAST_TOP_WEIGHT or top <= 0.0:
        return 1.0
    return 2.0 ** round(math.log2(top))


def value_tiers(units: Sequence[list[SlotAward]]) -> list[list[int]]:
    """The units (their indices) in tiers of value, the heaviest first: a tier ends where
    all the units lighter than its lightest, together, are worth less than
    ``_TIER_RATIO`` of it. The value level is solved tier by tier, each kept at its optimum
    for the next: one sum of weights 1 and 1e-12 (each level's tolerance and the
    comparison of placements a relative 1e-6 or an absolute 1e-9) left out every award of
    1e-12 that fit. Taken in turn, the tiers give the most value the sum could tell apart:
    what a heavier tier could give up for the lighter ones is below its tolerance."""
    order = sorted(range(len(units)), key=lambda i: -_unit_value(units[i]))
    values = [_unit_value(units[i]) for i in order]
    below = np.cumsum(values[::-1])[::-1]  # below[j]: the units from j on, together
    tiers: list[list[int]] = [[]]
    for j, i in enumerate(order):
        if tiers[-1] and values[j] > 0.0 and below[j] < _TIER_RATIO * values[j - 1]:
            tiers.append([])
        tiers[-1].append(i)
    return tiers


def _run_columns(
    ix: _Index, awards: Sequence[SlotAward], col: Mapping[tuple[str, int], int], n: int
) -> tuple[dict[tuple[str, int], int], list[int], int]:
    """A run-start column ``r[a, k]`` from column ``n`` on where ``a`` may also take the
    slot just before ``k``; elsewhere ``x[a, k]`` counts as a run start itself (and a
    one-slot award is one run wherever it goes). Returns the columns, the ``x`` columns that
    are their own run starts, and the next free column."""
    run_col: dict[tuple[str, int], int] = {}
    run_plain: list[int] = []
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
    return run_col, run_plain, n


def _same_time_rows(
    ix: _Index, units: Sequence[list[SlotAward]], col: Mapping[tuple[str, int], int]
) -> list[Row]:
    """A same-time bundle takes a slot of its first award exactly when each other award
    takes the slot of the same start (their slots are those common to all, ``_same_time``)."""
    rows: list[Row] = []
    for u in units:
        if not is_same_time(u) or any((u[0].id, k) not in col for k in ix.allowed[u[0].id]):
            continue
        first = {ix.grids[u[0].resource][k].start: k for k in ix.allowed[u[0].id]}
        for b in u[1:]:
            for k in ix.allowed[b.id]:
                k0 = first.get(ix.grids[b.resource][k].start)
                if k0 is not None and (b.id, k) in col:
                    rows.append(({col[(u[0].id, k0)]: 1.0, col[(b.id, k)]: -1.0}, 0.0, 0.0))
    return rows


def _capacity_rows(
    ix: _Index,
    awards: Sequence[SlotAward],
    col: Mapping[tuple[str, int], int],
    y_of: Mapping[str, int],
) -> list[Row]:
    """An award takes all its slots when its unit is placed; a slot goes to as many awards
    as its resource's ``groups_per_slot`` at most (one, unless the slot is shared); the
    changeover; and each resource's knapsack."""
    rows: list[Row] = []
    for a in awards:
        coef = {col[(a.id, k)]: 1.0 for k in ix.allowed[a.id]}
        coef[y_of[a.id]] = -float(a.slots)
        rows.append((coef, 0.0, 0.0))
    per_slot: dict[tuple[str, int], list[int]] = {}
    for (aid, k), j in col.items():
        per_slot.setdefault((ix.res_of[aid], k), []).append(j)
    for (rid, k), js in per_slot.items():
        # the places the slot has left (a shared slot less those booked outside)
        groups = ix.grids[rid][k].places
        if len(js) > groups:
            rows.append(({j: 1.0 for j in js}, -np.inf, float(groups)))
    rows.extend(_exclusive_rows(ix, per_slot))
    rows.extend(_changeover_rows(ix, col))
    # the slot rows of a resource added up: its placed awards' slots fit in the slots any of
    # them may take. Implied, but it gives HiGHS the knapsack whose covers (at most 15 awards
    # of 2 slots in 31) the per-slot rows hide from it.
    per_res: dict[str, dict[int, float]] = {}
    for a in awards:
        terms = per_res.setdefault(a.resource, {})
        terms[y_of[a.id]] = terms.get(y_of[a.id], 0.0) + a.slots
    for rid, terms in per_res.items():
        room = sum(ix.grids[rid][k].places for k in {k for (r, k) in per_slot if r == rid})
        if sum(terms.values()) > room:
            rows.append((terms, -np.inf, float(room)))
    rows.extend(_changeover_window_rows(ix, awards, y_of))
    return rows


def _exclusive_rows(ix: _Index, per_slot: Mapping[tuple[str, int], list[int]]) -> list[Row]:
    """Resources sharing one instrument (``SlotProblem.exclusive``): at each instant at
    most one of their slots is booked. A row per slot start, over the slots of the group
    that cover it (the intervals through a point: every clique of overlapping slots is
    one of these), where they lie on two resources or more."""
    rows: list[Row] = []
    seen: set[frozenset[int]] = set()
    for group in ix.problem.exclusive:
        slots = sorted(
            (ix.grids[rid][k].start, ix.grids[rid][k].end, js)
            for (rid, k), js in per_slot.items()
            if rid in group
        )
        active: list[tuple[dt.datetime, list[int]]] = []  # (end, columns) of open slots
        for t, end, js in slots:
            active = [(e, c) for e, c in active if t < e]
            active.append((end, js))
            if len(active) < 2:
                continue
            cols = frozenset(j for _e, c in active for j in c)
            if cols not in seen:
                seen.add(cols)
                rows.append(({j: 1.0 for j in sorted(cols)}, -np.inf, 1.0))
    return rows


#: the most awards on one resource whose every window of dates gets a changeover row
#: (a row per pair of a first and a last allowed slot); above it only the whole span's
_WINDOW_AWARDS = 80


def _changeover_window_rows(
    ix: _Index, awards: Sequence[SlotAward], y_of: Mapping[str, int]
) -> list[Row]:
    """The changeover counted in the slots a window of the grid holds: the awards of
    different proposals placed within grid slots ``s..e`` need their slots and a
    changeover between each two, ``sum (slots_a + c) y_a <= (e - s + 1) + c`` (an award
    whose proposal has no other award on the resource is charged ``c``; the others only
    their slots, so the row holds however a proposal's awards lie). One row for each first
    slot ``s`` and last slot ``e`` that some award may take, over the awards whose allowed
    slots all lie in ``s..e``, when they could overfill it.

    Valid because between two slots of different proposals lie more than ``c`` slots,
    whatever they are. The per-slot changeover rows imply it only in integers: their LP
    relaxation shares a slot's changeover among fractions of awards, and a travelling
    team's season of 92 days, 14 hosts in seasons of their own and 3 days of travel left
    HiGHS at its time limit in the value level (``bench/README.md``)."""
    rows: list[Row] = []
    per_res: dict[str, list[SlotAward]] = {}
    for a in awards:
        if ix.res[a.resource].changeover and ix.allowed[a.id]:
            per_res.setdefault(a.resource, []).append(a)
    for rid, mine in per_res.items():
        c = ix.res[rid].changeover
        n_of: dict[str, int] = {}
        for a in mine:
            n_of[ix.owner[a.id]] = n_of.get(ix.owner[a.id], 0) + 1
        first = {a.id: ix.allowed[a.id][0] for a in mine}
        last = {a.id: ix.allowed[a.id][-1] for a in mine}
        cost = {a.id: a.slots + (c if n_of[ix.owner[a.id]] == 1 else 0) for a in mine}
        if len(mine) <= _WINDOW_AWARDS:
            windows = [
                (s, e)
                for s in sorted(set(first.values()))
                for e in sorted(set(last.values()))
                if e >= s
            ]
        else:
            windows = [(min(first.values()), max(last.values()))]
        for s, e in windows:
            coef: dict[int, float] = {}
            for a in mine:
                if first[a.id] >= s and last[a.id] <= e:
                    coef[y_of[a.id]] = coef.get(y_of[a.id], 0.0) + cost[a.id]
            rhs = float(e - s + 1 + c)
            if sum(coef.values()) > rhs:
                rows.append((coef, -np.inf, rhs))
    return rows


def _run_rows(
    ix: _Index,
    awards: Sequence[SlotAward],
    col: Mapping[tuple[str, int], int],
    y_of: Mapping[str, int],
    run_col: Mapping[tuple[str, int], int],
    run_plain: Sequence[int],
) -> list[Row]:
    """A run starts at ``k`` when ``a`` takes ``k`` and not the slot before; a placed
    award is at least one run, and an unbroken one (``SlotAward.unbroken``) exactly one."""
    rows: list[Row] = []
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
        coef[y_of[a.id]] = -1.0
        # an unbroken award placed is exactly one run (none when it is not placed)
        rows.append((coef, 0.0, 0.0 if a.unbroken else np.inf))
        if a.unbroken:
            # its run of L consecutive grid slots holds exactly one slot of each residue
            # of the grid index mod L: implied in integers, but without these rows the LP
            # spread the award over far-apart slots, and HiGHS stopped at its time limit
            # 3 % below the optimum CP-SAT proved in 3 s (bench/README.md, trialopt18)
            by_residue: dict[int, dict[int, float]] = {r: {} for r in range(a.slots)}
            for k in ix.allowed[a.id]:
                by_residue[k % a.slots][col[(a.id, k)]] = 1.0
            for terms in by_residue.values():
                rows.append(({**terms, y_of[a.id]: -1.0}, 0.0, 0.0))
    return rows


def _span_rows(
    ix: _Index,
    units: Sequence[list[SlotAward]],
    col: Mapping[tuple[str, int], int],
    lohi: Mapping[int, tuple[int, int]],
    horizon: float,
) -> list[Row]:
    """``lo`` and ``hi`` of each together-bundle: its first start and last end."""
    rows: list[Row] = []
    for i, (lo, hi) in lohi.items():
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
    return rows


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
