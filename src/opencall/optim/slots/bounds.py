"""Bounds that settle a level without a solve: the placed value's knapsack bound, the
fewest awards (hence runs) for a value, and the row that fixes a level's optimum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from opencall.optim.slots.greedy import _unit_value
from opencall.optim.slots.index import _Index, _runs
from opencall.optim.slots.model import value_tiers, value_tolerance
from opencall.optim.slots.problem import SlotAward

_EPS = 1e-6


def _greedy_proved(
    ix: _Index,
    units: Sequence[list[SlotAward]],
    awards: Sequence[SlotAward],
    placed: Mapping[str, Sequence[int]],
) -> list[str]:
    """The stages of a proof that the greedy placement is optimal without a solve, or []:
    no unit asks to be kept together (no span level), the placed value meets
    ``_value_bound`` and the runs meet ``_fewest_awards`` at that value (the same tests and
    tolerances as the levels of ``solve_slots``). Never with units of several tiers of
    value (``value_tiers``): the tolerance of the sum would not see the lighter tiers."""
    if any(len(u) > 1 and any(a.together for a in u) for u in units):
        return []
    if len(value_tiers(units)) > 1:
        return []
    value = sum(_unit_value(u) for u in units if all(placed.get(a.id) for a in u))
    bound = min(sum(_unit_value(u) for u in units), _value_bound(ix, awards))
    tol = value_tolerance([_unit_value(u) for u in units])
    if value < bound - tol:
        return []
    runs = sum(len(_runs(sorted(placed[a.id]))) for a in awards if placed.get(a.id))
    fixed = _level_row(np.array([value]), value, True, tol)[1]
    if runs > _fewest_awards(awards, fixed) + _EPS:
        return []
    return ["value: greedy meets the bound", "runs: greedy meets the bound"]


def _value_bound(ix: _Index, awards: Sequence[SlotAward]) -> float:
    """An upper bound on the placed value: on each resource, the best set of its awards
    whose slots add up to no more than the slots any of them may take (a 0-1 knapsack,
    solved exactly by dynamic programming over the slot count; its fractional relaxation,
    the heaviest slots first, where the table would exceed ``_KNAPSACK_CELLS``).

    Valid because a placement gives each slot of a resource to at most one award (at most
    ``groups_per_slot`` on a shared resource) and places
    an award with all its slots or none; bundles and impossible dates only lower the
    optimum."""
    per_res: dict[str, list[SlotAward]] = {}
    for a in awards:
        per_res.setdefault(a.resource, []).append(a)
    total = 0.0
    for mine in per_res.values():
        # awards of one key share one list of allowed slots: each list counted once
        lists = {id(ix.allowed[a.id]): ix.allowed[a.id] for a in mine}
        # a shared resource's slot holds ``groups_per_slot`` awards
        # (less the places booked outside the problem)
        grid = ix.grids[mine[0].resource]
        room = sum(grid[k].places for k in set().union(*lists.values()))
        if sum(a.slots for a in mine) <= room:
            total += sum(a.weight * a.slots for a in mine)
        elif len(mine) * (room + 1) <= _KNAPSACK_CELLS:
            best = np.zeros(room + 1)  # best[c]: the most value in at most c slots
            for a in mine:
                if a.slots <= room:
                    cand = best[: room + 1 - a.slots] + a.weight * a.slots
                    best[a.slots :] = np.maximum(best[a.slots :], cand)
            total += float(best[room])
        else:
            for a in sorted(mine, key=lambda a: -a.weight):
                if room <= 0:
                    break
                take = min(a.slots, room)
                total += a.weight * take
                room -= take
    return total


#: the largest dynamic-programming table (awards x slots) the value bound builds
_KNAPSACK_CELLS = 20_000_000


def _fewest_awards(awards: Sequence[SlotAward], value: float) -> int:
    """The fewest awards whose full value (weight x slots) adds up to ``value``: a lower
    bound on the awards, hence on the runs, of any placement worth at least ``value``."""
    got = 0.0
    for n, v in enumerate(sorted((a.weight * a.slots for a in awards), reverse=True)):
        if got >= value:
            return n
        got += v
    return len(awards)


def _level_row(
    c: np.ndarray, value: float, maximize: bool, least: float | None = None
) -> tuple[dict[int, float], float, float]:
    """The row that keeps level ``c`` at ``value`` (a relative ``_EPS``, or ``least``
    where smaller: a value level's tolerance, ``model.value_tolerance``)."""
    tol = _EPS * max(1.0, abs(value))
    if least is not None:
        tol = min(tol, least)
    coef = {int(j): float(c[j]) for j in np.flatnonzero(c)}
    return (coef, value - tol, np.inf) if maximize else (coef, -np.inf, value + tol)
