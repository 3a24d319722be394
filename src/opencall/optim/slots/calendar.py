"""A resource's slot grid (``slot_grid``), whose booking a slot is (``owner``), the slots
booked outside the problem and the changeover between owners, and applicants' date
ranges as UTC periods."""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opencall.optim import wallclock
from opencall.optim.slots.problem import BEGUN, Resource, SlotAward


@dataclass(frozen=True)
class Slot:
    """One slot of a resource's calendar."""

    index: int
    start: dt.datetime
    end: dt.datetime
    reason: str  # "" when usable, else the unavailable period's reason
    #: the groups the slot still holds (``Resource.groups_per_slot`` less the places an
    #: item out of service closes, ``Resource.fewer``, and those ``Resource.booked``
    #: takes on a shared resource; 1 on any other)
    places: int = 1


def slot_grid(resource: Resource) -> list[Slot]:
    """Every slot of ``resource``; a slot that begins before ``resource.not_before`` carries
    :data:`BEGUN`, another overlapping an unavailable period its reason (``"unavailable"``
    when the period gives none).

    Parameters
    ----------
    resource : Resource
        The resource, its period, slot length, zone and unavailable periods.

    Returns
    -------
    list of Slot
        The slots in time order, each with its index, start, end and the reason it is not
        usable (empty when it is).
    """
    out: list[Slot] = []
    bounds = wallclock.grid(
        resource.start, resource.end, resource.slot_hours, resource.time_zone, resource.wall_start
    )
    # One pass over the slots (in time order, starts and ends rising) and the periods
    # sorted by start: a period joins ``open_`` once it starts before a slot's end and
    # leaves it for good once it ends at or before a slot's start. A slot's reason is that
    # of the first period *in the resource's order* overlapping it (as a scan of every
    # period per slot gives), so ``open_`` is a heap on that order.
    periods = resource.unavailable
    by_start = sorted(range(len(periods)), key=lambda i: periods[i][0])
    nxt = 0
    open_: list[int] = []
    for k, (t, t_end) in enumerate(bounds):
        while nxt < len(by_start) and periods[by_start[nxt]][0] < t_end:
            heapq.heappush(open_, by_start[nxt])
            nxt += 1
        while open_ and not t < periods[open_[0]][1]:
            heapq.heappop(open_)  # ended: no later slot (starting later still) meets it
        if resource.not_before is not None and t < resource.not_before:
            reason = BEGUN
        elif open_:
            reason = periods[open_[0]][2] or "unavailable"
        else:
            reason = ""
        out.append(Slot(k, t, t_end, reason, resource.places(t, t_end)))
    return _places_left(resource, out)


#: the reason of a shared slot whose every place is booked outside the problem
FULLY_BOOKED = "every place booked"


def _places_left(resource: Resource, grid: list[Slot]) -> list[Slot]:
    """``grid`` with each place booked outside the problem (``resource.booked`` on a shared
    resource) taken from its slots: a slot of 4 places, one booked by another call, offers
    3; one with none left is not usable (:data:`FULLY_BOOKED`)."""
    if resource.groups_per_slot <= 1 or not resource.booked:
        return grid
    used: dict[int, int] = {}
    for k, _ in booked_indices(resource, grid):
        used[k] = used.get(k, 0) + 1
    for k, n in used.items():
        s = grid[k]
        left = max(s.places - n, 0)
        grid[k] = Slot(s.index, s.start, s.end, s.reason or ("" if left else FULLY_BOOKED), left)
    return grid


class PeriodIndex:
    """Periods ``[start, end)`` (in any order, overlapping, touching or empty) sorted once,
    so that whether one overlaps ``[t0, t1)`` costs a binary search rather than a scan.

    Parameters
    ----------
    periods : iterable of (datetime.datetime, datetime.datetime)
        The periods' starts and ends.
    """

    def __init__(self, periods: Iterable[tuple[dt.datetime, dt.datetime]]) -> None:
        pairs = sorted(periods, key=lambda p: p[0])
        self._starts = [p[0] for p in pairs]
        # the latest end of the periods up to each one in start order
        self._reach = list(itertools.accumulate((p[1] for p in pairs), max))

    def overlaps(self, t0: dt.datetime, t1: dt.datetime) -> bool:
        """Whether a period starts before ``t1`` and ends after ``t0``.

        Parameters
        ----------
        t0, t1 : datetime.datetime
            The span.

        Returns
        -------
        bool
            True when some period ``(u0, u1)`` has ``u0 < t1`` and ``t0 < u1``.
        """
        n = bisect.bisect_left(self._starts, t1)  # the periods starting before t1
        return n > 0 and t0 < self._reach[n - 1]


def owner(award: SlotAward) -> str:
    """Whose booking a slot of ``award`` is, for the changeover: its proposal (the award
    itself when it names none).

    Parameters
    ----------
    award : SlotAward
        The award.

    Returns
    -------
    str
        The award's proposal, or ``"award <id>"``.
    """
    return award.proposal or f"award {award.id}"


def booked_indices(resource: Resource, grid: Sequence[Slot]) -> list[tuple[int, str]]:
    """``(slot index, owner)`` of every slot of ``grid`` that a slot in
    ``resource.booked`` overlaps.

    Parameters
    ----------
    resource : Resource
        The resource, with its ``booked`` slots.
    grid : sequence of Slot
        Its slot grid (``slot_grid``).

    Returns
    -------
    list of (int, str)
        The index of each overlapped slot of ``grid`` and the booking's owner.
    """
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
    one of them ``placed`` (``(slot index, owner)``; the others are ``resource.booked``).

    Parameters
    ----------
    resource : Resource
        The resource, with its ``changeover`` and ``booked`` slots.
    grid : sequence of Slot
        Its slot grid (``slot_grid``).
    placed : iterable of (int, str)
        The slots placed by this schedule, as ``(slot index, owner)``.

    Returns
    -------
    list of str
        One message per clash; empty when there is none or the changeover is 0.
    """
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
    when empty); a range given backwards is read forwards.

    Parameters
    ----------
    ranges : iterable of (first, last)
        Each a pair of ISO dates or ``datetime.date``.
    time_zone : str
        The IANA zone whose midnights bound the days; empty for UTC.

    Returns
    -------
    tuple of (datetime.datetime, datetime.datetime)
        Timezone-aware half-open periods, one per range.
    """
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
