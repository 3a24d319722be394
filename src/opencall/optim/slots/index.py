"""The problem in index form: each resource's grid, the slots each award may take, the
all-or-nothing units, and the awards left out before any placement, with their reasons."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from opencall.optim.messages import M_, Message, filled
from opencall.optim.slots.calendar import Slot, booked_indices, owner, slot_grid
from opencall.optim.slots.problem import BEGUN, UTC, Resource, SlotAward, SlotProblem
from opencall.optim.slots.result import Unplaced

_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


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
    #: ``allowed`` as sorted arrays, one object shared by the awards of one key
    allowed_arr: dict[str, np.ndarray] = field(default_factory=dict)
    #: each slot's start in hours from the epoch (``hours``), by resource
    start_hours: dict[str, np.ndarray] = field(default_factory=dict)
    #: the other resources of each resource's exclusive group (``SlotProblem.exclusive``)
    siblings: dict[str, list[str]] = field(default_factory=dict)
    #: each slot's start and end in microseconds from the epoch, by resource in a group
    micros: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def blocked_by_siblings(self, res_id: str, taken: Mapping[Any, Collection[int]]) -> np.ndarray:
        """A mask over the slots of ``res_id``: those that overlap in time a slot ``taken``
        (by resource id) on another resource of its exclusive group (the one instrument is
        in use then)."""
        s0, s1 = self.micros.get(res_id, _NONE)
        edge = np.zeros(s0.size + 1, dtype=np.int64)
        for other in self.siblings.get(res_id, ()):
            ks = taken.get(other)
            if not ks:
                continue
            o0, o1 = self.micros[other]
            arr = np.fromiter(ks, dtype=np.int64, count=len(ks))
            # the slots of res_id ending after an other slot starts and starting before it ends
            np.add.at(edge, np.searchsorted(s1, o0[arr], side="right"), 1)
            np.add.at(edge, np.searchsorted(s0, o1[arr], side="left"), -1)
        blocked: np.ndarray = np.cumsum(edge[:-1]) > 0
        return blocked

    def hours(self, res_id: str, k: int) -> float:
        return (self.grids[res_id][k].start - self.epoch).total_seconds() / 3600.0

    def places(self, res_id: str, k: int) -> int:
        """How many awards slot ``k`` of the resource holds (``Resource.places``)."""
        return self.grids[res_id][k].places

    def end_hours(self, res_id: str, k: int) -> float:
        """When slot ``k`` ends (hours from the epoch): its start plus its own length, which
        differs from ``slot_hours`` on the night a site's clocks change."""
        return (self.grids[res_id][k].end - self.epoch).total_seconds() / 3600.0


def _too_few_slots(
    a: SlotAward, ok: list[int], grid: Sequence[Slot], calendar: _Calendar, kept_free: int
) -> Unplaced:
    """Why ``a`` is left out when fewer of its resource's slots are usable than it has:
    the counts of those begun, unavailable, kept free for a changeover and impossible
    (the begun and changeover counts named only when there are any)."""
    usable, begun = calendar.usable_count, calendar.begun
    counts = {
        "slots": a.slots,
        "ok": len(ok),
        "grid": len(grid),
        "off": len(grid) - usable - begun,
        "impossible": usable - len(ok) - kept_free,
    }
    return (
        Unplaced.saying(
            a.id,
            "no_usable_slots",
            M_(
                "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots "
                "are usable (%(begun)s already begun, %(off)s in unavailable periods, "
                "%(changeover)s kept free for a changeover next to another proposal's "
                "booked slots, %(impossible)s on dates the applicant declared impossible)",
                begun=begun,
                changeover=kept_free,
                **counts,
            ),
        )
        if kept_free
        else Unplaced.saying(
            a.id,
            "no_usable_slots",
            M_(
                "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots "
                "are usable (%(begun)s already begun, %(off)s in unavailable periods, "
                "%(impossible)s on dates the applicant declared impossible)",
                begun=begun,
                **counts,
            ),
        )
        if begun
        else Unplaced.saying(
            a.id,
            "no_usable_slots",
            M_(
                "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots "
                "are usable (%(off)s in unavailable periods, "
                "%(impossible)s on dates the applicant declared impossible)",
                **counts,
            ),
        )
    )


def _units(awards: Sequence[SlotAward]) -> list[list[SlotAward]]:
    """The awards as units placed whole (an award alone, or an all-or-nothing bundle of
    one proposal, in the order of their first award)."""
    units: list[list[SlotAward]] = []
    by_bundle: dict[tuple[str, str], list[SlotAward]] = {}
    for a in awards:
        if a.bundle is None:
            units.append([a])
        else:
            key = (a.proposal, a.bundle)
            if key not in by_bundle:
                by_bundle[key] = []
                units.append(by_bundle[key])
            by_bundle[key].append(a)
    return units


def _leave_out_whole(units: Sequence[list[SlotAward]], pre: dict[str, Unplaced]) -> None:
    """A bundle with an award left out before the search (``pre``) has its other awards
    left out too, saying so."""
    for unit in units:
        bad = [a.id for a in unit if a.id in pre]
        if bad and len(unit) > 1:
            for a in unit:
                if a.id not in pre:
                    pre[a.id] = Unplaced.saying(
                        a.id,
                        "bundle",
                        M_(
                            "all-or-nothing with %(others)s, which cannot be placed",
                            others=", ".join(bad),
                        ),
                    )


def _index(problem: SlotProblem) -> _Index:
    grids = {r.id: slot_grid(r) for r in problem.resources}
    epoch = min((r.start for r in problem.resources), default=dt.datetime(1970, 1, 1, tzinfo=UTC))
    allowed: dict[str, list[int]] = {}
    pre: dict[str, Unplaced] = {}
    # a changeover of the grid's length or more keeps every other proposal off the whole
    # grid, as a longer one does: one of 10**30 slots made the changeover rows loop forever
    res = {
        r.id: replace(r, changeover=min(r.changeover, len(grids[r.id]))) for r in problem.resources
    }
    booked = {r.id: booked_indices(r, grids[r.id]) for r in problem.resources if r.changeover}
    cal = {r.id: _Calendar.of(grids[r.id]) for r in problem.resources}
    # most awards of a call share their resource, impossible dates and (on a resource with
    # booked slots) owner: their slots are computed once per distinct key and shared
    shared: dict[tuple[object, ...], tuple[list[int], int]] = {}
    arrays: dict[tuple[object, ...], np.ndarray] = {}
    allowed_arr: dict[str, np.ndarray] = {}
    for a in problem.awards:
        if a.resource not in grids:
            pre[a.id] = Unplaced.saying(
                a.id,
                "unknown_resource",
                M_("resource %(resource)s is not known", resource=a.resource),
            )
            allowed[a.id] = []
            allowed_arr[a.id] = np.zeros(0, dtype=np.int64)
            continue
        grid = grids[a.resource]
        mine = booked.get(a.resource, ())
        same = (a.resource, a.impossible, owner(a) if mine else None)
        if same not in shared:
            others = [k for k, who in mine if who != owner(a)]
            shared[same] = cal[a.resource].allowed(a.impossible, others, res[a.resource].changeover)
            arrays[same] = np.asarray(shared[same][0], dtype=np.int64)
        ok, kept_free = shared[same]
        allowed[a.id] = ok
        allowed_arr[a.id] = arrays[same]
        if len(ok) < a.slots:
            pre[a.id] = _too_few_slots(a, ok, grid, cal[a.resource], kept_free)
        elif a.unbroken and a.slots > 1:
            longest = max(n for _, n in _runs(arrays[same]))
            if longest < a.slots:
                pre[a.id] = Unplaced.saying(
                    a.id,
                    "no_unbroken_run",
                    M_(
                        "%(slots)s slots awarded in one unbroken run, but the longest run of "
                        "usable slots of its resource is %(longest)s",
                        slots=a.slots,
                        longest=longest,
                    ),
                )
    units = _units(problem.awards)
    group_of = {rid: i for i, g in enumerate(problem.exclusive) for rid in g}
    for unit in units:
        if is_same_time(unit):
            _same_time(unit, grids, allowed, allowed_arr, pre)
            _same_time_one_instrument(unit, group_of, pre)
    _leave_out_whole(units, pre)
    res_of = {a.id: a.resource for a in problem.awards}
    owners = {a.id: owner(a) for a in problem.awards}
    start_hours = {
        r: np.array([(g.start - epoch).total_seconds() / 3600.0 for g in grid], dtype=float)
        for r, grid in grids.items()
    }
    siblings = {rid: [o for o in g if o != rid] for g in problem.exclusive for rid in g}
    micro = dt.timedelta(microseconds=1)
    micros = {
        rid: (
            np.array([(g.start - epoch) // micro for g in grids[rid]], dtype=np.int64),
            np.array([(g.end - epoch) // micro for g in grids[rid]], dtype=np.int64),
        )
        for rid in siblings
        if rid in grids
    }
    return _Index(
        problem, grids, allowed, units, epoch, pre, res, res_of, owners, allowed_arr,
        start_hours, siblings, micros,
    )  # fmt: skip


def is_same_time(unit: Sequence[SlotAward]) -> bool:
    """A bundle of two awards or more placed at the same instants on their resources."""
    return len(unit) > 1 and any(a.same_time for a in unit)


def _same_time(
    unit: list[SlotAward],
    grids: dict[str, list[Slot]],
    allowed: dict[str, list[int]],
    allowed_arr: dict[str, np.ndarray],
    pre: dict[str, Unplaced],
) -> None:
    """Keep, of each award of a same-time bundle, the slots whose start and end every other
    award of the bundle may take too; leave the bundle out (``pre``) when its awards differ in
    length or fewer slots than it needs are common to all."""
    if any(a.id in pre for a in unit):
        return  # the bundle is left out with the award that cannot be placed
    twice = [r for r, n in Counter(a.resource for a in unit).items() if n > 1]
    if twice:
        # each slot of one award would be the other's too: one slot cannot be given twice
        _leave_out(
            unit,
            pre,
            "same_time_one_resource",
            M_(
                "its bundle is to be placed at the same times on every resource, but two of "
                "its awards are on the same resource (%(resource)s)",
                resource=twice[0],
            ),
        )
        return
    if len({a.slots for a in unit}) > 1:
        _leave_out(
            unit,
            pre,
            "same_time_lengths",
            M_(
                "its bundle is to be placed at the same times on every resource, but its "
                "awards differ in length (%(lengths)s slots)",
                lengths=", ".join(str(b.slots) for b in unit),
            ),
        )
        return
    spans = [
        {(grids[a.resource][k].start, grids[a.resource][k].end): k for k in allowed[a.id]}
        for a in unit
    ]
    common = set(spans[0]).intersection(*spans[1:])
    for a, by_span in zip(unit, spans, strict=True):
        ks = sorted(by_span[t] for t in common)
        allowed[a.id] = ks
        allowed_arr[a.id] = np.asarray(ks, dtype=np.int64)
    if len(common) < unit[0].slots:
        _leave_out(
            unit,
            pre,
            "no_common_slots",
            M_(
                "%(slots)s slots awarded at the same times on %(n)s resources, but only "
                "%(ok)s slots are usable on all of them at once",
                slots=unit[0].slots,  # the bundle's awards are of one length here
                n=len(unit),
                ok=len(common),
            ),
        )


def _same_time_one_instrument(
    unit: list[SlotAward], group_of: Mapping[str, int], pre: dict[str, Unplaced]
) -> None:
    """Leave out a same-time bundle two of whose awards are on resources sharing one
    instrument (``SlotProblem.exclusive``): never in use at once, so never at the same
    times."""
    if any(a.id in pre for a in unit):
        return
    groups = Counter(group_of[a.resource] for a in unit if a.resource in group_of)
    if any(n > 1 for n in groups.values()):
        _leave_out(
            unit,
            pre,
            "same_time_one_instrument",
            M_(
                "its bundle is to be placed at the same times on every resource, but two of "
                "its resources share one instrument and are never in use at once"
            ),
        )


def _leave_out(
    unit: Sequence[SlotAward], pre: dict[str, Unplaced], code: str, msg: Message
) -> None:
    """Leave every award of the same-time bundle ``unit`` out (``pre``), each saying ``msg``
    (its own copy)."""
    for a in unit:
        pre[a.id] = Unplaced.saying(a.id, code, filled(msg))


def _runs(ks: Sequence[int] | np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``(first, length)`` of consecutive indices in a sorted sequence."""
    arr = np.asarray(ks, dtype=np.int64)
    if not arr.size:
        return []
    cut = np.flatnonzero(np.diff(arr) != 1) + 1
    first = np.concatenate(([0], cut))
    length = np.diff(np.concatenate((first, [arr.size])))
    return list(zip(arr[first].tolist(), length.tolist(), strict=True))


@dataclass(frozen=True)
class _Calendar:
    """A resource's grid as arrays: slot starts and ends (in time order), the usable slots."""

    starts: list[dt.datetime]
    ends: list[dt.datetime]
    usable: np.ndarray  # bool per slot: in no unavailable period and not begun
    usable_count: int
    begun: int

    @classmethod
    def of(cls, grid: Sequence[Slot]) -> _Calendar:
        usable = np.fromiter((not s.reason for s in grid), dtype=bool, count=len(grid))
        return cls(
            [s.start for s in grid],
            [s.end for s in grid],
            usable,
            int(usable.sum()),
            sum(1 for s in grid if s.reason == BEGUN),
        )

    def allowed(
        self,
        impossible: Sequence[tuple[dt.datetime, dt.datetime]],
        others: Sequence[int],
        c: int,
    ) -> tuple[list[int], int]:
        """The usable slots outside every impossible period and more than ``c`` slots away
        from each of ``others`` (another proposal's booked slots), and how many usable,
        possible slots the changeover kept free."""
        mask = self.usable.copy()
        for i0, i1 in impossible:
            # the slots that overlap [i0, i1): those ending after i0 and starting before i1
            mask[bisect.bisect_right(self.ends, i0) : bisect.bisect_left(self.starts, i1)] = False
        ok = np.flatnonzero(mask)
        if not others:
            return ok.tolist(), 0
        n = mask.size
        b = np.asarray(others, dtype=np.int64)
        edge = np.zeros(n + 1, dtype=np.int64)
        np.add.at(edge, np.clip(b - c, 0, n), 1)
        np.add.at(edge, np.clip(b + c + 1, 0, n), -1)
        near = np.cumsum(edge[:n]) > 0
        free = ok[~near[ok]]
        return free.tolist(), int(ok.size - free.size)
