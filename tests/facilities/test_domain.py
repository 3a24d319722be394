"""The resource model, pure: units, calendars, request forms as data."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencall.errors import DomainError
from opencall.facilities import domain as d
from tests.facilities.builders import disjoint_spans

UTC = dt.UTC


def t(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_unit_labels_built_in_and_own() -> None:
    assert d.unit_label("session", {}, 1, "en") == "session"
    assert d.unit_label("session", {}, 3, "en") == "sessions"
    assert d.unit_label("session", None, None, "fr") == "sessions"
    assert d.unit_label("seats", {}, 2, "es") == "plazas"  # a preset's plural key
    assert d.unit_label("h", {}, 2, "en") == "hours"
    own = {"en": {"one": "grid", "other": "grids"}, "fr": {"one": "grille", "other": "grilles"}}
    assert d.unit_label("grid", own, 1, "fr") == "grille"
    assert d.unit_label("grid", own, 2, "zh") == "grids"  # falls back to English
    assert d.unit_label("widget", {}, 2, "en") == "widget"  # nothing known: the key


def test_unknown_unit_is_refused_and_own_unit_needs_every_language() -> None:
    with pytest.raises(DomainError, match="Unknown unit 'widget'") as err:
        d.check_unit("widget", None)
    assert err.value.field == "unit"
    with pytest.raises(DomainError, match="en, zh, fr and es"):
        d.check_unit("grid", {"en": {"one": "grid", "other": "grids"}})
    labels = {lg: {"one": "grid", "other": "grids"} for lg in d.LANGS}
    assert d.check_unit("grid", labels)["zh"] == {"one": "grid", "other": "grids"}
    assert d.check_unit("session", None) == {}


def cryo(**kw: object) -> dict:
    doc = {"period_start": "2027-01-01", "period_end": "2027-03-31", "slot_hours": 24}
    doc.update(kw)  # type: ignore[arg-type]
    return doc


def test_calendar_capacity_counts_whole_slots_outside_maintenance() -> None:
    cal = d.check_calendar(cryo())
    assert cal.slot_capacity() == 90
    week = [{"starts_at": t("2027-02-01"), "ends_at": t("2027-02-08"), "reason": "maintenance"}]
    cal = d.check_calendar(cryo(unavailable=week))
    assert cal.slot_capacity() == 83
    d.check_amount(83, cal, "session")
    with pytest.raises(DomainError, match="at most 83 fit") as err:
        d.check_amount(84, cal, "session")
    assert err.value.field == "amount"
    # a half-day outage costs a whole 24-hour slot on each side it cuts
    half = [{"starts_at": t("2027-02-01", 12), "ends_at": t("2027-02-02", 12), "reason": "x"}]
    assert d.check_calendar(cryo(unavailable=half)).slot_capacity() == 88


def test_the_days_of_a_period_begin_at_the_resources_hour() -> None:
    # 8-hour shifts from 08:00 in Bangkok (UTC+7): the days begin at 01:00 UTC
    cal = d.check_calendar(cryo(slot_hours=8, day_start_hour=1))
    assert cal.bounds() == (t("2027-01-01", 1), t("2027-04-01", 1))
    assert cal.slot_capacity() == 270
    # a maintenance week on the facility's days costs 21 shifts; on UTC days, 22
    week = {"starts_at": t("2027-02-01", 1), "ends_at": t("2027-02-08", 1)}
    assert d.check_calendar(cryo(slot_hours=8, day_start_hour=1, unavailable=[week])
                            ).slot_capacity() == 249  # fmt: skip
    utc = {"starts_at": t("2027-02-01"), "ends_at": t("2027-02-08")}
    assert d.check_calendar(cryo(slot_hours=8, day_start_hour=1, unavailable=[utc])
                            ).slot_capacity() == 248  # fmt: skip
    # the first day's midnight UTC is before the period now
    early = {"starts_at": t("2027-01-01"), "ends_at": t("2027-01-01", 1)}
    with pytest.raises(DomainError, match="inside the resource"):
        d.check_calendar(cryo(slot_hours=8, day_start_hour=1, unavailable=[early]))
    for bad in (-1, 24, float("nan")):
        with pytest.raises(DomainError) as err:
            d.check_calendar(cryo(day_start_hour=bad))
        assert err.value.field == "calendar"


@pytest.mark.parametrize(
    ("unavailable", "message"),
    [
        ([{"starts_at": t("2027-02-08"), "ends_at": t("2027-02-01")}], "end after it starts"),
        ([{"starts_at": t("2026-12-30"), "ends_at": t("2027-01-02")}], "inside the resource"),
        (
            [
                {"starts_at": t("2027-02-01"), "ends_at": t("2027-02-08")},
                {"starts_at": t("2027-02-07"), "ends_at": t("2027-02-10")},
            ],
            "overlap",
        ),
    ],
)
def test_bad_unavailable_periods_are_refused(unavailable: list, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        d.check_calendar(cryo(unavailable=unavailable))


def test_period_must_be_ordered() -> None:
    with pytest.raises(DomainError, match="end on or after"):
        d.check_calendar(cryo(period_end="2026-12-01"))


@given(
    days=st.integers(1, 120),
    slot=st.sampled_from([1.0, 8.0, 12.0, 24.0, 48.0]),
    cuts=st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 200)), max_size=5),
)
def test_slot_capacity_never_exceeds_free_hours(days: int, slot: float, cuts: list) -> None:
    start = dt.date(2027, 1, 1)
    lo = dt.datetime.combine(start, dt.time(), UTC)
    hi = lo + dt.timedelta(days=days)
    spans = disjoint_spans(lo, hi, cuts)
    cal = d.check_calendar(
        {
            "period_start": start,
            "period_end": start + dt.timedelta(days=days - 1),
            "slot_hours": slot,
            "unavailable": spans,
        }
    )
    cap = cal.slot_capacity()
    assert cap is not None and 0 <= cap
    assert cap * slot <= cal.available_hours() + 1e-6
    if not spans:
        assert cap == int(days * 24 // slot)


FIELDS = [
    {"key": "sample", "type": "text", "labels": {"en": "Sample", "fr": "Échantillon"},
     "required": True, "max_length": 20},
    {"key": "grids", "type": "number", "labels": {"en": "Grids"}, "min": 1, "max": 12,
     "integer": True, "unit": "grids"},
    {"key": "mode", "type": "choice", "labels": {"en": "Mode"},
     "options": ["screening", "data collection"]},
    {"key": "window", "type": "date_range", "labels": {"en": "Preferred window"}},
    {"key": "site", "type": "coordinates", "labels": {"en": "Site"}},
    {"key": "targets", "type": "target_list", "labels": {"en": "Targets"}, "max_items": 2},
    {"key": "plan", "type": "file", "labels": {"en": "Plan"}},
]  # fmt: skip


def test_request_fields_declared_as_data_round_trip() -> None:
    stored = d.check_request_fields(FIELDS)
    assert [f["type"] for f in stored] == [f["type"] for f in FIELDS]
    amount, clean = d.validate_details(
        stored,
        {
            "amount": "2",
            "sample": " apoferritin ",
            "grids": "4",
            "mode": "screening",
            "window": ["2027-01-10", "2027-01-20"],
            "site": {"lat": "10.5", "lon": -3},
            "targets": ["A", {"name": "B", "ra_deg": 10}],
            "plan": "plan.pdf",
            "impossible_dates": [["2027-02-01", "2027-02-03"]],
            "bundle_together": True,
        },
        slot_based=True,
        period=(dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
    )
    assert amount == 2
    assert clean["grids"] == 4 and clean["sample"] == "apoferritin"
    assert clean["site"] == {"lat": 10.5, "lon": -3.0}
    assert clean["targets"][1] == {"name": "B", "ra_deg": 10.0}
    assert clean["impossible_dates"] == [["2027-02-01", "2027-02-03"]]


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        ({"amount": 1}, "sample", "Sample: this field is required"),
        ({"amount": 1, "sample": "x" * 21}, "sample", "Sample: at most 20 characters"),
        ({"amount": 1, "sample": "s", "grids": 13}, "grids", "Grids: must be at most 12"),
        ({"amount": 1, "sample": "s", "grids": 2.5}, "grids", "Grids: enter a whole number"),
        ({"amount": 1, "sample": "s", "mode": "x"}, "mode", "Mode: choose one of"),
        ({"amount": 1, "sample": "s", "window": ["2027-02-02", "2027-02-01"]}, "window",
         "Preferred window: the last day"),
        ({"amount": 1, "sample": "s", "site": {"lat": 91, "lon": 0}}, "site", "Site: the latitude"),
        ({"amount": 1, "sample": "s", "targets": ["a", "b", "c"]}, "targets", "at most 2"),
        ({"amount": 1, "sample": "s", "plan": "../x"}, "plan", "Plan: give the name"),
        ({"amount": 0, "sample": "s"}, "amount", "Amount"),
        ({"amount": 1.5, "sample": "s"}, "amount", "whole number of slots"),
        ({"amount": 1, "sample": "s", "colour": "red"}, "colour", "no field 'colour'"),
        ({"amount": 1, "sample": "s", "impossible_dates": [["2028-01-01", "2028-01-02"]]},
         "impossible_dates", "outside the resource's period"),
        ({"amount": 1, "sample": "s", "bundle_together": "yes"}, "bundle_together", "true or false"),
    ],
)  # fmt: skip
def test_each_bad_detail_names_its_field(details: dict, field: str, message: str) -> None:
    with pytest.raises(d.FieldProblem) as err:
        d.validate_details(
            d.check_request_fields(FIELDS),
            details,
            slot_based=True,
            period=(dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
        )
    assert err.value.field == field
    assert message in err.value.message


def test_labels_in_the_applicants_language() -> None:
    with pytest.raises(d.FieldProblem, match="Échantillon"):
        d.validate_details(d.check_request_fields(FIELDS), {"amount": 1}, slot_based=False,
                           lang="fr")  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([{"key": "x", "type": "colour", "labels": {"en": "X"}}], "field 1"),
        ([{"key": "x", "type": "text", "labels": {"fr": "X"}}], "English label"),
        ([{"key": "amount", "type": "text", "labels": {"en": "X"}}], "reserved"),
        ([{"key": "x", "type": "number", "labels": {"en": "X"}, "min": 5, "max": 1}], "maximum"),
        ([{"key": "x", "type": "choice", "labels": {"en": "X"}, "options": []}], "field 1"),
        ([{"key": "x", "type": "text", "labels": {"en": "X"}}] * 2, "two fields"),
        ([{"key": "Bad key", "type": "text", "labels": {"en": "X"}}], "field 1 key"),
    ],
)
def test_bad_request_forms_are_refused(fields: list, message: str) -> None:
    with pytest.raises(DomainError, match=message) as err:
        d.check_request_fields(fields)
    assert err.value.field == "request_fields"


def test_bundles_need_two_requests_on_offered_resources() -> None:
    d.check_bundles([("b", 1, {1, 2}), ("b", 2, {1, 2}), (None, 3, {1, 2})])
    with pytest.raises(DomainError, match="at least two"):
        d.check_bundles([("b", 1, {1, 2}), ("c", 2, {1, 2})])
    with pytest.raises(DomainError, match="does not offer"):
        d.check_bundles([("b", 1, {1, 2}), ("b", 9, {1, 2})])
    with pytest.raises(DomainError, match="bundle name"):
        d.check_bundles([("a b", 1, {1}), ("a b", 1, {1})])


def test_countable_units_take_whole_numbers_only() -> None:
    """Half a berth (a person on a cruise), a dive or a seat is refused, in the capacity
    and in a request, also without a calendar; hours and grams may be fractional."""
    no_calendar = d.check_calendar({})
    for unit in ("berth", "dive", "seat", "package", "berths"):
        with pytest.raises(DomainError, match="not a whole number"):
            d.check_amount(12.5, no_calendar, unit)
        d.check_amount(12, no_calendar, unit)
        with pytest.raises(d.FieldProblem, match="Amount: enter a whole number"):
            d.validate_details([], {"amount": 1.5}, slot_based=False, whole=d.countable(unit))
        amount, clean = d.validate_details([], {"amount": 2.0}, slot_based=False, whole=True)
        assert amount == 2 and clean["amount"] == 2
    for unit in ("h", "g", "mg", "core-h"):
        assert not d.countable(unit)
        d.check_amount(12.5, no_calendar, unit)
    amount, _ = d.validate_details([], {"amount": 1.5}, slot_based=False, whole=False)
    assert amount == 1.5


@pytest.mark.parametrize(
    ("value", "message"),
    [(2_500_000, "Monthly stipend: must be at most 1250000.5."),
     (50, "Monthly stipend: must be at least 150000.")],
)  # fmt: skip
def test_a_number_fields_bounds_are_said_in_full(value: float, message: str) -> None:
    """A stipend in yen or yuan runs to millions: its bounds are said as people write
    them, never "1.25e+06" (which also dropped the 0.5)."""
    stipend = [{"key": "monthly", "type": "number", "labels": {"en": "Monthly stipend"},
                "min": 150_000, "max": 1_250_000.5}]  # fmt: skip
    with pytest.raises(d.FieldProblem) as err:
        d.validate_details(d.check_request_fields(stipend), {"amount": 1, "monthly": value},
                           slot_based=False)  # fmt: skip
    assert str(err.value.message).endswith(message), err.value.message
    assert "e+" not in str(err.value.message)
