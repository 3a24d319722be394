"""iCalendar (RFC 5545) files of slot schedules, written with the ``icalendar`` library:
times in UTC (``...Z``), or, for a resource with a site time zone, in that zone (``TZID``,
with its VTIMEZONE, daylight saving rules included, so a calendar program shows the local
shift 00:00-08:00 on the night the clocks change); one VEVENT per slot or unavailable
period, UIDs given by the caller (stable across exports)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

PRODID = "-//OpenCall//slot schedule//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: dt.datetime
    end: dt.datetime
    summary: str
    description: str = ""
    location: str = ""
    transparent: bool = False  # an unavailable period does not make anyone busy
    # the page of the event on the site: absolute (OPENCALL_BASE_URL ...), as a calendar
    # application opens it outside any page (RFC 5545 URL is a URI)
    url: str = ""
    # the resource's site time zone (IANA): the times are written in it; "" for UTC
    time_zone: str = ""


def to_ics(name: str, events: Iterable[CalendarEvent], *, stamp: dt.datetime) -> bytes:
    """The calendar as bytes; ``stamp`` (the schedule's time) is every event's DTSTAMP, so the
    same schedule exports byte for byte the same."""
    from icalendar import Calendar, Event

    from opencall.optim.wallclock import zone

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for e in events:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp.astimezone(dt.UTC))
        tz = zone(e.time_zone) if e.time_zone else dt.UTC
        ev.add("dtstart", e.start.astimezone(tz))
        ev.add("dtend", e.end.astimezone(tz))
        ev.add("summary", e.summary)
        if e.description:
            ev.add("description", e.description)
        if e.location:
            ev.add("location", e.location)
        if e.url:
            ev.add("url", e.url)
        ev.add("transp", "TRANSPARENT" if e.transparent else "OPAQUE")
        cal.add_component(ev)
    cal.add_missing_timezones()  # the VTIMEZONE of each zone used (none for UTC alone)
    return bytes(cal.to_ical())
