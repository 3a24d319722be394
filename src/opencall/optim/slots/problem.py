"""The slot problem: resources with their calendars, the awards to place on them, and
their validation."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import dataclass

from opencall.optim import wallclock

UTC = dt.UTC
#: the most slots one resource may have (a year of 5-minute slots is 105,120): the grid is
#: enumerated, so a slot of 1e-9 h over two days (1.7e14 slots) ran without end
MAX_SLOTS = 1_000_000
#: the longest slot: a ``datetime.timedelta`` holds 999,999,999 days; no calendar of the
#: years 1 to 9999 holds a slot of more than 24 * 3,652,059 hours anyway
_MAX_SLOT_HOURS = 24.0 * 3_652_059


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
    groups_per_slot : int
        How many awards (groups) one slot holds at once: 1, a slot is one team's; more for
        a shared-use facility (a beamline's sample changer taking 4 groups' crystals a
        shift, a research vessel's leg of 12 berths, a course session of 20 trainees). An
        award still takes distinct slots. A shared resource keeps no changeover (refused).
    fewer : tuple of (start, end, places)
        Half-open periods in which each slot overlapping them holds ``places`` groups fewer
        (an item of several identical ones lost: one ROV of five, trialop20b); several add
        up, and a slot left with none is not used.
        On a shared resource each slot in ``booked`` (another call's booking, this call's
        kept one) takes one place of every slot it overlaps: a slot of 4 places, 1 booked,
        holds 3 of this problem's awards; one whose places are all booked is not usable.
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
    groups_per_slot: int = 1
    fewer: tuple[tuple[dt.datetime, dt.datetime, int], ...] = ()

    def places(self, start: dt.datetime, end: dt.datetime) -> int:
        """How many groups the slot ``[start, end)`` holds: ``groups_per_slot`` less the
        places ``fewer`` closes in it (0 at least)."""
        if not self.fewer:
            return self.groups_per_slot
        out = sum(n for u0, u1, n in self.fewer if u0 < end and start < u1)
        return max(0, self.groups_per_slot - out)


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
    same_time : bool
        Place every award of the bundle at the same instants (a VLBI observation on three
        telescopes at once, two growth chambers for the same days): each slot of one award
        has a slot of each other award with the same start and end. A bundle is placed so
        when any of its awards asks for it; its awards then need the same number of slots.
    weight : float
        Value of one placed slot (merit); > 0.
    unbroken : bool
        Place the award's slots as one run of consecutive slots of its resource's grid (a
        crop in a growth chamber cannot pause): a closure, an impossible date or another
        award inside the run breaks it, so the award is placed so or not at all.
    """

    id: str
    resource: str
    slots: int
    proposal: str = ""
    impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    bundle: str | None = None
    together: bool = False
    weight: float = 1.0
    same_time: bool = False
    unbroken: bool = False


@dataclass(frozen=True)
class SlotProblem:
    """Resources and the awards to place on them.

    ``exclusive``: groups of resource ids that share one instrument (a beamline in two
    machine modes, a vessel running its ROV or its AUV, a telescope with two receivers):
    at most one resource of a group is in use at any moment, so two slots on different
    resources of one group that overlap in time are never both booked. A resource is in
    one group at most; a group's resources are not shared (``groups_per_slot`` 1).
    """

    resources: tuple[Resource, ...]
    awards: tuple[SlotAward, ...]
    exclusive: tuple[tuple[str, ...], ...] = ()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first malformed input."""
        ids = [r.id for r in self.resources]
        if len(set(ids)) != len(ids):
            raise ValueError("resource ids must be unique")
        for r in self.resources:
            _validate_resource(r)
        aids = [a.id for a in self.awards]
        if len(set(aids)) != len(aids):
            raise ValueError("award ids must be unique")
        for a in self.awards:
            _validate_award(a)
        # two awards of weight 1e308 were worth inf: no placement could be told from another
        if not math.isfinite(sum(a.weight * a.slots for a in self.awards)):
            raise ValueError("award weight times slots, added up, must be a finite number")
        _validate_exclusive(self)


def _validate_exclusive(problem: SlotProblem) -> None:
    """Raise ``ValueError`` for an exclusive group naming an unknown resource, one of
    fewer than two resources, a resource in two groups, or a shared resource in one."""
    res = {r.id: r for r in problem.resources}
    seen: set[str] = set()
    for group in problem.exclusive:
        if len(set(group)) < 2:
            raise ValueError(f"exclusive group {list(group)}: name two resources or more")
        for rid in group:
            if rid not in res:
                raise ValueError(f"exclusive group {list(group)}: resource {rid} is not known")
            if rid in seen:
                raise ValueError(f"resource {rid} is in more than one exclusive group")
            if res[rid].groups_per_slot > 1:
                raise ValueError(
                    f"resource {rid}: a shared resource (groups_per_slot above 1) cannot "
                    "be in an exclusive group"
                )
        seen.update(group)


def _real(x: object) -> bool:
    """A real number (a weight of "2" or None crashed in ``math.isfinite``)."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _validate_resource(r: Resource) -> None:
    """Raise ``ValueError`` naming the first malformed field of ``r``."""
    _validate_span(r)
    _validate_zone(r)
    n_slots = (r.end - r.start).total_seconds() / 3600.0 / r.slot_hours
    if n_slots > MAX_SLOTS:
        raise ValueError(
            f"resource {r.id}: {n_slots:.3g} slots of {r.slot_hours:g} h between its "
            f"start and end, more than the {MAX_SLOTS:,} a resource may have"
        )
    _validate_periods(r)


def _validate_span(r: Resource) -> None:
    """Raise ``ValueError`` unless ``r`` starts and ends at aware instants, in that order,
    with slots of a positive length."""
    if not (isinstance(r.start, dt.datetime) and isinstance(r.end, dt.datetime)):
        raise ValueError(f"resource {r.id}: start and end must be datetimes")
    if r.start.tzinfo is None or r.end.tzinfo is None:
        raise ValueError(f"resource {r.id}: start and end must be timezone-aware")
    if not _real(r.slot_hours) or not (math.isfinite(r.slot_hours) and r.slot_hours > 0):
        raise ValueError(f"resource {r.id}: slot_hours must be a positive number")
    if r.slot_hours > _MAX_SLOT_HOURS:
        # more than a ``datetime.timedelta`` holds: OverflowError in the grid
        raise ValueError(
            f"resource {r.id}: slot_hours must be at most {_MAX_SLOT_HOURS:,.0f} "
            f"(a slot longer than any calendar), got {r.slot_hours:g}"
        )
    if r.end <= r.start:
        raise ValueError(f"resource {r.id}: end must be after start")


def _validate_periods(r: Resource) -> None:
    """Raise ``ValueError`` for a naive ``not_before``, an unavailable period or a booked
    slot that is naive or ends before it starts, a changeover that is no whole number
    of slots, or groups per slot that are not a whole number of 1 or more (or above 1
    with a changeover), or an item out of service that is not (aware start, later aware
    end, whole places of 1 or more)."""
    if r.not_before is not None and (
        not isinstance(r.not_before, dt.datetime) or r.not_before.tzinfo is None
    ):
        raise ValueError(
            f"resource {r.id}: not_before must be timezone-aware (a datetime with its zone)"
        )
    for u0, u1, _ in r.unavailable:
        if u0.tzinfo is None or u1.tzinfo is None:
            raise ValueError(f"resource {r.id}: unavailable periods must be timezone-aware")
        if u1 <= u0:
            raise ValueError(f"resource {r.id}: an unavailable period must end after it starts")
    if not isinstance(r.changeover, numbers.Integral) or r.changeover < 0:
        raise ValueError(f"resource {r.id}: changeover must be a whole number of slots, 0 or more")
    if (
        not isinstance(r.groups_per_slot, numbers.Integral)
        or isinstance(r.groups_per_slot, bool)
        or r.groups_per_slot < 1
    ):
        raise ValueError(f"resource {r.id}: groups_per_slot must be a whole number, 1 or more")
    if r.groups_per_slot > 1 and r.changeover:
        raise ValueError(
            f"resource {r.id}: a changeover between groups who share a slot is not defined; "
            "give a shared resource (groups_per_slot above 1) no changeover"
        )
    for b0, b1, _ in r.booked:
        # both ends: a naive end reached the grid as "can't compare offset-naive and
        # offset-aware datetimes"
        if b0.tzinfo is None or b1.tzinfo is None or b1 <= b0:
            raise ValueError(
                f"resource {r.id}: a booked slot must be timezone-aware and end after it starts"
            )
    for period in r.fewer:
        _validate_item_out(r, period)


def _validate_item_out(r: Resource, period: object) -> None:
    """Raise ``ValueError`` for an entry of ``r.fewer`` that is not (start, end, places)
    with timezone-aware bounds, the end after the start and a whole number of places of 1
    or more (-3 places once reached the greedy as a ``StopIteration``, 1.5 or "1" as a
    ``TypeError``, a naive start as a comparison error, NaN closed every slot silently)."""
    what = f"resource {r.id}: an item out of service (fewer)"
    if not (isinstance(period, tuple | list) and len(period) == 3):
        raise ValueError(f"{what} must be (start, end, places), got {period!r}")
    t0, t1, n = period
    if not (isinstance(t0, dt.datetime) and isinstance(t1, dt.datetime)):
        raise ValueError(f"{what} must start and end at datetimes")
    if t0.tzinfo is None or t1.tzinfo is None or t1 <= t0:
        raise ValueError(f"{what} must be timezone-aware and end after it starts")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must close a whole number of places, 1 or more, got {n!r}")


def _validate_zone(r: Resource) -> None:
    """Raise ``ValueError`` for an unknown ``time_zone`` or a ``wall_start`` that is not
    the local time of ``start``."""
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


def _validate_award(a: SlotAward) -> None:
    """Raise ``ValueError`` naming the first malformed field of ``a``."""
    if not isinstance(a.slots, numbers.Integral) or a.slots < 1:
        raise ValueError(f"award {a.id}: slots must be at least 1, a whole number")
    if not _real(a.weight) or not (math.isfinite(a.weight) and a.weight > 0):
        raise ValueError(f"award {a.id}: weight must be a positive number")
    for i0, i1 in a.impossible:
        if i0.tzinfo is None or i1.tzinfo is None:
            raise ValueError(f"award {a.id}: impossible periods must be timezone-aware")
        # one of no length (or backwards) made the slot around it unusable
        if i1 <= i0:
            raise ValueError(f"award {a.id}: an impossible period must end after it starts")
