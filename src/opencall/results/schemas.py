"""Typed fields of each post-award record kind and of a result, validated by
pydantic (``extra="forbid"``); the first error is shown with its field path."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opencall.errors import DomainError
from opencall.inputs import MAX_ID, bounded_when, control_char, error_text
from opencall.people.bibliography import DOI_SYNTAX, normalise_doi
from opencall.people.domain import orcid_id
from opencall.reference.loader import countries
from opencall.results.domain import KINDS, OUTPUT_KINDS, YIELD_UNITS, patent_number

Text = Field(default="", max_length=300)


def _no_nul(value: Any) -> None:
    """No NUL, other control character or lone surrogate in any text (an imported file's
    JSON may spell them as escapes the request guard never saw; the database refuses
    them, PostgreSQL a NUL and both a surrogate)."""
    bad = control_char(value) if isinstance(value, str) else None
    if bad:
        raise ValueError(f"text may not contain control characters ({bad})")
    if isinstance(value, dict):
        for v in value.values():
            _no_nul(v)
    if isinstance(value, list):
        for v in value:
            _no_nul(v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        _no_nul(data)
        return data

    @model_validator(mode="after")
    def _years(self) -> Any:
        # every date field, of every kind, within the calendar's years (inputs.in_calendar)
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, dt.date):
                try:
                    bounded_when(value)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return self


def _order(record: BaseModel, *pairs: tuple[str, str]) -> None:
    """The second date of each pair (field names) is not before the first, where both are
    given."""
    for a_name, b_name in pairs:
        a, b = getattr(record, a_name), getattr(record, b_name)
        if a is not None and b is not None and b < a:
            raise ValueError(f"{b_name} is before {a_name}")


def _needs(record: BaseModel, later: str, earlier: str) -> None:
    """The date ``later`` (a field name) is not given without ``earlier``."""
    if getattr(record, later) is not None and getattr(record, earlier) is None:
        raise ValueError(f"{later} needs {earlier}")


class LoanData(_Strict):
    """A loan: shipped, received, returned or consumed, due back. A sample is lent by its
    mass (``mass_mg``); an item (an instrument, an ocean glider) by its name and, in
    ``item``, its serial number, without a mass: one loan of an item at a time
    (``services.add_record``). ``condition`` is the state it came back in: ``good`` or
    ``damaged`` (returned, ``returned_on`` given), or ``lost`` (never returned: the loan
    is closed, never overdue); ``condition_note`` says what happened (trialfac17)."""

    sample: str = Field(min_length=1, max_length=200)
    mass_mg: float | None = Field(default=None, gt=0, le=1e7, allow_inf_nan=False)
    item: str = Field(default="", max_length=80)
    shipped_on: dt.date | None = None
    received_on: dt.date | None = None
    due_on: dt.date | None = None
    returned_on: dt.date | None = None
    consumed: bool = False
    condition: Literal["", "good", "damaged", "lost"] = ""
    condition_note: str = Field(default="", max_length=500)
    #: the day a lost item was lost (outcomes18): the loan's weeks after it, to its due
    #: day, are capacity lost to an outage (``domain.use_figures``, ``lost_weeks:outage``)
    lost_on: dt.date | None = None
    #: fields added after records were kept (trialfac17, outcomes18): stored only when
    #: given, so a sample's loan is stored as before
    OMIT_WHEN_DEFAULT: ClassVar[tuple[str, ...]] = (
        "mass_mg",
        "item",
        "condition",
        "condition_note",
        "lost_on",
    )

    @model_validator(mode="after")
    def _dates(self) -> LoanData:
        _order(
            self,
            ("shipped_on", "received_on"),
            ("received_on", "returned_on"),
            ("shipped_on", "returned_on"),
            ("shipped_on", "due_on"),
        )
        if self.consumed and self.returned_on is not None:
            raise ValueError("a consumed sample cannot also be returned")
        if self.condition == "lost" and (self.returned_on is not None or self.consumed):
            raise ValueError("a lost loan cannot also be returned or consumed")
        if self.condition in ("good", "damaged") and self.returned_on is None:
            raise ValueError("the condition it came back in needs the day it was returned")
        if self.lost_on is not None and self.condition != "lost":
            raise ValueError("lost_on needs the condition lost")
        _order(self, ("shipped_on", "lost_on"), ("received_on", "lost_on"))
        _needs(self, "received_on", "shipped_on")
        return self


class ShipmentData(_Strict):
    """A shipment, from the logistics plan to real dates."""

    schedule_entry_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    description: str = Field(default="", max_length=200)
    planned_on: dt.date | None = None
    shipped_on: dt.date | None = None
    delivered_on: dt.date | None = None
    tracking_ref: str = Field(default="", max_length=80)
    customs_status: Literal["not_required", "pending", "cleared", "held"] = "not_required"

    @model_validator(mode="after")
    def _dates(self) -> ShipmentData:
        _order(self, ("shipped_on", "delivered_on"))
        _needs(self, "delivered_on", "shipped_on")
        return self


class BerthData(_Strict):
    """A visit or berth: arrived, sailed, dives made."""

    participant: str = Field(default="", max_length=200)
    arrived_on: dt.date | None = None
    sailed_on: dt.date | None = None
    dives_made: int = Field(default=0, ge=0, le=1000)
    samples_taken: int = Field(default=0, ge=0, le=100000)

    @model_validator(mode="after")
    def _dates(self) -> BerthData:
        _order(self, ("arrived_on", "sailed_on"))
        _needs(self, "sailed_on", "arrived_on")
        return self


class SessionData(_Strict):
    """An observing session: observed hours, lost time with its reason."""

    observed_on: dt.date
    observed_hours: float = Field(ge=0, le=1000, allow_inf_nan=False)
    lost_hours: float = Field(default=0.0, ge=0, le=1000, allow_inf_nan=False)
    lost_reason: Literal["", "weather", "rfi", "fault", "other"] = ""
    completed: bool = False

    @model_validator(mode="after")
    def _reason(self) -> SessionData:
        if self.lost_hours > 0 and not self.lost_reason:
            raise ValueError("lost_hours needs a lost_reason (weather, rfi, fault, other)")
        return self


class CourseData(_Strict):
    """A course seat: participant attended, completed (on which day), certificate; the participant's
    gender where the programme collects it ("": not collected or not given)."""

    participant: str = Field(min_length=1, max_length=200)
    gender: Literal["", "female", "male", "other"] = ""
    attended: bool = False
    completed: bool = False
    #: the day the participant completed it: their follow-up waves count from it
    completed_on: dt.date | None = None
    #: fields added after records were kept: stored only when given (a record without
    #: them reads as before, its stored data unchanged)
    OMIT_WHEN_DEFAULT: ClassVar[tuple[str, ...]] = ("completed_on",)
    certificate: str = Field(default="", max_length=80)

    @model_validator(mode="after")
    def _flow(self) -> CourseData:
        if self.completed and not self.attended:
            raise ValueError("completed needs attended")
        if self.completed_on is not None and not self.completed:
            raise ValueError("completed_on needs completed")
        if self.certificate and not self.completed:
            raise ValueError("a certificate needs completed")
        return self


def _trainee_countries(value: dict[str, int]) -> dict[str, int]:
    """The trainees' countries, each an ISO 3166 alpha-3 code of the reference data (in
    capitals), its people counted once."""
    out: dict[str, int] = {}
    known = countries()
    for code, n in value.items():
        iso3 = code.strip().upper()
        if iso3 not in known:
            raise ValueError(f"{code[:10]!r} is not a country code (ISO 3166 alpha-3, e.g. ETH)")
        out[iso3] = out.get(iso3, 0) + n
    return out


def _site_yield(record: Any) -> None:
    """A yield in a known unit (``YIELD_UNITS``), it and its local check within the unit's
    range; a unit without a yield says nothing (outcomes22)."""
    if not record.yield_unit:
        return
    if record.yield_t_ha is None:
        raise ValueError("yield_unit needs a reported yield (yield_t_ha)")
    top = YIELD_UNITS[record.yield_unit]
    for name in ("yield_t_ha", "baseline_t_ha"):
        v = getattr(record, name)
        if v is not None and v > top:
            raise ValueError(f"{name} is at most {top:g} {record.yield_unit}")


#: a yield's unit (outcomes22): t/ha (a field crop: hybrid rice against the local check),
#: kg/m2 (a mushroom bed: juncao), kg/t (fresh mushrooms per tonne of substrate);
#: "" (not stored) reads as t/ha, the unit of every yield kept before
YieldUnit = Literal["", "t/ha", "kg/m2", "kg/t"]


class FollowUpData(_Strict):
    """After a course: what a participant did with it, reported on a date: people they
    trained (women among them, where counted, and, outcomes22, the people from each
    country, ``trained_countries``: alpha-3 code -> people, adding up to the people
    trained), demonstration sites set up and those still running, the area (ha) under
    the practice and, where measured, its yield against the local baseline (in
    ``yield_unit``; t/ha when not given). Figures to that date: a later report of the
    same participant replaces an earlier one in the sums."""

    participant: str = Field(min_length=1, max_length=200)
    followed_up_on: dt.date
    people_trained: int = Field(default=0, ge=0, le=10**7)
    people_trained_women: int | None = Field(default=None, ge=0, le=10**7)
    demo_sites: int = Field(default=0, ge=0, le=10**5)
    demo_sites_running: int | None = Field(default=None, ge=0, le=10**5)
    area_ha: float = Field(default=0.0, ge=0, le=1e7, allow_inf_nan=False)
    yield_t_ha: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    baseline_t_ha: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    yield_unit: YieldUnit = ""
    trained_countries: dict[
        Annotated[str, Field(max_length=10)], Annotated[int, Field(ge=0, le=10**7)]
    ] = Field(default_factory=dict, max_length=250)
    notes: str = Field(default="", max_length=1000)
    #: fields added after reports were kept (outcomes22): stored only when given
    OMIT_WHEN_DEFAULT: ClassVar[tuple[str, ...]] = ("yield_unit", "trained_countries")

    @field_validator("trained_countries", mode="before")
    @classmethod
    def _written(cls, v: Any) -> Any:
        """The form's text, "ETH 20, KEN 10" (or "ETH: 20; KEN: 10"), as a mapping."""
        if not isinstance(v, str):
            return v
        out: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in re.split(r"[,;\n]", v))):
            m = re.fullmatch(r"([A-Za-z]{2,10})\s*[:=]?\s*(-?\d+)", part)
            if m is None:
                raise ValueError(f"{part[:20]!r} is not a country code and a number (ETH 20)")
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
        return out

    @field_validator("trained_countries")
    @classmethod
    def _countries(cls, v: dict[str, int]) -> dict[str, int]:
        return _trainee_countries(v)

    @model_validator(mode="after")
    def _yield(self) -> FollowUpData:
        if self.yield_t_ha is not None and self.baseline_t_ha is None:
            raise ValueError("a reported yield needs baseline_t_ha")
        _site_yield(self)
        if self.trained_countries and sum(self.trained_countries.values()) != self.people_trained:
            raise ValueError(
                f"trained_countries add up to {sum(self.trained_countries.values())}, "
                f"not people_trained ({self.people_trained})"
            )
        if (self.people_trained_women or 0) > self.people_trained:
            raise ValueError("people_trained_women is more than people_trained")
        if (self.demo_sites_running or 0) > self.demo_sites:
            raise ValueError("demo_sites_running is more than demo_sites")
        return self


class PackageData(_Strict):
    """A demonstration package: site, planting date, yield against the local baseline (in
    ``yield_unit``; t/ha when not given, outcomes22)."""

    site: str = Field(min_length=1, max_length=200)
    planted_on: dt.date | None = None
    reported_on: dt.date | None = None
    yield_t_ha: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    baseline_t_ha: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    yield_unit: YieldUnit = ""
    OMIT_WHEN_DEFAULT: ClassVar[tuple[str, ...]] = ("yield_unit",)

    @model_validator(mode="after")
    def _yield(self) -> PackageData:
        _order(self, ("planted_on", "reported_on"))
        if self.yield_t_ha is not None and (self.planted_on is None or self.baseline_t_ha is None):
            raise ValueError("a reported yield needs planted_on and baseline_t_ha")
        _site_yield(self)
        return self


class OtherData(_Strict):
    """Any operator-defined resource: what was used, how much, done or not."""

    description: str = Field(min_length=1, max_length=300)
    used_amount: float = Field(default=0.0, ge=0, le=1e9, allow_inf_nan=False)
    started_on: dt.date | None = None
    completed: bool = False


RECORD_SCHEMAS: dict[str, type[_Strict]] = {
    "loan": LoanData,
    "shipment": ShipmentData,
    "berth": BerthData,
    "session": SessionData,
    "course": CourseData,
    "followup": FollowUpData,
    "package": PackageData,
    "other": OtherData,
}
assert set(RECORD_SCHEMAS) == set(KINDS)


def validate_record(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The record's fields as stored (JSON-ready), or a DomainError naming the first problem."""
    if kind not in RECORD_SCHEMAS:
        raise DomainError(
            "Unknown record kind %(kind)s; expected one of %(kinds)s.",
            field="kind",
            kind=repr(kind),
            kinds=", ".join(KINDS),
        )
    try:
        model = RECORD_SCHEMAS[kind]
        clean = model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise DomainError(
            "Invalid %(kind)s record: %(problem)s",
            kind=kind,
            problem=error_text(exc, empty="value"),
        ) from exc
    omit = getattr(model, "OMIT_WHEN_DEFAULT", ())
    return {
        k: v
        for k, v in clean.items()
        if not (k in omit and v == model.model_fields[k].get_default(call_default_factory=True))
    }


class OutputIn(_Strict):
    """A publication, dataset, software or patent linked to an award; a patent needs
    its publication number (``number``), which no other kind has; ``orcids``: the
    authors' ORCID iDs that are known (check digit verified, stored canonical)."""

    kind: Literal["publication", "dataset", "software", "patent"] = "publication"
    doi: str = Field(default="", max_length=200)
    number: str = Field(default="", max_length=80)
    title: str = Field(min_length=1, max_length=500)
    year: int = Field(ge=1950, le=2100)
    published_on: dt.date | None = None
    authors: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=500
    )
    countries: list[str] = Field(default_factory=list, max_length=200)
    orcids: list[Annotated[str, Field(max_length=60)]] = Field(default_factory=list, max_length=500)
    abstract: str = Field(default="", max_length=20000)
    acknowledgement: str = Field(default="", max_length=5000)

    @field_validator("doi")
    @classmethod
    def _doi(cls, v: str) -> str:
        if not v:
            return ""
        d = normalise_doi(v)
        if not DOI_SYNTAX.match(d):
            raise ValueError("not a DOI (10.NNNN/...)")
        return d

    @field_validator("countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        out = []
        for c in v:
            c = c.strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", c):
                raise ValueError(f"{c!r} is not an ISO 3166 alpha-3 code")
            if c not in out:
                out.append(c)
        return out

    @model_validator(mode="after")
    def _year(self) -> OutputIn:
        if self.published_on is not None and self.published_on.year != self.year:
            raise ValueError("published_on is not in year")
        if self.kind != "patent" and self.number:
            raise ValueError("number (a patent's publication number) is for patents only")
        return self


assert set(OUTPUT_KINDS) == {"publication", "dataset", "software", "patent"}


def _checked(item: OutputIn) -> OutputIn:
    """The identifiers whose rules are the domain's (a patent's publication number, the
    ORCID iDs' check digits), each refused with its own message."""
    if item.kind == "patent":
        if not item.number:
            raise DomainError(
                "A patent needs its publication number (e.g. CN112345678A).", field="number"
            )
        item.number = patent_number(item.number)
    orcids: list[str] = []
    for raw in item.orcids:
        canonical = orcid_id(raw)
        if canonical not in orcids:
            orcids.append(canonical)
    item.orcids = orcids
    return item


def validate_output(data: dict[str, Any]) -> OutputIn:
    try:
        item = OutputIn.model_validate(data)
    except ValidationError as exc:
        raise DomainError(
            "Invalid result: %(problem)s", problem=error_text(exc, empty="value")
        ) from exc
    return _checked(item)
