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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opencall.facilities.domain import RECORD_KINDS, UNIT_ALIASES

KINDS: tuple[str, ...] = RECORD_KINDS
#: What came of an award: a publication, a dataset, software (a supercomputer's codes).
OUTPUT_KINDS: tuple[str, ...] = ("publication", "dataset", "software")
#: The summary's count of each output kind.
OUTPUT_COUNTS = {"publication": "publications", "dataset": "datasets", "software": "software"}
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
#: Kinds where one completed record completes the kind (see ``proposal_stages``).
ANY_COMPLETES = frozenset({"session", "course"})
#: Days between reminders for one overdue loan.
REMIND_EVERY_DAYS = 7


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
    if kind == "loan":
        return _date(data.get("returned_on")) is not None or bool(data.get("consumed"))
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


def needs_reminder(
    kind: str,
    data: Mapping[str, Any],
    today: dt.date,
    last_reminded: dt.date | None,
    every_days: int = REMIND_EVERY_DAYS,
) -> bool:
    """Overdue, and not reminded within the last ``every_days`` days."""
    if not is_overdue(kind, data, today):
        return False
    return last_reminded is None or (today - last_reminded).days >= every_days


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
    used = any(is_used(k, d) for k, d in records)
    by_kind: dict[str, list[bool]] = {}
    for k, d in records:
        by_kind.setdefault(k, []).append(is_complete(k, d))
    completed = used and all(
        any(flags) if k in ANY_COMPLETES else all(flags) for k, flags in by_kind.items()
    )
    return {"used": used, "completed": completed, "produced_results": n_outputs > 0}


def follow_up_figures(records: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, float]:
    """An award's course follow-up: people trained, demonstration sites set up and area
    (ha) summed over its follow-up reports, and the yield ratios against the local
    baseline reported there (``yield_ratios``); empty without a follow-up report."""
    reports = [dd for k, dd in records if k == "followup"]
    if not reports:
        return {}
    out: dict[str, Any] = {f: 0.0 for f in FOLLOW_UP_FIGURES}
    out["reports"] = len(reports)
    out["yield_ratios"] = []
    for dd in reports:
        for f in FOLLOW_UP_FIGURES:
            out[f] += float(dd.get(f) or 0)
        r = yield_ratio(dd)
        if r is not None:
            out["yield_ratios"].append(round(r, 3))
    return out


def days_to_first_result(awarded_on: dt.date, result_dates: Iterable[dt.date]) -> int | None:
    """Days from the award to the earliest result (never negative); None without results."""
    dates = sorted(result_dates)
    if not dates:
        return None
    return max(0, (dates[0] - awarded_on).days)


def yield_ratio(data: Mapping[str, Any]) -> float | None:
    """Reported yield against the local baseline (1.0 = as the baseline)."""
    y, b = data.get("yield_t_ha"), data.get("baseline_t_ha")
    if y is None or not b:
        return None
    return float(y) / float(b)


# --------------------------------------------------------------------------- acknowledgement


def _norm(text: str) -> str:
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


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
        elif kind == "followup":
            for f in FOLLOW_UP_FIGURES:
                s[f] = s.get(f, 0.0) + float(d.get(f) or 0)
            r = yield_ratio(d)
            if r is not None:
                s["yield_ratios"].append(round(r, 3))
        elif kind == "package":
            r = yield_ratio(d)
            if r is not None:
                s["yield_ratios"].append(round(r, 3))
    for o in outputs:
        s[OUTPUT_COUNTS.get(str(o.get("kind")), "datasets")] += 1
        if o.get("acknowledges"):
            s["acknowledged"] += 1
    return s
