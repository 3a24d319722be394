"""Placing awarded slots of slot-based resources (a microscope's 24-hour sessions, a
beamline's 8-hour shifts) into the resource's calendar.

A resource offers consecutive slots of ``slot_hours`` from ``start`` to ``end``; a slot that
overlaps an unavailable period (maintenance, a holiday) is not usable. Each award asks for a
number of slots on one resource; the applicant may have declared dates on which a slot is
impossible. Awards of one proposal that share a bundle key are all-or-nothing: either every
award of the bundle is placed or none is; when the bundle asks to be kept together, its span
(first slot start to last slot end, across resources) is made as short as possible, e.g.
screening on one microscope and data collection on the other within a few days.

Objective, lexicographic (``SlotSchedule.objective``):

1. maximise the placed value ``sum(weight * slots)`` over fully placed awards;
2. minimise the total span in hours of the placed bundles (of two awards or more) that ask
   to be kept together;
3. minimise the number of runs (maximal blocks of time-consecutive slots) of the awards, i.e.
   keep each award's slots contiguous where possible.

Solved exactly by a 0-1 integer program (HiGHS, one solve per level, each level's optimum
fixed as a constraint for the next, the usual pre-emptive goal programming of [1]_) with a
greedy construction plus repair as a warm start and as a fallback when the solver is not
asked for or stops at its time limit. Awards that are not placed carry a reason.

References
----------
.. [1] Ignizio, J. P. (1976). *Goal Programming and Extensions*. Lexington Books.
.. [2] Huangfu, Q., Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
   *Mathematical Programming Computation* 10, 119-142 (the HiGHS solver).
.. [3] Pinedo, M. L. (2016). *Scheduling: Theory, Algorithms, and Systems*, 5th ed.,
   Springer, ch. 3 (list scheduling by priority as a construction heuristic).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from opencall.optim import limits, wallclock
from opencall.optim.allocation import solve_mip
from opencall.optim.messages import Message, message, render

if TYPE_CHECKING:
    import scipy.sparse as sp

UTC = dt.UTC
_EPS = 1e-6
#: the most slots one resource may have (a year of 5-minute slots is 105,120): the grid is
#: enumerated, so a slot of 1e-9 h over two days (1.7e14 slots) ran without end
MAX_SLOTS = 1_000_000


@dataclass(frozen=True)
class Resource:
    """A slot-based resource.

    Attributes
    ----------
    id : str
        Identifier.
    start, end : datetime.datetime
        Timezone-aware; the first slot starts at ``start``; slots end at or before ``end``.
    slot_hours : float
        Length of one slot.
    unavailable : tuple of (start, end, reason)
        Half-open periods ``[start, end)`` in which the resource cannot be used.
    not_before : datetime.datetime or None
        When the schedule is made: a slot that begins before it has begun and is not
        usable (its reason is :data:`BEGUN`).
    time_zone : str
        The IANA zone whose wall clock the slots keep (``optim.wallclock``): 8-hour shifts
        from 00:00 in Europe/Berlin stay 00:00-08:00 local across a daylight saving
        change, lasting 7 or 9 hours that night. Empty: slots of ``slot_hours`` of real
        time from ``start``.
    changeover : int
        Slots left free between two bookings of different proposals (changing an
        insert, a probe, a configuration): a slot of one proposal and a slot of another
        are more than ``changeover`` slots apart on the grid (0: back to back). The same
        proposal's slots need none. Slots between them count whatever they are
        (unavailable, begun).
    booked : tuple of (start, end, owner)
        Slots booked outside this problem (another call's, this call's slots that have
        begun), with the proposal they belong to: no award of another proposal takes a
        slot within ``changeover`` of them. They are not usable themselves only when
        ``unavailable`` or ``not_before`` says so.
    wall_start : datetime.datetime or None
        With ``time_zone``: the naive local time the slots count from, whose instant is
        ``start`` (``wallclock.grid``); needed when the period starts at a skipped time
        (00:00 in America/Santiago on the day the clocks go to 01:00), else the slots
        count from the jump's reading, an hour late. None: the local time of ``start``.
    """

    id: str
    start: dt.datetime
    end: dt.datetime
    slot_hours: float
    unavailable: tuple[tuple[dt.datetime, dt.datetime, str], ...] = ()
    not_before: dt.datetime | None = None
    time_zone: str = ""
    changeover: int = 0
    booked: tuple[tuple[dt.datetime, dt.datetime, str], ...] = ()
    wall_start: dt.datetime | None = None


#: The reason of a slot that has begun by the time the schedule is made.
BEGUN = "already begun"


@dataclass(frozen=True)
class SlotAward:
    """An award of ``slots`` slots on ``resource``.

    Attributes
    ----------
    id : str
        Identifier.
    resource : str
        The resource's id.
    slots : int
        Number of slots awarded (>= 1).
    proposal : str
        The proposal; bundles are per proposal.
    impossible : tuple of (start, end)
        Half-open periods the applicant cannot use; a slot overlapping one is not allowed.
    bundle : str or None
        All-or-nothing bundle key within the proposal.
    together : bool
        Keep the bundle close together in time (minimise its span); a bundle is kept together
        when any of its awards asks for it.
    weight : float
        Value of one placed slot (merit); > 0.
    """

    id: str
    resource: str
    slots: int
    proposal: str = ""
    impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    bundle: str | None = None
    together: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class SlotProblem:
    resources: tuple[Resource, ...]
    awards: tuple[SlotAward, ...]

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first malformed input."""
        ids = [r.id for r in self.resources]
        if len(set(ids)) != len(ids):
            raise ValueError("resource ids must be unique")
        for r in self.resources:
            if r.start.tzinfo is None or r.end.tzinfo is None:
                raise ValueError(f"resource {r.id}: start and end must be timezone-aware")
            if not (math.isfinite(r.slot_hours) and r.slot_hours > 0):
                raise ValueError(f"resource {r.id}: slot_hours must be a positive number")
            if r.end <= r.start:
                raise ValueError(f"resource {r.id}: end must be after start")
            if r.time_zone:
                wallclock.zone(r.time_zone)  # ValueError naming an unknown zone
            if r.wall_start is not None and r.time_zone:
                if r.wall_start.tzinfo is not None:
                    raise ValueError(f"resource {r.id}: wall_start is a naive local time")
                if wallclock.local_instant(r.wall_start, r.time_zone) != r.start:
                    raise ValueError(
                        f"resource {r.id}: wall_start {r.wall_start.isoformat()} is not the "
                        f"local time of its start in {r.time_zone}"
                    )
            n_slots = (r.end - r.start).total_seconds() / 3600.0 / r.slot_hours
            if n_slots > MAX_SLOTS:
                raise ValueError(
                    f"resource {r.id}: {n_slots:.3g} slots of {r.slot_hours:g} h between its "
                    f"start and end, more than the {MAX_SLOTS:,} a resource may have"
                )
            if r.not_before is not None and r.not_before.tzinfo is None:
                raise ValueError(f"resource {r.id}: not_before must be timezone-aware")
            for u0, u1, _ in r.unavailable:
                if u0.tzinfo is None or u1.tzinfo is None:
                    raise ValueError(f"resource {r.id}: unavailable periods must be timezone-aware")
                if u1 <= u0:
                    raise ValueError(
                        f"resource {r.id}: an unavailable period must end after it starts"
                    )
            if not isinstance(r.changeover, numbers.Integral) or r.changeover < 0:
                raise ValueError(
                    f"resource {r.id}: changeover must be a whole number of slots, 0 or more"
                )
            for b0, b1, _ in r.booked:
                if b0.tzinfo is None or b1 <= b0:
                    raise ValueError(
                        f"resource {r.id}: a booked slot must be timezone-aware and end "
                        "after it starts"
                    )
        aids = [a.id for a in self.awards]
        if len(set(aids)) != len(aids):
            raise ValueError("award ids must be unique")
        for a in self.awards:
            if not isinstance(a.slots, numbers.Integral) or a.slots < 1:
                raise ValueError(f"award {a.id}: slots must be at least 1, a whole number")
            if not (math.isfinite(a.weight) and a.weight > 0):
                raise ValueError(f"award {a.id}: weight must be a positive number")
            for i0, i1 in a.impossible:
                if i0.tzinfo is None or i1.tzinfo is None:
                    raise ValueError(f"award {a.id}: impossible periods must be timezone-aware")
                # one of no length (or backwards) made the slot around it unusable
                if i1 <= i0:
                    raise ValueError(f"award {a.id}: an impossible period must end after it starts")


@dataclass(frozen=True)
class Slot:
    """One slot of a resource's calendar."""

    index: int
    start: dt.datetime
    end: dt.datetime
    reason: str  # "" when usable, else the unavailable period's reason


def slot_grid(resource: Resource) -> list[Slot]:
    """Every slot of ``resource``; a slot that begins before ``resource.not_before`` carries
    :data:`BEGUN`, another overlapping an unavailable period its reason (``"unavailable"``
    when the period gives none)."""
    out: list[Slot] = []
    bounds = wallclock.grid(
        resource.start, resource.end, resource.slot_hours, resource.time_zone, resource.wall_start
    )
    for k, (t, t_end) in enumerate(bounds):
        reason = BEGUN if resource.not_before is not None and t < resource.not_before else ""
        for u0, u1, why in () if reason else resource.unavailable:
            if u0 < t_end and t < u1:
                reason = why or "unavailable"
                break
        out.append(Slot(k, t, t_end, reason))
    return out


def owner(award: SlotAward) -> str:
    """Whose booking a slot of ``award`` is, for the changeover: its proposal (the award
    itself when it names none)."""
    return award.proposal or f"award {award.id}"


def booked_indices(resource: Resource, grid: Sequence[Slot]) -> list[tuple[int, str]]:
    """``(slot index, owner)`` of every slot of ``grid`` that a slot in
    ``resource.booked`` overlaps."""
    starts = [g.start for g in grid]
    out = []
    for b0, b1, who in resource.booked:
        k = max(bisect.bisect_right(starts, b0) - 1, 0)
        while k < len(grid) and grid[k].start < b1:
            if grid[k].end > b0:
                out.append((k, who))
            k += 1
    return out


def changeover_clashes(
    resource: Resource, grid: Sequence[Slot], placed: Iterable[tuple[int, str]]
) -> list[str]:
    """Every pair of slots of different owners closer than ``resource.changeover`` slots,
    one of them ``placed`` (``(slot index, owner)``; the others are ``resource.booked``)."""
    c = resource.changeover
    if c <= 0:
        return []
    marks = sorted(
        {(k, who, True) for k, who in placed}
        | {(k, who, False) for k, who in booked_indices(resource, grid)}
    )
    out = []
    for i, (k, who, mine) in enumerate(marks):
        j = i + 1
        while j < len(marks) and marks[j][0] - k <= c:
            k2, who2, mine2 = marks[j]
            j += 1
            if who2 != who and (mine or mine2):
                out.append(
                    f"{resource.id}: {grid[k].start.isoformat()} ({who}) and "
                    f"{grid[k2].start.isoformat()} ({who2}) are closer than its changeover "
                    f"of {c} slots"
                )
    return out


def date_ranges(
    ranges: Iterable[Sequence[str | dt.date]], time_zone: str = ""
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """Inclusive date ranges ``[first, last]`` (ISO strings or dates) as half-open UTC periods
    ``[first 00:00, last+1 00:00)``, midnights of ``time_zone`` (the resource's site, UTC
    when empty); a range given backwards is read forwards."""
    out = []
    for pair in ranges:
        d0, d1 = (p if isinstance(p, dt.date) else dt.date.fromisoformat(str(p)) for p in pair)
        d0, d1 = min(d0, d1), max(d0, d1)
        out.append(
            (
                wallclock.local_instant(dt.datetime.combine(d0, dt.time()), time_zone),
                wallclock.local_instant(
                    dt.datetime.combine(d1 + dt.timedelta(days=1), dt.time()), time_zone
                ),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Unplaced:
    award: str
    reason: str  # "no_usable_slots" | "bundle" | "unknown_resource" | "capacity"
    detail: str
    #: ``detail`` as a message id and parameters, for translation (``optim.messages``)
    message: Message | None = field(default=None, compare=False)

    @classmethod
    def saying(cls, award: str, reason: str, template: str, **params: object) -> Unplaced:
        """An unplaced award whose ``detail`` is ``template`` filled with ``params``."""
        msg = message(template, **params)
        return cls(award, reason, render(msg), msg)


@dataclass
class SlotSchedule:
    """The placement: slot start times per placed award, and why the others are not placed."""

    starts: dict[str, tuple[dt.datetime, ...]]
    unplaced: dict[str, Unplaced]
    value: float
    span_hours: float
    runs: int
    method: str  # "milp" (proved optimal), "milp_time_limit", "greedy"
    wall_s: float = 0.0
    stages: list[str] = field(default_factory=list)

    @property
    def objective(self) -> tuple[float, float, int]:
        return (self.value, self.span_hours, self.runs)

    def check(self, problem: SlotProblem) -> list[str]:
        """Violated constraints, as messages (empty when the placement is feasible)."""
        return check(problem, self.starts)


def evaluate(
    problem: SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]
) -> tuple[float, float, int]:
    """The objective ``(value, span_hours, runs)`` of a placement (see the module doc)."""
    res = {r.id: r for r in problem.resources}
    value = 0.0
    runs = 0
    groups: dict[tuple[str, str | None], list[tuple[dt.datetime, dt.datetime]]] = {}
    size: dict[tuple[str, str | None], int] = {}
    for a in problem.awards:
        size[(a.proposal, a.bundle)] = size.get((a.proposal, a.bundle), 0) + 1
    together = {
        (a.proposal, a.bundle)
        for a in problem.awards
        if a.bundle is not None and a.together and size[(a.proposal, a.bundle)] > 1
    }
    ends = {
        r.id: dict(wallclock.grid(r.start, r.end, r.slot_hours, r.time_zone, r.wall_start))
        for r in problem.resources
    }
    for a in problem.awards:
        ts = sorted(starts.get(a.id, ()))
        if not ts:
            continue
        step = dt.timedelta(hours=res[a.resource].slot_hours)
        end = ends[a.resource]
        value += a.weight * a.slots
        # a slot's end is the next one's start: a run goes on through the night the
        # clocks change (a 7-hour shift) as through any other
        runs += 1 + sum(1 for p, q in zip(ts, ts[1:], strict=False) if q != end.get(p, p + step))
        if (a.proposal, a.bundle) in together:
            groups.setdefault((a.proposal, a.bundle), []).extend(
                (t, end.get(t, t + step)) for t in ts
            )
    span = sum(
        (max(e for _, e in iv) - min(s for s, _ in iv)).total_seconds() / 3600.0
        for iv in groups.values()
    )
    return (value, span, runs)


def check(problem: SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]) -> list[str]:
    """Every hard constraint of the problem, checked on a placement."""
    errors: list[str] = []
    res = {r.id: r for r in problem.resources}
    grids = {r.id: {s.start: s for s in slot_grid(r)} for r in problem.resources}
    taken: dict[tuple[str, dt.datetime], str] = {}
    for a in problem.awards:
        ts = list(starts.get(a.id, ()))
        if not ts:
            continue
        if a.resource not in res:
            errors.append(f"{a.id}: placed on an unknown resource")
            continue
        if len(ts) != a.slots or len(set(ts)) != len(ts):
            errors.append(f"{a.id}: {len(ts)} distinct slots placed, {a.slots} awarded")
        for t in ts:
            s = grids[a.resource].get(t)
            if s is None:
                errors.append(f"{a.id}: {t.isoformat()} is not a slot start")
                continue
            if s.reason:
                errors.append(f"{a.id}: {t.isoformat()} is in an unavailable period")
            if any(i0 < s.end and t < i1 for i0, i1 in a.impossible):
                errors.append(f"{a.id}: {t.isoformat()} is on a date declared impossible")
            other = taken.setdefault((a.resource, t), a.id)
            if other != a.id:
                errors.append(f"{a.id}: {t.isoformat()} is also given to {other}")
    owners = {a.id: owner(a) for a in problem.awards}
    for rid, r in res.items():
        if r.changeover > 0:
            grid = sorted(grids[rid].values(), key=lambda g: g.index)
            marks = [
                (grids[rid][t].index, owners[aid])
                for (r2, t), aid in taken.items()
                if r2 == rid and t in grids[rid]
            ]
            errors.extend(changeover_clashes(r, grid, marks))
    bundles: dict[tuple[str, str], list[SlotAward]] = {}
    for a in problem.awards:
        if a.bundle is not None:
            bundles.setdefault((a.proposal, a.bundle), []).append(a)
    for (p, b), members in bundles.items():
        placed = {bool(starts.get(m.id)) for m in members}
        if len(placed) > 1:
            errors.append(f"bundle {b} of {p}: only part of it is placed")
    return errors


# ------------------------------------------------------------------------------------------
# Internal index form
# ------------------------------------------------------------------------------------------


@dataclass
class _Index:
    problem: SlotProblem
    grids: dict[str, list[Slot]]
    allowed: dict[str, list[int]]  # award -> usable slot indices on its resource
    units: list[list[SlotAward]]  # bundles (all-or-nothing) and single awards
    epoch: dt.datetime
    pre_unplaced: dict[str, Unplaced]
    res: dict[str, Resource]
    res_of: dict[str, str]
    owner: dict[str, str]  # award -> its owner for the changeover (``owner``)

    def hours(self, res_id: str, k: int) -> float:
        return (self.grids[res_id][k].start - self.epoch).total_seconds() / 3600.0

    def end_hours(self, res_id: str, k: int) -> float:
        """When slot ``k`` ends (hours from the epoch): its start plus its own length, which
        differs from ``slot_hours`` on the night a site's clocks change."""
        return (self.grids[res_id][k].end - self.epoch).total_seconds() / 3600.0


def _index(problem: SlotProblem) -> _Index:
    grids = {r.id: slot_grid(r) for r in problem.resources}
    epoch = min((r.start for r in problem.resources), default=dt.datetime(1970, 1, 1, tzinfo=UTC))
    allowed: dict[str, list[int]] = {}
    pre: dict[str, Unplaced] = {}
    res = {r.id: r for r in problem.resources}
    booked = {r.id: booked_indices(r, grids[r.id]) for r in problem.resources if r.changeover}
    for a in problem.awards:
        if a.resource not in grids:
            pre[a.id] = Unplaced.saying(
                a.id, "unknown_resource", "resource %(resource)s is not known", resource=a.resource
            )
            allowed[a.id] = []
            continue
        grid = grids[a.resource]
        ok = [
            s.index
            for s in grid
            if not s.reason and not any(i0 < s.end and s.start < i1 for i0, i1 in a.impossible)
        ]
        # the slots within the changeover of another proposal's booked slot
        c = res[a.resource].changeover
        others = sorted(k for k, who in booked.get(a.resource, ()) if who != owner(a))
        free = [k for k in ok if _clear(others, k, c)] if others else ok
        kept_free = len(ok) - len(free)
        ok = free
        allowed[a.id] = ok
        if len(ok) < a.slots:
            usable = sum(1 for s in grid if not s.reason)
            begun = sum(1 for s in grid if s.reason == BEGUN)
            counts = {
                "slots": a.slots,
                "ok": len(ok),
                "grid": len(grid),
                "off": len(grid) - usable - begun,
                "impossible": usable - len(ok) - kept_free,
            }
            pre[a.id] = (
                Unplaced.saying(
                    a.id,
                    "no_usable_slots",
                    "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots "
                    "are usable (%(begun)s already begun, %(off)s in unavailable periods, "
                    "%(changeover)s kept free for a changeover next to another proposal's "
                    "booked slots, %(impossible)s on dates the applicant declared impossible)",
                    begun=begun,
                    changeover=kept_free,
                    **counts,
                )
                if kept_free
                else Unplaced.saying(
                    a.id,
                    "no_usable_slots",
                    "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots "
                    "are usable (%(begun)s already begun, %(off)s in unavailable periods, "
                    "%(impossible)s on dates the applicant declared impossible)",
                    begun=begun,
                    **counts,
                )
                if begun
                else Unplaced.saying(
                    a.id,
                    "no_usable_slots",
                    "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots "
                    "are usable (%(off)s in unavailable periods, "
                    "%(impossible)s on dates the applicant declared impossible)",
                    **counts,
                )
            )
    units: list[list[SlotAward]] = []
    by_bundle: dict[tuple[str, str], list[SlotAward]] = {}
    for a in problem.awards:
        if a.bundle is None:
            units.append([a])
        else:
            key = (a.proposal, a.bundle)
            if key not in by_bundle:
                by_bundle[key] = []
                units.append(by_bundle[key])
            by_bundle[key].append(a)
    for unit in units:
        bad = [a.id for a in unit if a.id in pre]
        if bad and len(unit) > 1:
            for a in unit:
                if a.id not in pre:
                    pre[a.id] = Unplaced.saying(
                        a.id,
                        "bundle",
                        "all-or-nothing with %(others)s, which cannot be placed",
                        others=", ".join(bad),
                    )
    res_of = {a.id: a.resource for a in problem.awards}
    owners = {a.id: owner(a) for a in problem.awards}
    return _Index(problem, grids, allowed, units, epoch, pre, res, res_of, owners)


def _runs(ks: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs ``(first, length)`` of consecutive indices in a sorted sequence."""
    out: list[tuple[int, int]] = []
    for k in ks:
        if out and out[-1][0] + out[-1][1] == k:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((k, 1))
    return out


# ------------------------------------------------------------------------------------------
# Greedy construction and repair
# ------------------------------------------------------------------------------------------


#: The slots taken so far, by resource id; on a resource with a changeover, also by
#: ``(resource id, owner)``: the slots of each owner, so that another owner keeps clear.
Taken = dict[str | tuple[str, str], set[int]]


def _take(ix: _Index, taken: Taken, a: SlotAward, ks: Iterable[int]) -> None:
    ks = set(ks)
    taken.setdefault(a.resource, set()).update(ks)
    if ix.res[a.resource].changeover:
        taken.setdefault((a.resource, owner(a)), set()).update(ks)


def _release(ix: _Index, taken: Taken, a: SlotAward, ks: Iterable[int]) -> None:
    ks = set(ks)
    taken[a.resource] -= ks
    if ix.res[a.resource].changeover:
        taken[(a.resource, owner(a))] -= ks


def _copy(taken: Taken) -> Taken:
    return {r: set(v) for r, v in taken.items()}


def _free_allowed(ix: _Index, a: SlotAward, taken: Taken) -> list[int]:
    """The slots ``a`` may take: allowed, free, and (on a resource with a changeover)
    more than the changeover away from every slot another proposal has taken."""
    used = taken.get(a.resource, set())
    c = ix.res[a.resource].changeover
    if not c:
        return [k for k in ix.allowed[a.id] if k not in used]
    others = sorted(used - taken.get((a.resource, owner(a)), set()))
    return [k for k in ix.allowed[a.id] if k not in used and _clear(others, k, c)]


def _clear(others: Sequence[int], k: int, c: int) -> bool:
    """Whether no index of the sorted ``others`` lies within ``c`` of ``k``."""
    i = bisect.bisect_left(others, k - c)
    return i == len(others) or others[i] > k + c


def _place_single(
    ix: _Index, a: SlotAward, taken: Taken, near: float | None = None
) -> list[int] | None:
    """Slots for ``a``: a contiguous block if any (the earliest, or the nearest to ``near``
    hours), else the fewest runs (longest free runs first)."""
    free = _free_allowed(ix, a, taken)
    if len(free) < a.slots:
        return None
    runs = _runs(free)
    blocks = [
        (k0 + off)
        for k0, n in runs
        if n >= a.slots
        for off in range(n - a.slots + 1)
        if near is not None or off == 0
    ]
    if blocks:
        if near is None:
            b = blocks[0]
        else:
            step = ix.res[a.resource].slot_hours

            def dist(k: int) -> float:
                s = ix.hours(a.resource, k)
                e = s + a.slots * step
                return max(0.0, near - e, s - near) + 1e-9 * s

            b = min(blocks, key=dist)
        return list(range(b, b + a.slots))
    chosen: list[int] = []
    for k0, n in sorted(runs, key=lambda r: (-r[1], r[0])):
        chosen.extend(range(k0, k0 + min(n, a.slots - len(chosen))))
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
        free_first = set(_free_allowed(ix, first, taken))
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


def _unit_value(unit: list[SlotAward]) -> float:
    return sum(a.weight * a.slots for a in unit)


def greedy(problem: SlotProblem) -> SlotSchedule:
    """Priority list scheduling ([3]_) followed by a repair pass and a polish.

    Units (bundles, single awards) are placed in decreasing order of value per slot, then
    size; each takes its earliest contiguous block (a bundle kept together takes the
    placement of least span). Repair: each unit left out is tried again after lifting one
    placed unit of lower value, which is then placed again elsewhere; the swap is kept when
    both fit. Polish: each placed unit is lifted and placed again around the others while
    that shortens its span or its runs (``_polish``).
    """
    t0 = time.perf_counter()
    problem.validate()
    ix = _index(problem)
    placed = _greedy(ix)
    return _result(ix, placed, "greedy", time.perf_counter() - t0)


def _greedy(ix: _Index) -> dict[str, list[int]]:
    units = [u for u in ix.units if not any(a.id in ix.pre_unplaced for a in u)]
    units.sort(
        key=lambda u: (-_unit_value(u) / sum(a.slots for a in u), -sum(a.slots for a in u), u[0].id)
    )
    taken: Taken = {}
    placed: dict[str, list[int]] = {}
    left: list[list[SlotAward]] = []
    for u in units:
        got = _place_unit(ix, u, taken)
        if got is None:
            left.append(u)
        else:
            placed.update(got)
    # repair: lift one lower-value placed unit, place the left-out one, re-place the lifted one
    # (the placed units are visited in the order of ``units``, as a scan of every unit did;
    # with 2,000 awards for 30 slots that scan was 4 million checks)
    position = {id(u): k for k, u in enumerate(units)}
    placed_at = sorted(position[id(u)] for u in units if u[0].id in placed)
    for u in left:
        done = False
        for v in [units[k] for k in placed_at]:
            if done:
                break
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
            taken = trial
            placed.update(got_u)
            placed.update(got_v)
            bisect.insort(placed_at, position[id(u)])
            done = True
    return _polish(ix, placed)


def _polish(ix: _Index, placed: dict[str, list[int]], passes: int = 3) -> dict[str, list[int]]:
    """Local improvement of span and runs with the placed set kept: each placed unit in turn
    is lifted and placed again (least span, earliest contiguous block) around the others;
    the move is kept when the unit's (span, runs) gets smaller."""
    placed = {k: list(v) for k, v in placed.items()}
    taken: Taken = {}
    award = {a.id: a for a in ix.problem.awards}
    for aid, ks in placed.items():
        _take(ix, taken, award[aid], ks)
    units = [u for u in ix.units if all(placed.get(a.id) for a in u)]

    def score(pl: dict[str, list[int]], u: list[SlotAward]) -> tuple[float, int]:
        together = len(u) > 1 and any(a.together for a in u)
        return (
            _span(ix, pl, u) if together else 0.0,
            sum(len(_runs(sorted(pl[a.id]))) for a in u),
        )

    def bound(u: list[SlotAward]) -> tuple[float, int]:
        together = len(u) > 1 and any(a.together for a in u)
        return (
            max(a.slots * ix.res[a.resource].slot_hours for a in u) if together else 0.0,
            len(u),
        )

    for _ in range(passes):
        improved = False
        for u in units:
            before = score(placed, u)
            if before <= bound(u):
                continue  # already as short and as contiguous as it can be
            for a in u:
                _release(ix, taken, a, placed[a.id])
            got = _place_unit(ix, u, taken)
            if got is not None and score(got, u) < before:
                placed.update(got)
                improved = True
                continue
            if got is not None:
                for a in u:
                    _release(ix, taken, a, got[a.id])
            for a in u:
                _take(ix, taken, a, placed[a.id])
        if not improved:
            break
    return placed


def _result(
    ix: _Index,
    placed: dict[str, list[int]],
    method: str,
    wall: float,
    stages: list[str] | None = None,
) -> SlotSchedule:
    starts = {
        aid: tuple(ix.grids[ix.res_of[aid]][k].start for k in sorted(ks))
        for aid, ks in placed.items()
        if ks
    }
    unplaced = dict(ix.pre_unplaced)
    for a in ix.problem.awards:
        if a.id not in starts and a.id not in unplaced:
            unplaced[a.id] = Unplaced.saying(
                a.id,
                "capacity",
                "the usable slots it could take are given to awards of higher value"
                " or its bundle could not be placed whole"
                if a.bundle is not None
                else "the usable slots it could take are given to awards of higher value",
            )
    v, s, r = evaluate(ix.problem, starts)
    return SlotSchedule(starts, unplaced, v, s, r, method, wall, stages or [])


# ------------------------------------------------------------------------------------------
# Exact 0-1 program
# ------------------------------------------------------------------------------------------


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
            u[0].id,
        )
    )
    taken: Taken = {}
    out: dict[str, list[int]] = {}
    for u in chosen:
        got = _place_unit(ix, u, taken)
        if got is None:
            return None
        out.update(got)
    return _polish(ix, out)


def _greedy_proved(
    ix: _Index,
    units: Sequence[list[SlotAward]],
    awards: Sequence[SlotAward],
    placed: Mapping[str, Sequence[int]],
) -> list[str]:
    """The stages of a proof that the greedy placement is optimal without a solve, or []:
    no unit asks to be kept together (no span level), the placed value meets
    ``_value_bound`` and the runs meet ``_fewest_awards`` at that value (the same tests and
    tolerances as the levels of ``solve_slots``)."""
    if any(len(u) > 1 and any(a.together for a in u) for u in units):
        return []
    value = sum(_unit_value(u) for u in units if all(placed.get(a.id) for a in u))
    bound = min(sum(_unit_value(u) for u in units), _value_bound(ix, awards))
    if value < bound - _EPS:
        return []
    runs = sum(len(_runs(sorted(placed[a.id]))) for a in awards if placed.get(a.id))
    fixed = _level_row(np.array([value]), value, True)[1]
    if runs > _fewest_awards(awards, fixed) + _EPS:
        return []
    return ["value: greedy meets the bound", "runs: greedy meets the bound"]


def _value_bound(ix: _Index, awards: Sequence[SlotAward]) -> float:
    """An upper bound on the placed value: on each resource, the best set of its awards
    whose slots add up to no more than the slots any of them may take (a 0-1 knapsack,
    solved exactly by dynamic programming over the slot count; its fractional relaxation,
    the heaviest slots first, where the table would exceed ``_KNAPSACK_CELLS``).

    Valid because a placement gives each slot of a resource to at most one award and places
    an award with all its slots or none; bundles and impossible dates only lower the
    optimum."""
    per_res: dict[str, list[SlotAward]] = {}
    for a in awards:
        per_res.setdefault(a.resource, []).append(a)
    total = 0.0
    for mine in per_res.values():
        room = len({k for a in mine for k in ix.allowed[a.id]})
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


def _starts(ix: _Index, placed: dict[str, list[int]]) -> dict[str, tuple[dt.datetime, ...]]:
    return {
        aid: tuple(ix.grids[ix.res_of[aid]][k].start for k in sorted(ks))
        for aid, ks in placed.items()
    }


def _level_row(
    c: np.ndarray, value: float, maximize: bool
) -> tuple[dict[int, float], float, float]:
    tol = _EPS * max(1.0, abs(value))
    coef = {int(j): float(c[j]) for j in np.flatnonzero(c)}
    return (coef, value - tol, np.inf) if maximize else (coef, -np.inf, value + tol)


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
