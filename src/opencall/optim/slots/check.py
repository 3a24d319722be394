"""The independent judge of a placement: its objective (``evaluate``) and every hard
constraint (``check``), computed from the problem and the slot starts alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from opencall.optim import wallclock
from opencall.optim.slots.calendar import Slot, changeover_clashes, owner, slot_grid
from opencall.optim.slots.problem import SlotAward, SlotProblem


def evaluate(
    problem: SlotProblem, starts: Mapping[str, Sequence[dt.datetime]]
) -> tuple[float, float, int]:
    """The objective ``(value, span_hours, runs)`` of a placement (see the module doc).

    Parameters
    ----------
    problem : SlotProblem
        Resources and awards.
    starts : mapping of str to sequence of datetime.datetime
        The slot starts of each placed award.

    Returns
    -------
    tuple of (float, float, int)
        The placed value, the span in hours of the together-bundles and the number of runs.
    """
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
    """Every hard constraint of the problem, checked on a placement.

    Parameters
    ----------
    problem : SlotProblem
        The problem the placement is for.
    starts : mapping of str to sequence of datetime.datetime
        The placement to check: the slot starts by award id.

    Returns
    -------
    list of str
        One message per violated constraint (unknown resource, wrong number of slots, a start
        off the grid, an unavailable or impossible slot, a slot given twice (to more groups
        than ``Resource.groups_per_slot`` on a shared resource), a changeover
        clash, a bundle placed in part, an unbroken award in more than one run); empty when the placement is feasible.
    """
    errors: list[str] = []
    res = {r.id: r for r in problem.resources}
    grids = {r.id: {s.start: s for s in slot_grid(r)} for r in problem.resources}
    taken: dict[tuple[str, dt.datetime], list[str]] = {}
    for a in problem.awards:
        ts = list(starts.get(a.id, ()))
        if not ts:
            continue
        if a.resource not in res:
            errors.append(f"{a.id}: placed on an unknown resource")
            continue
        if len(ts) != a.slots or len(set(ts)) != len(ts):
            errors.append(f"{a.id}: {len(ts)} distinct slots placed, {a.slots} awarded")
        errors.extend(_slot_errors(a, ts, grids[a.resource], taken))
        if a.unbroken and _broken(ts, grids[a.resource]):
            errors.append(f"{a.id}: unbroken, but placed in more than one run of slots")
    owners = {a.id: owner(a) for a in problem.awards}
    for rid, r in res.items():
        if r.changeover > 0:
            grid = sorted(grids[rid].values(), key=lambda g: g.index)
            marks = [
                (grids[rid][t].index, owners[aid])
                for (r2, t), aids in taken.items()
                if r2 == rid and t in grids[rid]
                for aid in aids
            ]
            errors.extend(changeover_clashes(r, grid, marks))
    return (
        errors + _bundle_errors(problem, starts, grids) + _exclusive_errors(problem, taken, grids)
    )


def _exclusive_errors(
    problem: SlotProblem,
    taken: Mapping[tuple[str, dt.datetime], list[str]],
    grids: Mapping[str, Mapping[dt.datetime, Slot]],
) -> list[str]:
    """Every two slots booked at overlapping times on two resources that share one
    instrument (``SlotProblem.exclusive``)."""
    errors: list[str] = []
    for group in problem.exclusive:
        booked = sorted(
            (t, grids[rid][t].end, rid, aids[0])
            for (rid, t), aids in taken.items()
            if rid in group and t in grids.get(rid, {}) and aids
        )
        for i, (t0, t1, rid, aid) in enumerate(booked):
            for u0, _u1, rid2, aid2 in booked[i + 1 :]:
                if u0 >= t1:
                    break
                if rid2 != rid:
                    errors.append(
                        f"{aid2}: {u0.isoformat()} on {rid2} overlaps {aid}'s slot at "
                        f"{t0.isoformat()} on {rid}, which shares its instrument"
                    )
    return errors


def _broken(ts: Sequence[dt.datetime], grid: Mapping[dt.datetime, Slot]) -> bool:
    """Whether the slots starting at ``ts`` are not one run of consecutive slots of
    ``grid`` (each the next one's index; a start off the grid is an error of its own)."""
    idx = sorted(grid[t].index for t in ts if t in grid)
    return any(q != p + 1 for p, q in zip(idx, idx[1:], strict=False))


def _slot_errors(
    a: SlotAward,
    ts: Sequence[dt.datetime],
    grid: Mapping[dt.datetime, Slot],
    taken: dict[tuple[str, dt.datetime], list[str]],
) -> list[str]:
    """What is wrong with each slot start ``ts`` of ``a`` on its resource's ``grid``, whose
    slots hold ``Slot.places`` awards each; ``taken`` (slot to its awards, over the awards
    checked so far) gets its slots."""
    errors: list[str] = []
    for t in ts:
        s = grid.get(t)
        if s is None:
            errors.append(f"{a.id}: {t.isoformat()} is not a slot start")
            continue
        if s.reason:
            errors.append(f"{a.id}: {t.isoformat()} is in an unavailable period")
        if any(i0 < s.end and t < i1 for i0, i1 in a.impossible):
            errors.append(f"{a.id}: {t.isoformat()} is on a date declared impossible")
        groups = s.places  # a shared slot's places, less those booked or closed
        if groups == 0 and not s.reason:  # every place closed by items out of service
            errors.append(f"{a.id}: {t.isoformat()} has no place left")
        holders = taken.setdefault((a.resource, t), [])
        if a.id not in holders:
            holders.append(a.id)
        if len(holders) > groups == 1:
            errors.append(f"{a.id}: {t.isoformat()} is also given to {holders[0]}")
        elif len(holders) > groups > 0 and holders[-1] == a.id:  # none left: said above
            errors.append(
                f"{a.id}: {t.isoformat()} is given to {len(holders)} groups, more than "
                f"the {groups} a slot holds"
            )
    return errors


def _bundle_errors(
    problem: SlotProblem,
    starts: Mapping[str, Sequence[dt.datetime]],
    grids: Mapping[str, Mapping[dt.datetime, Slot]],
) -> list[str]:
    """Every all-or-nothing bundle placed in part, and every same-time bundle whose
    awards' slots differ in start or end (4-hour slots on one resource and 8-hour ones
    on another begin together and end apart)."""

    def instants(a: SlotAward) -> frozenset[tuple[dt.datetime, dt.datetime | None]]:
        grid = grids.get(a.resource, {})
        return frozenset((t, grid[t].end if t in grid else None) for t in starts[a.id])

    bundles: dict[tuple[str, str], list[SlotAward]] = {}
    for a in problem.awards:
        if a.bundle is not None:
            bundles.setdefault((a.proposal, a.bundle), []).append(a)
    errors = [
        f"bundle {b} of {p}: only part of it is placed"
        for (p, b), members in bundles.items()
        if len({bool(starts.get(m.id)) for m in members}) > 1
    ]
    errors.extend(
        f"bundle {b} of {p}: not at the same times on every resource"
        for (p, b), members in bundles.items()
        if len(members) > 1
        and any(m.same_time for m in members)
        and all(starts.get(m.id) for m in members)
        and len({instants(m) for m in members}) > 1
    )
    return errors
