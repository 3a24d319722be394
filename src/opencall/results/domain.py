"""Pure rules of post-award records and results: no database, no web.

A record is a ``kind`` and a validated ``data`` dict (see ``results.schemas``;
dates are ISO strings there). From it follow whether the award was *used*
(something happened: a loan received, a berth boarded, hours observed, a course
attended, a package planted), whether that use is *complete* (a loan returned
or consumed, a berth sailed, a course completed, a yield reported), and
whether a loan is *overdue*.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from dateutil.relativedelta import relativedelta

from opencall.errors import DomainError
from opencall.facilities.domain import RECORD_KINDS, UNIT_ALIASES
from opencall.optim import wallclock
from opencall.reference.loader import countries

KINDS: tuple[str, ...] = RECORD_KINDS
#: What came of an award: a publication, a dataset, software (a supercomputer's codes),
#: a patent (named by its publication number, :func:`patent_number`).
OUTPUT_KINDS: tuple[str, ...] = ("publication", "dataset", "software", "patent")
#: The summary's count of each output kind.
OUTPUT_COUNTS = {
    "publication": "publications",
    "dataset": "datasets",
    "software": "software",
    "patent": "patents",
}
#: Offices that publish patents and are no country: the European Patent Office, WIPO
#: (PCT), the Eurasian, ARIPO, OAPI and Gulf Cooperation Council offices.
PATENT_OFFICES = frozenset({"EP", "WO", "EA", "AP", "OA", "GC"})
#: A publication number as offices print it, once spaces, commas, dots, slashes and
#: hyphens are taken out: the office's two letters, the serial (4 to 13 digits) and
#: an optional kind code (a letter, perhaps a digit: A, A1, B2, U, C).
PATENT_NUMBER = re.compile(r"([A-Z]{2})(\d{4,13})([A-Z]\d?)?")
LOST_REASONS: tuple[str, ...] = ("weather", "rfi", "fault", "other")

#: The record kinds that fit each pool type of a facility preset.
KINDS_FOR_POOL: dict[str, tuple[str, ...]] = {
    "lst_hours": ("session",),
    "berths": ("berth",),
    "dives": ("berth",),
    "sample_mass": ("loan", "shipment"),
    "seats": ("course", "followup"),
    "packages": ("package", "shipment"),
}
#: A course's follow-up figures, summed per award and per group in the report.
FOLLOW_UP_FIGURES: tuple[str, ...] = ("people_trained", "demo_sites", "area_ha")
#: The units a demonstration site's yield may be reported in, each with its greatest
#: value (outcomes22): t/ha (a field crop, hybrid rice; juncao grass is cut at up to a
#: few hundred t/ha fresh), kg/m2 (a mushroom bed), kg/t (fresh mushrooms per tonne of
#: substrate). A yield without a unit is in t/ha (every yield kept before units).
YIELD_UNITS: dict[str, float] = {"t/ha": 1000.0, "kg/m2": 100.0, "kg/t": 2000.0}
#: Months after a participant completed a course (the course record's ``completed_on``)
#: at which they are asked what they did with it: each a wave of follow-up reports.
FOLLOW_UP_MONTHS: tuple[int, ...] = (6, 12)
#: Days before a wave's due day from which a follow-up report answers it (a report
#: earlier than that answers the wave before, or none).
FOLLOW_UP_EARLY_DAYS = 30
#: Days after a wave's due day during which the PI is reminded of its participants not
#: yet heard from (every ``REPORT_REMIND_EVERY_DAYS`` days); then the wave is left.
FOLLOW_UP_CHASE_DAYS = 90
#: Kinds where one completed record completes the kind (see ``proposal_stages``).
ANY_COMPLETES = frozenset({"session", "course"})
#: Days between reminders for one overdue loan.
REMIND_EVERY_DAYS = 7
#: Days after the award (decisions released) by which its team's first report is due:
#: a record of its use or a result. An award without either by then is chased.
REPORT_DUE_DAYS = 365
#: Days between reminders to the PI of an award whose report is overdue.
REPORT_REMIND_EVERY_DAYS = 30
#: Reminders to the PI of an award never reported before they stop and the user office
#: is left to act (mail20b): 6, about half a year of monthly reminders. The default of
#: ``Settings.report_reminders_max`` (OPENCALL_REPORT_REMINDERS_MAX).
REPORT_REMINDERS_MAX = 6
#: The states of an award's first report, by which the user office filters its awards:
#: nothing reported and past its due day, nothing reported yet but not due, reported (a
#: record or a result, retracted or not: the team told what came of it).
REPORT_STATES: tuple[str, ...] = ("overdue", "pending", "reported")


def patent_number(raw: str) -> str:
    """A patent's publication number in one spelling ("CN112345678A" from "CN 112345678
    A", "US10123456B2" from "US 10,123,456 B2", "WO2020123456A1" from "WO 2020/123456
    A1"); its office is a country's (ISO 3166 alpha-2, the reference data) or a regional
    one (:data:`PATENT_OFFICES`). Anything else raises a DomainError (field ``number``).
    Hand-written: no well-kept library for patent numbers is installed."""
    compact = re.sub(r"[\s,./-]+", "", str(raw or "")).upper()
    m = PATENT_NUMBER.fullmatch(compact)
    if m is None:
        raise DomainError(
            "%(number)s is not a patent publication number (office, serial and kind code, "
            "e.g. CN112345678A).",
            field="number",
            number=repr(str(raw)[:40]),
        )
    office = m.group(1)
    if office not in PATENT_OFFICES and office not in {c.iso2 for c in countries().values()}:
        raise DomainError(
            "%(office)s is no patent office: the patent number starts with a country's "
            "two letters or EP, WO, EA, AP, OA, GC.",
            field="number",
            office=office,
        )
    return compact


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def pool_kind(pool_type: str, unit: str) -> str:
    """The pool type whose record kinds fit a pool: an operator's resource counted in
    course seats is followed like a preset course (attendance, then follow-up)."""
    seats = UNIT_ALIASES.get(unit, unit) == "seat"  # "seats" is the same unit
    return "seats" if pool_type == "custom" and seats else pool_type


def kinds_for(pool_types: Iterable[str]) -> list[str]:
    """Record kinds offered for an award of these pool types (operator-defined use last)."""
    return kinds_of_pools((pt, ()) for pt in pool_types)


def kinds_of_pools(pools: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """Record kinds offered for an award of these pools, each a pool kind
    (:func:`pool_kind`) and the kinds the resource declares (``record_kinds``; empty:
    those of its pool kind); the operator-defined use ``other`` is always offered, last
    unless a resource lists it."""
    out: list[str] = []
    for pt, declared in pools:
        for k in declared or KINDS_FOR_POOL.get(pt, ()):
            if k not in out:
                out.append(k)
    return out if "other" in out else out + ["other"]


def is_used(kind: str, data: Mapping[str, Any]) -> bool:
    """Something of the award was actually used."""
    if kind == "loan":
        return _date(data.get("received_on")) is not None
    if kind == "shipment":
        return _date(data.get("delivered_on")) is not None
    if kind == "berth":
        return _date(data.get("arrived_on")) is not None
    if kind == "session":
        return float(data.get("observed_hours") or 0) > 0
    if kind == "course":
        return bool(data.get("attended"))
    if kind == "followup":
        return any(float(data.get(k) or 0) > 0 for k in FOLLOW_UP_FIGURES)
    if kind == "package":
        return _date(data.get("planted_on")) is not None
    return float(data.get("used_amount") or 0) > 0


def is_complete(kind: str, data: Mapping[str, Any]) -> bool:
    """The use is over: loan returned or consumed, berth sailed, course completed..."""
    if kind == "loan":  # a lost item is never returned: its loan is closed all the same
        return (
            _date(data.get("returned_on")) is not None
            or bool(data.get("consumed"))
            or data.get("condition") == "lost"
        )
    if kind == "shipment":
        return _date(data.get("delivered_on")) is not None and data.get("customs_status") != "held"
    if kind == "berth":
        return _date(data.get("sailed_on")) is not None
    if kind == "session":
        return bool(data.get("completed"))
    if kind == "course":
        return bool(data.get("completed"))
    if kind == "followup":  # a report after the course: nothing left to finish
        return True
    if kind == "package":
        return data.get("yield_t_ha") is not None
    return bool(data.get("completed"))


def is_overdue(kind: str, data: Mapping[str, Any], today: dt.date) -> bool:
    """A loan past its due date that is neither returned nor consumed."""
    if kind != "loan":
        return False
    due = _date(data.get("due_on"))
    return due is not None and due < today and not is_complete(kind, data)


def _not_reminded(today: dt.date, last_reminded: dt.date | None, every_days: int) -> bool:
    """No reminder yet, or none within the last ``every_days`` days."""
    return last_reminded is None or (today - last_reminded).days >= every_days


def needs_reminder(
    kind: str,
    data: Mapping[str, Any],
    today: dt.date,
    last_reminded: dt.date | None,
    every_days: int = REMIND_EVERY_DAYS,
) -> bool:
    """Overdue, and not reminded within the last ``every_days`` days."""
    return is_overdue(kind, data, today) and _not_reminded(today, last_reminded, every_days)


def report_due_on(awarded_on: dt.date) -> dt.date:
    """The day an award's first report (a record or a result) is due."""
    return awarded_on + dt.timedelta(days=REPORT_DUE_DAYS)


def report_overdue(awarded_on: dt.date, reported: bool, today: dt.date) -> bool:
    """Nothing reported (no record, no result) and the report's due day has passed."""
    return not reported and today > report_due_on(awarded_on)


def needs_report_reminder(
    awarded_on: dt.date,
    reported: bool,
    today: dt.date,
    last_reminded: dt.date | None,
    every_days: int = REPORT_REMIND_EVERY_DAYS,
) -> bool:
    """The report is overdue and its PI was not reminded within ``every_days`` days; a
    report (any record or result) stops the reminders."""
    return report_overdue(awarded_on, reported, today) and _not_reminded(
        today, last_reminded, every_days
    )


def days_overdue(data: Mapping[str, Any], today: dt.date) -> int:
    due = _date(data.get("due_on"))
    return max(0, (today - due).days) if due else 0


# --------------------------------------------------------------------------- stages


def proposal_stages(
    records: Sequence[tuple[str, Mapping[str, Any]]], n_outputs: int
) -> dict[str, bool]:
    """Used, completed and produced-results of one awarded proposal.

    ``completed`` needs at least one used record and every record complete, except
    for observing sessions and course participants, where one completed record
    completes the kind (the final session; a team member who completed the course);
    ``produced_results`` needs at least one publication or dataset."""
    return stages_of_flags([(k, is_used(k, d), is_complete(k, d)) for k, d in records], n_outputs)


def stages_of_flags(records: Iterable[tuple[str, bool, bool]], n_outputs: int) -> dict[str, bool]:
    """:func:`proposal_stages` from each record's kind, :func:`is_used` and
    :func:`is_complete` (the flags a record keeps, ``PostAwardRecord.used`` and
    ``.complete``), without its data."""
    used = False
    by_kind: dict[str, list[bool]] = {}
    for k, u, c in records:
        used = used or u
        by_kind.setdefault(k, []).append(c)
    completed = used and all(
        any(flags) if k in ANY_COMPLETES else all(flags) for k, flags in by_kind.items()
    )
    return {"used": used, "completed": completed, "produced_results": n_outputs > 0}


def latest_follow_ups(
    records: Sequence[tuple[str, Mapping[str, Any]]], on_or_after: dt.date | None = None
) -> list[Mapping[str, Any]]:
    """Each participant's latest follow-up report (dated ``on_or_after``, when given): a
    report gives the participant's figures to that date, so a participant followed up
    at one year and again at three counts once, as of the later report."""
    latest: dict[str, Mapping[str, Any]] = {}
    for k, dd in records:
        if k != "followup":
            continue
        when = _date(dd.get("followed_up_on"))
        if on_or_after is not None and (when is None or when < on_or_after):
            continue
        who = _norm(str(dd.get("participant") or ""))
        old = latest.get(who)
        if old is None or (when or dt.date.min) >= (
            _date(old.get("followed_up_on")) or dt.date.min
        ):
            latest[who] = dd
    return list(latest.values())


def follow_up_waves(
    completed_on: dt.date, reported_on: Iterable[dt.date]
) -> list[tuple[int, dt.date, dt.date | None]]:
    """A participant's follow-up waves (``FOLLOW_UP_MONTHS`` after ``completed_on``, a
    month's end kept: 31 August + 6 months is the end of February): each wave's months,
    due day and the earliest of the participant's reports (``reported_on``) that answers
    it, one dated from ``FOLLOW_UP_EARLY_DAYS`` before its due day to that many days
    before the next wave's (None: unanswered)."""
    dues = [completed_on + relativedelta(months=m) for m in FOLLOW_UP_MONTHS]
    early = dt.timedelta(days=FOLLOW_UP_EARLY_DAYS)
    dates = sorted(reported_on)
    out: list[tuple[int, dt.date, dt.date | None]] = []
    for i, (months, due) in enumerate(zip(FOLLOW_UP_MONTHS, dues, strict=True)):
        end = dues[i + 1] - early if i + 1 < len(dues) else dt.date.max
        hit = next((x for x in dates if due - early <= x < end), None)
        out.append((months, due, hit))
    return out


def participant_waves(
    records: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[tuple[int, str, int, dt.date, dt.date | None]]:
    """The follow-up waves (:func:`follow_up_waves`) of an award's participants: one
    entry per completed course record with its ``completed_on`` (its index in
    ``records``, participant, months, due day, answered on), answered by the award's
    follow-up reports of that participant (name matched without case, accents or
    punctuation). A course completed without a day has no waves: nothing to count from."""
    reports: dict[str, list[dt.date]] = {}
    for k, dd in records:
        when = _date(dd.get("followed_up_on")) if k == "followup" else None
        if when is not None:
            reports.setdefault(_norm(str(dd.get("participant") or "")), []).append(when)
    out = []
    for i, (k, dd) in enumerate(records):
        done = _date(dd.get("completed_on")) if k == "course" else None
        if done is None or not dd.get("completed"):
            continue
        who = str(dd.get("participant") or "")
        for months, due, answered in follow_up_waves(done, reports.get(_norm(who), [])):
            out.append((i, who, months, due, answered))
    return out


def wave_response(
    records: Sequence[tuple[str, Mapping[str, Any]]], today: dt.date
) -> dict[int, tuple[int, int]]:
    """Per wave (months) of an award's course: its participants whose wave is due by
    ``today`` and how many of them answered it (:func:`participant_waves`). Empty
    without a wave due."""
    out: dict[int, tuple[int, int]] = {}
    for _, _, months, due, answered in participant_waves(records):
        if due <= today:
            n, k = out.get(months, (0, 0))
            out[months] = (n + 1, k + int(answered is not None))
    return out


def needs_follow_up_reminder(
    due: dt.date,
    answered: dt.date | None,
    today: dt.date,
    last_reminded: dt.date | None,
    every_days: int = REPORT_REMIND_EVERY_DAYS,
) -> bool:
    """A wave is unanswered, due, at most ``FOLLOW_UP_CHASE_DAYS`` days late, and its
    participant's PI was not asked about it within ``every_days`` days (a reminder
    before the due day was about an earlier wave)."""
    if answered is not None or not due <= today <= due + dt.timedelta(days=FOLLOW_UP_CHASE_DAYS):
        return False
    return last_reminded is None or last_reminded <= follow_up_cutoff(due, today, every_days)


def follow_up_cutoff(
    due: dt.date, today: dt.date, every_days: int = REPORT_REMIND_EVERY_DAYS
) -> dt.date:
    """The latest last reminder after which a wave due on ``due`` may be chased
    ``today``: any before its due day, or one ``every_days`` days ago."""
    return max(due - dt.timedelta(days=1), today - dt.timedelta(days=every_days))


def trained_by_country(reports: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The people trained in these follow-up reports (each participant's latest,
    :func:`latest_follow_ups`) by their country (``trained_countries``, outcomes22), those
    of reports that named none under ``""`` (left out when there are none)."""
    out: dict[str, int] = {}
    for dd in reports:
        where = dd.get("trained_countries") or {}
        for iso3, n in where.items():
            out[iso3] = out.get(iso3, 0) + int(n)
        if not where and dd.get("people_trained"):
            out[""] = out.get("", 0) + int(dd["people_trained"])
    return out


#: Years after the award at which the demonstration sites still running are counted.
SITES_RUNNING_AFTER_YEARS: tuple[int, ...] = (1, 3)


def follow_up_figures(
    records: Sequence[tuple[str, Mapping[str, Any]]], awarded_on: dt.date | None = None
) -> dict[str, Any]:
    """An award's course follow-up: people trained (women among them where reported),
    demonstration sites set up and area (ha), summed over its participants' latest
    reports (:func:`latest_follow_ups`; ``people_trained_gender_counted``: the people
    trained in the reports that counted women among them), the yield ratios against the local baseline
    reported there (``yield_ratios``), and, given the award's date, the sites still
    running ``SITES_RUNNING_AFTER_YEARS`` after it (``sites_running_1y``, ...: from each
    participant's latest report dated that long after the award; ``reporting_1y``, ...:
    the participants reporting then). Empty without a follow-up report."""
    reports = latest_follow_ups(records)
    if not reports:
        return {}
    out: dict[str, Any] = {f: 0.0 for f in FOLLOW_UP_FIGURES}
    out["reports"] = sum(1 for k, _ in records if k == "followup")
    out["participants"] = len(reports)
    out["people_trained_women"] = 0.0
    # the people trained in the reports that counted the women among them (outcomes21):
    # the share of women is of these, not of every person trained
    out["people_trained_gender_counted"] = 0.0
    out["yield_ratios"] = []
    # the trainees' countries (outcomes22): people by country, and the people trained in
    # the reports that gave them
    where = trained_by_country(reports)
    unnamed = where.pop("", 0)
    out["trained_by_country"] = where
    for dd in reports:
        for f in FOLLOW_UP_FIGURES:
            out[f] += float(dd.get(f) or 0)
        out["people_trained_women"] += float(dd.get("people_trained_women") or 0)
        if dd.get("people_trained_women") is not None:
            out["people_trained_gender_counted"] += float(dd.get("people_trained") or 0)
        r = yield_ratio(dd)
        if r is not None:
            out["yield_ratios"].append(round(r, 3))
    out["people_trained_country_counted"] = out["people_trained"] - unnamed
    if awarded_on is not None:
        for years in SITES_RUNNING_AFTER_YEARS:
            later = latest_follow_ups(
                records, awarded_on + dt.timedelta(days=round(365.25 * years))
            )
            out[f"reporting_{years}y"] = len(later)
            out[f"sites_running_{years}y"] = float(
                sum(float(dd.get("demo_sites_running") or 0) for dd in later)
            )
    return out


def unit_key(unit: str) -> str:
    """A unit as the figures count it: ``berths`` and ``berth`` are one unit."""
    return UNIT_ALIASES.get(unit, unit)


#: Milligrams in one unit of mass: a loan's mass (``mass_mg``) is counted in its
#: award's unit when that is one of these (an archive's resource in grams).
MG_IN = {"mg": 1.0, "g": 1_000.0, "kg": 1_000_000.0}


#: The key under which the figures hand a record kept against one award its award's unit
#: (never stored: the records' data are validated without it).
AWARD_UNIT = "_award_unit"


def used_amounts(
    kind: str,
    data: Mapping[str, Any],
    other_unit: str = "",
    slot_hours: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """How much of the award one record used, by unit (:func:`unit_key`): a session's
    observed hours (and, when its award is counted in slots of a known length,
    ``slot_hours`` {unit: hours of one slot}, as many of those slots: 24 hours observed of
    an award in 8-hour shifts used 3 shifts), a berth boarded and its dives, a loan's mass
    once received (in ``other_unit`` when that is a unit of mass of :data:`MG_IN`, else in
    mg), a course seat attended, a package planted, an operator's ``used_amount`` in
    ``other_unit`` (its award's unit; nothing when unknown)."""
    if kind == "session":
        hours = float(data.get("observed_hours") or 0)
        unit = data.get(AWARD_UNIT) or other_unit
        length = (slot_hours or {}).get(unit) if unit else None
        if length and unit_key(unit) != "h":
            return {"h": hours, unit_key(unit): hours / float(length)}
        return {"h": hours}
    if kind == "berth":
        boarded = 1.0 if _date(data.get("arrived_on")) is not None else 0.0
        return {"berth": boarded, "dive": float(data.get("dives_made") or 0)}
    if kind == "loan":
        received = _date(data.get("received_on")) is not None
        if data.get("mass_mg") is None:
            return {}  # an item lent (an instrument), not a sample by mass
        mass = unit_key(other_unit) if unit_key(other_unit) in MG_IN else "mg"
        return {mass: float(data.get("mass_mg") or 0) / MG_IN[mass] if received else 0.0}
    if kind == "course":
        return {"seat": 1.0 if data.get("attended") else 0.0}
    if kind == "package":
        return {"package": 1.0 if _date(data.get("planted_on")) is not None else 0.0}
    unit = data.get(AWARD_UNIT) or other_unit
    if kind == "other" and unit:
        return {unit_key(unit): float(data.get("used_amount") or 0)}
    return {}


#: The genders a course participant may be recorded with ("": not collected).
GENDERS: tuple[str, ...] = ("female", "male", "other")


def award_use(usage_kind: str, amounts: Sequence[float]) -> float:
    """What the records' amounts on one award used of it: their sum where the resource's
    use is ``consumed`` (core-hours spent), their peak where it is ``occupied`` (a level
    held: three monthly reports of 56 TB used 56 TB, not 168; usage23); 0 with none."""
    if usage_kind == "occupied":
        return max(amounts, default=0.0)
    return float(sum(amounts))


def use_figures(
    records: Sequence[tuple[str, Mapping[str, Any]]],
    awarded: Mapping[str, float],
    today: dt.date,
    other_unit: str = "",
    slot_hours: Mapping[str, float] | None = None,
    occupied: Collection[str] = (),
) -> dict[str, float]:
    """One award's use of what it was given, as flat figures that add up over awards
    (the report sums them per group; the award's page shows them): ``awarded:<unit>``
    (``awarded``: the award's amounts by pool unit) and ``used:<unit>``
    (:func:`used_amounts`, ``slot_hours`` the length of one slot of its units counted in
    slots); ``lost_hours:<reason>``; ``samples_taken`` on dives; the
    loans (``loans``, ``loans_returned_on_time``, ``loans_returned_late``,
    ``loans_overdue``, ``loans_consumed``: destroyed in the analysis, ``mass_consumed_mg``,
    ``loans_damaged`` and ``loans_lost``: an item that came back damaged, or never, and
    ``lost_weeks:outage``: a lost item's weeks from its loss to its due day, :func:`lost_weeks`);
    course ``participants``, ``attended`` and ``completed``, and ``participants:<gender>``
    where the gender was collected. A unit of ``occupied`` (:func:`unit_key`s of the
    award's resources whose use is a level held, usage23) counts its peak record, not
    their sum."""
    out: dict[str, float] = {}
    levels: dict[str, list[float]] = {}

    def add(key: str, v: float) -> None:
        out[key] = out.get(key, 0.0) + v

    for unit, amount in awarded.items():
        add(f"awarded:{unit_key(unit)}", float(amount))
        out.setdefault(f"used:{unit_key(unit)}", 0.0)
    for kind, dd in records:
        used = used_amounts(kind, dd, other_unit, slot_hours)
        if kind == "session" and len(used) > 1 and "awarded:h" in out:
            # the hours observed on a tool counted in slots are its slots, not the hours
            # of the team's award in hours (a clean room's engineer hours)
            used.pop("h", None)
        for unit, v in used.items():
            if unit in occupied:
                levels.setdefault(unit, []).append(v)
            else:
                add(f"used:{unit}", v)
        if kind == "session" and float(dd.get("lost_hours") or 0) > 0:
            add(f"lost_hours:{dd.get('lost_reason') or 'other'}", float(dd["lost_hours"]))
        elif kind == "berth":
            add("samples_taken", float(dd.get("samples_taken") or 0))
        elif kind == "loan":
            add("loans", 1)
            due, back = _date(dd.get("due_on")), _date(dd.get("returned_on"))
            if back is not None:
                on_time = due is None or back <= due
                add("loans_returned_on_time" if on_time else "loans_returned_late", 1)
            if dd.get("condition") in ("damaged", "lost"):
                add(f"loans_{dd['condition']}", 1)
            weeks = lost_weeks(dd)
            if weeks:
                add("lost_weeks:outage", weeks)
            if dd.get("consumed"):
                add("loans_consumed", 1)
                add("mass_consumed_mg", float(dd.get("mass_mg") or 0))
            if is_overdue(kind, dd, today):
                add("loans_overdue", 1)
        elif kind == "course":
            add("participants", 1)
            add("attended", 1 if dd.get("attended") else 0)
            add("completed", 1 if dd.get("completed") else 0)
            if dd.get("gender") in GENDERS:
                add(f"participants:{dd['gender']}", 1)
    for unit, seen in levels.items():
        add(f"used:{unit}", award_use("occupied", seen))
    return out


def lost_weeks(data: Mapping[str, Any]) -> float:
    """A lost item's loan: the weeks from the day it was lost (``lost_on``) to its due day,
    capacity the facility lost to an outage (outcomes18); 0 for any other loan, one lost
    on or after its due day, or one whose day lost or due day is not recorded."""
    lost, due = _date(data.get("lost_on")), _date(data.get("due_on"))
    if data.get("condition") != "lost" or lost is None or due is None:
        return 0.0
    return max(0, (due - lost).days) / 7


def days_to_first_result(awarded_on: dt.date, result_dates: Iterable[dt.date]) -> int | None:
    """Days from the award to the earliest result (never negative); None without results."""
    dates = sorted(result_dates)
    if not dates:
        return None
    return max(0, (dates[0] - awarded_on).days)


def site_yields(records: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, float, float]]:
    """The demonstration sites' yields of an award, each (unit, yield, local check): its
    demonstration packages' and its participants' latest follow-up reports' (a later
    report replaces an earlier one, :func:`latest_follow_ups`), those that report one."""
    data = [dd for k, dd in records if k == "package"] + latest_follow_ups(records)
    return [
        (str(dd.get("yield_unit") or "t/ha"), float(dd["yield_t_ha"]), float(dd["baseline_t_ha"]))
        for dd in data
        if dd.get("yield_t_ha") is not None and dd.get("baseline_t_ha")
    ]


def yield_ratio(data: Mapping[str, Any]) -> float | None:
    """Reported yield against the local baseline (1.0 = as the baseline)."""
    y, b = data.get("yield_t_ha"), data.get("baseline_t_ha")
    if y is None or not b:
        return None
    return float(y) / float(b)


# --------------------------------------------------------------------------- acknowledgement


def _norm(text: str) -> str:
    """``text`` compared without case, accents or punctuation, in any script: letters
    and digits of every script are kept ("张伟" and "王芳" stay two names; before
    outcomes21 every letter outside ASCII was dropped, so that all names written in
    Chinese, Amharic or Arabic were one name, ""); in a script written without spaces
    (Chinese, Japanese) a space typed between letters is ignored: "王 芳" is "王芳"."""
    t = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()
    words = re.sub(r"[\W_]+", " ", t).split()
    if not words:
        return ""
    # a script written without spaces (Chinese, Japanese): "王 芳" is "王芳"
    out = [words[0]]
    for w in words[1:]:
        if _unspaced(out[-1][-1]) and _unspaced(w[0]):
            out[-1] += w
        else:
            out.append(w)
    return " ".join(out)


def _unspaced(ch: str) -> bool:
    """A letter of a script whose words are not spaced (East Asian wide characters)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def acknowledges(text: str, names: Iterable[str]) -> list[str]:
    """The facility names, award or proposal codes that ``text`` mentions (word-bounded,
    case, accents and punctuation ignored); empty when it acknowledges none."""
    hay = f" {_norm(text)} "
    found = []
    for name in names:
        n = _norm(name)
        if n and f" {n} " in hay:
            found.append(name)
    return found


def outcome_summary(
    records: Sequence[tuple[str, Mapping[str, Any]]],
    outputs: Sequence[Mapping[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    """Per-award outcome summary: what was used, lost, returned, produced."""
    s: dict[str, Any] = {
        "records": len(records),
        "observed_hours": 0.0,
        "lost_hours": {r: 0.0 for r in LOST_REASONS},
        "dives_made": 0,
        "loans_out": 0,
        "loans_overdue": 0,
        "loans_closed": 0,
        "mass_consumed_mg": 0.0,
        "participants_completed": 0,
        "certificates": 0,
        "yield_ratios": [],
        "people_trained": 0.0,
        "demo_sites": 0.0,
        "area_ha": 0.0,
        "publications": 0,
        "datasets": 0,
        "software": 0,
        "patents": 0,
        "acknowledged": 0,
    }
    for kind, d in records:
        if kind == "session":
            s["observed_hours"] += float(d.get("observed_hours") or 0)
            reason = d.get("lost_reason") or "other"
            s["lost_hours"][reason] = s["lost_hours"].get(reason, 0.0) + float(
                d.get("lost_hours") or 0
            )
        elif kind == "berth":
            s["dives_made"] += int(d.get("dives_made") or 0)
        elif kind == "loan":
            if is_complete(kind, d):
                s["loans_closed"] += 1
            else:
                s["loans_out"] += 1
            if is_overdue(kind, d, today):
                s["loans_overdue"] += 1
            if d.get("consumed"):
                s["mass_consumed_mg"] += float(d.get("mass_mg") or 0)
        elif kind == "course":
            if d.get("completed"):
                s["participants_completed"] += 1
            if d.get("certificate"):
                s["certificates"] += 1
        elif kind == "package":
            r = yield_ratio(d)
            if r is not None:
                s["yield_ratios"].append(round(r, 3))
    # the course follow-up as the report counts it (each participant's latest report)
    fu = follow_up_figures(records)
    for f in FOLLOW_UP_FIGURES:
        s[f] = fu.get(f, 0.0)
    s["yield_ratios"] += fu.get("yield_ratios", [])
    for o in outputs:
        s[OUTPUT_COUNTS.get(str(o.get("kind")), "datasets")] += 1
        if o.get("acknowledges"):
            s["acknowledged"] += 1
    return s


#: the columns of a node's bookings (the JSON API's fields and the CSV's header)
BOOKING_FIELDS = (
    "id", "proposal_code", "resource_id", "resource", "kind", "label", "start", "end",
    "amount", "time_zone", "local_start", "local_end", "unit",
)  # fmt: skip


def booking(entry: Any, proposal_code: str, pool: Any) -> dict[str, Any]:
    """A schedule entry on a resource as a node's staff read it: UTC, and the resource's
    own clock when it has a time zone (``local_*``, ISO with the offset; else empty)."""
    zone = pool.time_zone or ""
    return {
        "id": entry.id,
        "proposal_code": proposal_code,
        "resource_id": pool.id,
        "resource": pool.name,
        "kind": entry.kind,
        "label": entry.label,
        "start": entry.start,
        "end": entry.end,
        "amount": entry.amount,
        "time_zone": zone,
        "local_start": wallclock.zone_iso(entry.start, zone),
        "local_end": wallclock.zone_iso(entry.end, zone),
        "unit": pool.unit,  # the amount's unit (trialfac22: the CSV and API had none)
    }


def programme_roots(links: Mapping[int, int | None]) -> dict[int, int]:
    """{proposal id: the first award of its programme} from ``links`` ({proposal id: the
    earlier award it continues, None: none}; outcomes19): a renewal's programme is its
    chain's first award, a proposal that continues nothing is its own. A chain that loops
    (refused when marked, so never stored) ends where it meets itself."""
    out: dict[int, int] = {}
    for start in links:
        seen = [start]
        at = start
        while True:
            if at in out:
                root = out[at]
                break
            nxt = links.get(at)
            if nxt is None or nxt in seen:
                root = at
                break
            seen.append(nxt)
            at = nxt
        for pid in seen:
            out.setdefault(pid, root)
    return out
