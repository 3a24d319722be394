"""Greedy construction, repair and polish: the warm start of the exact program
(``opencall.optim.slots.exact``) and its answer when no solve is asked for or allowed.

References
----------
.. [3] Pinedo, M. L. (2016). *Scheduling: Theory, Algorithms, and Systems*, 5th ed.,
   Springer, ch. 3 (list scheduling by priority as a construction heuristic).
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from opencall.optim.messages import M_
from opencall.optim.slots.calendar import owner
from opencall.optim.slots.check import evaluate
from opencall.optim.slots.index import _Index, _index, _runs, is_same_time
from opencall.optim.slots.problem import SlotAward, SlotProblem
from opencall.optim.slots.result import SlotSchedule, Unplaced
from opencall.optim.ties import tie_ranks

#: The slots taken so far, by resource id; on a resource with a changeover, also by
#: ``(resource id, owner)``: the slots of each owner, so that another owner keeps clear;
#: on a shared resource (``groups_per_slot`` above 1) the full slots by resource id and
#: the others by level (``_levels``).
Taken = dict[str | tuple[str, str], set[int]]


def _levels(ix: _Index, resource: str) -> list[str | tuple[str, str]]:
    """The keys of ``Taken`` that count a resource's slots, emptiest level last: on a
    resource whose slots hold ``g`` groups, ``(resource, "#n")`` holds the slots given to
    ``n`` awards or more (``n`` from 1 to ``g - 1``) and ``resource`` itself the full ones,
    so that the free slots stay ``allowed - taken[resource]``. (A shared resource has no
    changeover, so no owner's key meets these.)"""
    g = ix.res[resource].groups_per_slot
    return [*((resource, f"#{n}") for n in range(1, g)), resource]


def _booked_places(ix: _Index) -> Taken:
    """Nothing taken yet but the places booked outside the problem or closed by an item
    out of service (``Resource.fewer``): a slot with ``n`` of them (``Slot.places`` that
    many below ``groups_per_slot``) starts in the first ``n`` levels (``_levels``), as if
    ``n`` awards held it."""
    taken: Taken = {}
    for rid, r in ix.res.items():
        if r.groups_per_slot <= 1 and not r.fewer:
            continue
        levels = _levels(ix, rid)
        for s in ix.grids[rid]:
            for key in levels[: r.groups_per_slot - s.places]:
                taken.setdefault(key, set()).add(s.index)
    return taken


def _take(ix: _Index, taken: Taken, a: SlotAward, ks: Iterable[int]) -> None:
    ks = set(ks)
    if ix.res[a.resource].groups_per_slot > 1:
        levels = [taken.setdefault(key, set()) for key in _levels(ix, a.resource)]
        for k in ks:
            next(level for level in levels if k not in level).add(k)
        return
    taken.setdefault(a.resource, set()).update(ks)
    if ix.res[a.resource].changeover:
        taken.setdefault((a.resource, owner(a)), set()).update(ks)


def _release(ix: _Index, taken: Taken, a: SlotAward, ks: Iterable[int]) -> None:
    ks = set(ks)
    if ix.res[a.resource].groups_per_slot > 1:
        levels = [taken[key] for key in _levels(ix, a.resource)]
        for k in ks:
            next(level for level in reversed(levels) if k in level).discard(k)
        return
    taken[a.resource] -= ks
    if ix.res[a.resource].changeover:
        taken[(a.resource, owner(a))] -= ks


def _copy(taken: Taken) -> Taken:
    return {r: set(v) for r, v in taken.items()}


def _free_allowed(ix: _Index, a: SlotAward, taken: Taken) -> np.ndarray:
    """The slots ``a`` may take (sorted): allowed, free, and (on a resource with a
    changeover) more than the changeover away from every slot another proposal has taken,
    and overlapping no slot taken on another resource of its exclusive group."""
    used = taken.get(a.resource, set())
    allowed = ix.allowed_arr[a.id]
    if ix.siblings.get(a.resource):
        # the instrument in use on another resource of its exclusive group: not free
        allowed = allowed[~ix.blocked_by_siblings(a.resource, taken)[allowed]]
    if not used:
        return allowed
    free = allowed[~np.isin(allowed, np.fromiter(used, dtype=np.int64, count=len(used)))]
    c = ix.res[a.resource].changeover
    mine = taken.get((a.resource, owner(a)), set())
    if not c or len(mine) == len(used):
        return free
    others = np.sort(np.fromiter(used - mine, dtype=np.int64))
    # the first slot another proposal has taken at or after k - c must lie past k + c
    i = np.searchsorted(others, free - c, side="left")
    past = others[np.minimum(i, others.size - 1)] > free + c
    kept: np.ndarray = free[(i == others.size) | past]
    return kept


def _place_single(
    ix: _Index, a: SlotAward, taken: Taken, near: float | None = None
) -> list[int] | None:
    """Slots for ``a``: a contiguous block if any (the earliest, or the nearest to ``near``
    hours), else the fewest runs (longest free runs first), else (an unbroken award, whose
    slots are one run or nothing) None."""
    free = _free_allowed(ix, a, taken)
    if len(free) < a.slots:
        return None
    n = a.slots
    # the first slot of every contiguous block of n free slots, in time order
    blocks = free[: free.size - n + 1][free[n - 1 :] - free[: free.size - n + 1] == n - 1]
    if blocks.size:
        if near is None:
            b = int(blocks[0])
        else:
            s = ix.start_hours[a.resource][blocks]
            e = s + n * ix.res[a.resource].slot_hours
            dist = np.maximum(np.maximum(0.0, near - e), s - near) + 1e-9 * s
            b = int(blocks[int(np.argmin(dist))])  # the first of equal distances
        return list(range(b, b + n))
    if a.unbroken:
        return None  # one run or nothing (a crop cannot pause)
    runs = _runs(free)
    chosen: list[int] = []
    for k0, length in sorted(runs, key=lambda r: (-r[1], r[0])):
        chosen.extend(range(k0, k0 + min(length, a.slots - len(chosen))))
        if len(chosen) == a.slots:
            break
    return sorted(chosen)


def _span(ix: _Index, placed: dict[str, list[int]], unit: list[SlotAward]) -> float:
    lo, hi = math.inf, -math.inf
    for a in unit:
        for k in placed.get(a.id, ()):
            lo, hi = min(lo, ix.hours(a.resource, k)), max(hi, ix.end_hours(a.resource, k))
    return hi - lo if hi > lo else 0.0


def _place_unit(ix: _Index, unit: list[SlotAward], taken: Taken) -> dict[str, list[int]] | None:
    """A placement of a whole unit with ``taken`` updated, or None (``taken`` unchanged)."""
    if is_same_time(unit):
        return _place_same_time(ix, unit, taken)
    together = len(unit) > 1 and any(a.together for a in unit)
    if not together:
        trial = _copy(taken)
        out: dict[str, list[int]] = {}
        for a in sorted(unit, key=lambda a: (-a.slots, a.id)):
            ks = _place_single(ix, a, trial)
            if ks is None:
                return None
            _take(ix, trial, a, ks)
            out[a.id] = ks
        taken.clear()
        taken.update(trial)
        return out
    best: tuple[float, int, dict[str, list[int]]] | None = None
    order = sorted(unit, key=lambda a: (-a.slots, a.id))
    for first in order:
        free_first = set(_free_allowed(ix, first, taken).tolist())
        for k in sorted(free_first):
            ks = list(range(k, k + first.slots))
            if not all(j in free_first for j in ks):
                continue
            trial = _copy(taken)
            _take(ix, trial, first, ks)
            out = {first.id: ks}
            ok = True
            for a in order:
                if a is first:
                    continue
                anchor = ix.hours(first.resource, k)
                got = _place_single(ix, a, trial, near=anchor)
                if got is None:
                    ok = False
                    break
                _take(ix, trial, a, got)
                out[a.id] = got
            if not ok:
                continue
            runs = sum(len(_runs(v)) for v in out.values())
            key = (_span(ix, out, unit), runs)
            if best is None or key < best[:2]:
                best = (key[0], key[1], out)
    if best is None:
        # no contiguous block for the first award: place as a non-together unit
        return _place_unit(ix, [replace(a, together=False) for a in unit], taken)
    for a in unit:
        _take(ix, taken, a, best[2][a.id])
    return best[2]


def _place_same_time(
    ix: _Index, unit: list[SlotAward], taken: Taken
) -> dict[str, list[int]] | None:
    """A same-time bundle: the instants free on every resource of the unit (``_same_time``
    kept each award's slots to those common to all), the earliest contiguous block of them,
    else the earliest; None when too few are free."""
    first = unit[0]
    frees = [_free_allowed(ix, a, taken) for a in unit]
    starts = [
        {ix.grids[a.resource][k].start: k for k in free.tolist()}
        for a, free in zip(unit, frees, strict=True)
    ]
    common = sorted(set(starts[0]).intersection(*starts[1:]))
    n = first.slots
    if len(common) < n:
        return None
    ks0 = [starts[0][t] for t in common]
    chosen = common[:n]
    for i in range(len(ks0) - n + 1):
        if all(
            starts[j][common[i + n - 1]] - starts[j][common[i]] == n - 1 for j in range(len(unit))
        ):
            chosen = common[i : i + n]
            break
    else:
        if any(a.unbroken for a in unit) and n > 1:
            return None  # an unbroken award is one run or nothing
    out = {a.id: [by_start[t] for t in chosen] for a, by_start in zip(unit, starts, strict=True)}
    for a in unit:
        _take(ix, taken, a, out[a.id])
    return out


def _unit_value(unit: list[SlotAward]) -> float:
    return sum(a.weight * a.slots for a in unit)


def _unit_id(unit: list[SlotAward]) -> str:
    """A unit's stable id (the least id of its awards), whatever the input's order."""
    return min(a.id for a in unit)


def unit_ties(units: Sequence[list[SlotAward]], seed: int) -> dict[int, int]:
    """Each unit's place in the seeded tie-break (0: first), keyed by ``id(unit)``: it
    depends on the seed and the unit's stable id only (``opencall.optim.ties``)."""
    ranks = tie_ranks([_unit_id(u) for u in units], seed)
    return {id(u): int(r) for u, r in zip(units, ranks, strict=True)}


def greedy(problem: SlotProblem, *, seed: int = 0) -> SlotSchedule:
    """Priority list scheduling ([3]_) followed by a repair pass and a polish.

    Units (bundles, single awards) are placed in decreasing order of value per slot, then
    size, then the seeded tie-break (``seed`` and the unit's id, never its position); each
    takes its earliest contiguous block (a bundle kept together takes the
    placement of least span). Repair: each unit left out is tried again after lifting one
    placed unit of lower value, which is then placed again elsewhere; the swap is kept when
    both fit. Polish: each placed unit is lifted and placed again around the others while
    that shortens its span or its runs (``_polish``).

    Parameters
    ----------
    problem : SlotProblem
        Resources and awards; validated first (``ValueError`` naming the first bad input).
    seed : int
        Seed of the tie-break between units of equal value per slot and size.

    Returns
    -------
    SlotSchedule
        ``method="greedy"``; every award not placed carries its reason.
    """
    t0 = time.perf_counter()
    problem.validate()
    ix = _index(problem)
    built = _greedy(ix, seed=seed)
    return _result(ix, built.placed, "greedy", time.perf_counter() - t0)


@dataclass
class _Built:
    """The greedy's placement; when a deadline stopped it, the awards of the units it never
    tried (with the reason) and where it stopped."""

    placed: dict[str, list[int]]
    late: dict[str, Unplaced] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() >= deadline


def _greedy(ix: _Index, deadline: float | None = None, seed: int = 0) -> _Built:
    """Construction, repair and polish; each stops at ``deadline`` (``time.perf_counter``)
    with the feasible placement it holds: the units not yet tried are left out saying so,
    the repair and the polish end where they are."""
    units = [u for u in ix.units if not any(a.id in ix.pre_unplaced for a in u)]
    tie = unit_ties(units, seed)
    units.sort(
        key=lambda u: (
            -_unit_value(u) / sum(a.slots for a in u),
            -sum(a.slots for a in u),
            tie[id(u)],
        )
    )
    taken = _booked_places(ix)
    placed: dict[str, list[int]] = {}
    left: list[list[SlotAward]] = []
    out = _Built(placed)
    for n, u in enumerate(units):
        if _past(deadline):
            _leave_untried(out, units, n)
            return out
        got = _place_unit(ix, u, taken)
        if got is None:
            left.append(u)
        else:
            placed.update(got)
    _repair(ix, units, left, taken, out, deadline)
    out.placed = _polish(ix, placed, deadline=deadline)
    if _past(deadline) and not out.stages:
        out.stages.append("greedy: time limit reached in the polish")
    return out


def _leave_untried(out: _Built, units: list[list[SlotAward]], n: int) -> None:
    """The construction reached the time limit before ``units[n:]``: each is left out
    saying so."""
    for v in units[n:]:
        for a in v:
            out.late[a.id] = Unplaced.saying(
                a.id, "time_limit", M_("the time limit was reached before it was tried")
            )
    out.stages.append(
        f"greedy: time limit reached after {n} of {len(units)} units, the rest not tried"
    )


def _repair(
    ix: _Index,
    units: list[list[SlotAward]],
    left: list[list[SlotAward]],
    taken: Taken,
    out: _Built,
    deadline: float | None,
) -> None:
    """Repair: lift one lower-value placed unit, place the left-out one, re-place the
    lifted one (the placed units are visited in the order of ``units``, as a scan of every
    unit did; with 2,000 awards for 30 slots that scan was 4 million checks)."""
    position = {id(u): k for k, u in enumerate(units)}
    placed_at = sorted(position[id(u)] for u in units if u[0].id in out.placed)
    for u in left:
        if _past(deadline):
            out.stages.append("greedy: time limit reached in the repair")
            break
        trial = _swap_in(ix, u, [units[k] for k in placed_at], taken, out.placed)
        if trial is not None:
            taken = trial
            bisect.insort(placed_at, position[id(u)])


def _swap_in(
    ix: _Index,
    u: list[SlotAward],
    placed_units: list[list[SlotAward]],
    taken: Taken,
    placed: dict[str, list[int]],
) -> Taken | None:
    """The slots taken once ``u`` is placed by lifting the first placed unit of no more
    value on a resource of ``u`` and placing it again (``placed`` updated); None when
    no such swap places both."""
    for v in placed_units:
        if v is u or _unit_value(v) > _unit_value(u):
            continue
        if not {a.resource for a in v} & {a.resource for a in u}:
            continue
        trial = _copy(taken)
        for a in v:
            _release(ix, trial, a, placed[a.id])
        got_u = _place_unit(ix, u, trial)
        if got_u is None:
            continue
        got_v = _place_unit(ix, v, trial)
        if got_v is None:
            continue
        placed.update(got_u)
        placed.update(got_v)
        return trial
    return None


def _polish(
    ix: _Index,
    placed: dict[str, list[int]],
    passes: int = 3,
    deadline: float | None = None,
) -> dict[str, list[int]]:
    """Local improvement of span and runs with the placed set kept: each placed unit in turn
    is lifted and placed again (least span, earliest contiguous block) around the others;
    the move is kept when the unit's (span, runs) gets smaller."""
    placed = {k: list(v) for k, v in placed.items()}
    taken = _booked_places(ix)
    award = {a.id: a for a in ix.problem.awards}
    for aid, ks in placed.items():
        _take(ix, taken, award[aid], ks)
    units = [u for u in ix.units if all(placed.get(a.id) for a in u)]
    for _ in range(passes):
        improved = False
        for u in units:
            if _past(deadline):
                return placed
            before = _score(ix, placed, u)
            if before <= _bound(ix, u):
                continue  # already as short and as contiguous as it can be
            improved = _replace(ix, u, taken, placed, before) or improved
        if not improved:
            break
    return placed


def _score(ix: _Index, pl: dict[str, list[int]], u: list[SlotAward]) -> tuple[float, int]:
    """A placed unit's (span of a together-bundle, runs), smaller is better."""
    together = len(u) > 1 and any(a.together for a in u)
    return (
        _span(ix, pl, u) if together else 0.0,
        sum(len(_runs(sorted(pl[a.id]))) for a in u),
    )


def _bound(ix: _Index, u: list[SlotAward]) -> tuple[float, int]:
    """The least :func:`_score` ``u`` can have: its longest award's span, one run each."""
    together = len(u) > 1 and any(a.together for a in u)
    return (
        max(a.slots * ix.res[a.resource].slot_hours for a in u) if together else 0.0,
        len(u),
    )


def _replace(
    ix: _Index,
    u: list[SlotAward],
    taken: Taken,
    placed: dict[str, list[int]],
    before: tuple[float, int],
) -> bool:
    """Lift ``u`` and place it again around the others: kept (``placed`` and ``taken``
    updated, True) when its score gets smaller than ``before``, else put back."""
    for a in u:
        _release(ix, taken, a, placed[a.id])
    got = _place_unit(ix, u, taken)
    if got is not None and _score(ix, got, u) < before:
        placed.update(got)
        return True
    if got is not None:
        for a in u:
            _release(ix, taken, a, got[a.id])
    for a in u:
        _take(ix, taken, a, placed[a.id])
    return False


def _result(
    ix: _Index,
    placed: dict[str, list[int]],
    method: str,
    wall: float,
    stages: list[str] | None = None,
    late: Mapping[str, Unplaced] | None = None,
) -> SlotSchedule:
    starts = {
        aid: tuple(ix.grids[ix.res_of[aid]][k].start for k in sorted(ks))
        for aid, ks in placed.items()
        if ks
    }
    unplaced = dict(ix.pre_unplaced)
    unplaced.update(late or {})
    for a in ix.problem.awards:
        if a.id not in starts and a.id not in unplaced:
            unplaced[a.id] = Unplaced.saying(
                a.id,
                "capacity",
                M_(
                    "the usable slots it could take are given to awards of higher value"
                    " or its bundle could not be placed whole"
                )
                if a.bundle is not None
                else M_("the usable slots it could take are given to awards of higher value"),
            )
    v, s, r = evaluate(ix.problem, starts)
    return SlotSchedule(starts, unplaced, v, s, r, method, wall, stages or [])


def _place_set(
    ix: _Index, units: Sequence[list[SlotAward]], placed: Mapping[str, Sequence[int]]
) -> dict[str, list[int]] | None:
    """The units that ``placed`` places whole, placed again from an empty calendar as the
    greedy would (bundles kept together first, then by value per slot; each unit its
    least-span, earliest contiguous placement) and polished; None when one of them no
    longer fits that way."""
    chosen = [u for u in units if all(placed.get(a.id) for a in u)]
    chosen.sort(
        key=lambda u: (
            not (len(u) > 1 and any(a.together for a in u)),
            -_unit_value(u) / sum(a.slots for a in u),
            -sum(a.slots for a in u),
            _unit_id(u),
        )
    )
    taken = _booked_places(ix)
    out: dict[str, list[int]] = {}
    for u in chosen:
        got = _place_unit(ix, u, taken)
        if got is None:
            return None
        out.update(got)
    return _polish(ix, out)
