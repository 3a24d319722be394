"""The problem in index form: each resource's grid, the slots each award may take, the
all-or-nothing units, and the awards left out before any placement, with their reasons."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from opencall.optim.messages import M_
from opencall.optim.slots.calendar import Slot, booked_indices, owner, slot_grid
from opencall.optim.slots.problem import BEGUN, UTC, Resource, SlotAward, SlotProblem
from opencall.optim.slots.result import Unplaced


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
    # a changeover of the grid's length or more keeps every other proposal off the whole
    # grid, as a longer one does: one of 10**30 slots made the changeover rows loop forever
    res = {
        r.id: replace(r, changeover=min(r.changeover, len(grids[r.id]))) for r in problem.resources
    }
    booked = {r.id: booked_indices(r, grids[r.id]) for r in problem.resources if r.changeover}
    for a in problem.awards:
        if a.resource not in grids:
            pre[a.id] = Unplaced.saying(
                a.id,
                "unknown_resource",
                M_("resource %(resource)s is not known", resource=a.resource),
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
                        M_(
                            "all-or-nothing with %(others)s, which cannot be placed",
                            others=", ".join(bad),
                        ),
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


def _clear(others: Sequence[int], k: int, c: int) -> bool:
    """Whether no index of the sorted ``others`` lies within ``c`` of ``k``."""
    i = bisect.bisect_left(others, k - c)
    return i == len(others) or others[i] > k + c
