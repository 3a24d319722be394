"""A slot grid kept in a site's local wall-clock time (an IANA time zone) across daylight
saving changes: a beamline whose shifts run 00:00-08:00, 08:00-16:00 and 16:00-24:00 in
Europe/Berlin keeps those local bounds every day, so the night shift of the day the clocks
go forward lasts 7 hours and that of the day they go back 9.

The rule (documented for operators in ``docs/operators.md``, "Time zones of a site"):

* slot ``k`` covers the local wall-clock times ``[w0 + k * step, w0 + (k + 1) * step)``,
  ``w0`` the local start of the period, ``step`` the slot length;
* a local time that occurs twice (the clocks go back) is its first occurrence;
* a local time that does not exist (the clocks go forward) is the instant the clocks jump,
  so a slot that lies wholly inside the skipped hour has no length and is not a slot
  (hourly slots: the 02:00-03:00 slot of that day in Berlin does not exist);
* the first slot starts at the period's start, even when the start is the second
  occurrence of a repeated local time (a slot bound inside the repeat that would come
  before it is the start itself);
* a period that starts at a skipped local time (a day from 00:00 in America/Santiago on
  the day its clocks go from 00:00 to 01:00) starts at the jump, whose reading (01:00) is
  not the time the slots count from: the caller gives that local time (``wall_start``),
  else every slot of the period would begin an hour late;
* without a time zone (``""``) the grid is fixed in UTC: every slot lasts ``step``.

Standard library only (``zoneinfo``; the ``tzdata`` package supplies the database where
the system has none).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

UTC = dt.UTC


@functools.lru_cache(maxsize=64)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` when the database does not hold it."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_instant(wall: dt.datetime, name: str) -> dt.datetime:
    """The UTC instant of the naive local wall-clock time ``wall`` in zone ``name`` (the
    rule of the module doc: first occurrence of a repeated time, the jump itself for a
    skipped one). ``name`` empty: ``wall`` is UTC."""
    wall = wall.replace(tzinfo=None)
    if not name:
        return wall.replace(tzinfo=UTC)
    tz = zone(name)
    at = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if at.astimezone(tz).replace(tzinfo=None) == wall:
        return at
    # skipped by the clocks: the jump lies between the two readings of ``wall`` (with the
    # offsets before and after it); find it to the second (transitions are whole seconds)
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = at
    if hi < lo:
        lo, hi = hi, lo
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + dt.timedelta(seconds=(hi - lo).total_seconds() // 2)
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def local_wall(at: dt.datetime, name: str) -> dt.datetime:
    """The naive local wall-clock time of the instant ``at`` in zone ``name`` (UTC when
    ``name`` is empty)."""
    return at.astimezone(zone(name) if name else UTC).replace(tzinfo=None)


def zone_iso(at: dt.datetime | None, name: str) -> str:
    """The instant ``at`` on the clock of zone ``name`` as ISO 8601 with its offset
    ("2027-03-28T00:00:00+01:00"), or "" where there is no instant or no zone: a site's own
    time shown beside UTC (a schedule's CSV, a booking, a call's deadline)."""
    return at.astimezone(zone(name)).isoformat() if at and name else ""


@functools.lru_cache(maxsize=64)
def grid(
    start: dt.datetime,
    end: dt.datetime,
    slot_hours: float,
    name: str = "",
    wall_start: dt.datetime | None = None,
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The slots ``[start, end)`` of a period from the instant ``start`` to ``end``, each
    ``slot_hours`` of local wall-clock time in zone ``name`` (of real time when ``name`` is
    empty), as UTC instants; a slot ends at or before ``end``. Cached: a resource's page,
    its capacity checks and its schedule ask for the same grid (at most 20,000 slots).

    Parameters
    ----------
    start, end : datetime.datetime
        The period, timezone-aware.
    slot_hours : float
        The length of a slot, in hours of the local wall clock.
    name : str, optional
        The IANA zone; empty for UTC.
    wall_start : datetime.datetime, optional
        The naive local time the slots count from, whose instant (``local_instant``) is
        ``start``: needed only when ``start`` is the jump of a skipped time, where the
        reading of ``start`` is the time after the jump. Default: that reading.

    Returns
    -------
    tuple of (datetime.datetime, datetime.datetime)
        The slots as UTC ``[start, end)`` pairs, in order.

    Raises
    ------
    ValueError
        ``wall_start`` is not a local time of ``start``.
    """
    step = dt.timedelta(hours=slot_hours)
    if wall_start is not None and name:
        wall_start = wall_start.replace(tzinfo=None)
        if local_instant(wall_start, name) != start:
            raise ValueError(
                f"wall_start {wall_start.isoformat()} is not the local time of the period's "
                f"start {start.isoformat()} in {name}"
            )
    out: list[tuple[dt.datetime, dt.datetime]] = []
    if not name:
        k = 0
        t = start
        # the slot compared with what is left (``t + step`` passed the year 9999 for a
        # slot of 1e9 hours: OverflowError)
        while end - t >= step:
            out.append((t, t + step))
            k += 1
            t = start + k * step
        return tuple(out)
    w0 = local_wall(start, name) if wall_start is None else wall_start
    w_end = local_wall(end, name)
    k = 0
    # a period that starts in the second occurrence of a repeated hour: its local time's
    # first occurrence (and that of the slot bounds still inside the repeat) lies before
    # ``start``; the first slot starts at ``start`` all the same (it began an hour early)
    t0 = start
    while (k + 1) * step <= w_end - w0:
        t1 = max(local_instant(w0 + (k + 1) * step, name), start)
        if t1 > t0:
            out.append((t0, t1))
        t0 = t1
        k += 1
    return tuple(out)
