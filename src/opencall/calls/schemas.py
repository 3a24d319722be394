"""Validated documents of a call: review settings, allocation policy, form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from opencall.calls.domain import ELIGIBLE_INCOME_GROUPS
from opencall.errors import DomainError, Localized
from opencall.facilities.domain import LANGS, unit_label
from opencall.inputs import (
    BoundedDateTime,
    TimeZoneName,
    bounded_when,
    error_text,
    in_calendar,
    local_number,
    plain_number,
)
from opencall.optim import wallclock
from opencall.reference.loader import countries

NATIONALITY_GROUPS = {
    "international",
    "host",
    "low_lmic",
    "low",
    "lower-middle",
    "ldc",
    # the countries the share rule lists itself (``GroupShare.countries``): berths kept for
    # countries without a polar programme of their own, seats for a region (trialfac23c)
    "countries",
}
#: the groups a share rule may name: those derived from the PI's country, and
#: ``first_time`` (a PI who holds no award of an earlier call of the facility); a rule may
#: name the proposals in several at once, joined by ``+`` (``low+first_time``: first-time
#: users from low-income countries)
SHARE_GROUPS = (*sorted(NATIONALITY_GROUPS), "first_time")


def share_group_parts(group: str) -> list[str]:
    """The groups a share rule's ``group`` names (``low+first_time``: two)."""
    return [part.strip() for part in group.split("+")]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: the last second of a day, for a review deadline typed as a date alone
END_OF_DAY = dt.time(23, 59, 59)


def parse_when(raw: str, zone: str = "", *, end_of_day: bool = False) -> dt.datetime | None:
    """A date typed on a form (or a date alone sent to the API, on UTC's clock), read on the clock of the call's ``zone`` (UTC when
    empty), as a UTC instant. A date alone is the start of that day, or with
    ``end_of_day`` (a review deadline: reviews due "on 15 March") its last second, so that
    a deadline given as a day does not end as that day begins."""
    raw = raw.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            wall = dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
        # near 0001 or 9999 the zone's offset overflowed (OverflowError, a 500)
        return wallclock.local_instant(wall, zone) if in_calendar(wall) else None
    try:
        day = dt.datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        return None
    wall = dt.datetime.combine(day.date(), END_OF_DAY) if end_of_day else day
    return wallclock.local_instant(wall, zone) if in_calendar(wall) else None


def day_ends(v: Any) -> Any:
    """An extension's ``until`` as the JSON API reads it: a date alone ("2027-03-15") is
    read as the staff's pages read it (:func:`parse_when`, on UTC's clock as every time the
    API takes without an offset), the end of that day, not its first second; anything else
    is left to pydantic. Shared by the reviewers' and the applicants' extensions."""
    if isinstance(v, str):
        return parse_when(v[:40], "", end_of_day=True) or v
    return v


#: the most labels a letter or word grade scale may have, and the longest label
MAX_GRADE_LABELS = 20
#: the most hazard classes a call's safety review may name
MAX_HAZARD_CLASSES = 20
HAZARD_CLASS_RE = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def _check_hazards(classes: list[str], approval: list[str]) -> None:
    """A safety review's hazard classes: keys, each once; the approval list among them."""
    for name in classes:
        if not HAZARD_CLASS_RE.fullmatch(name):
            raise ValueError(
                f"hazard_classes: {name!r} is not a class name (lower-case letters, digits, "
                "- and _, a letter first)"
            )
    if len(set(classes)) < len(classes):
        raise ValueError("hazard_classes: a class is named twice")
    unknown = [name for name in approval if name not in classes]
    if unknown:
        raise ValueError(
            f"approval_required: {', '.join(unknown)} is not one of the hazard classes "
            f"({', '.join(classes) or 'none given'})"
        )


GRADE_LABEL_MAX_CHARS = 40


class ReviewSettings(_Doc):
    mode: Literal["panel", "distributed"] = "panel"
    reviewers_per_proposal: int = Field(default=3, ge=1, le=20)
    #: a proposal with fewer counted reviews waits for the chair before the release (more
    #: reviewers, rejected as not reviewed, or carried to the allocation)
    min_reviews: int = Field(default=1, ge=1, le=20)
    min_load: int = Field(default=0, ge=0)
    max_load: int = Field(default=10, ge=1)
    grade_min: float = 1.0
    grade_max: float = 5.0
    lower_is_better: bool = False
    #: A letter or word scale, best label first ("A", "B", "C"; "excellent" ... "poor"):
    #: each grade is stored as its label's position, so the labels set ``grade_min`` 1,
    #: ``grade_max`` their number and ``lower_is_better`` (values stored for an earlier
    #: numeric scale give way, as when the settings are merged). Empty: a numeric scale.
    grade_labels: list[str] = Field(default=[], max_length=MAX_GRADE_LABELS)
    max_same_institution: int = Field(default=1, ge=1)
    max_same_region: int = Field(default=2, ge=1)
    coauthor_years: int = Field(default=3, ge=0, le=20)
    review_deadline: BoundedDateTime | None = None
    #: What reviewers grade against (one line each) and how, shown on every review form.
    criteria: list[str] = Field(default=[], max_length=20)
    guidance: str = Field(default="", max_length=5000)
    #: Remove reviewer-group x applicant-group effects flagged by ``optim.bias`` from the grades
    #: before calibrating and ranking (recorded in the run and the audit log).
    bias_correction: bool = False
    bias_alpha: float = Field(default=0.05, gt=0, lt=0.5)
    #: A safety review of every proposal's samples (trialfac24): the call's hazard classes
    #: (its own words, lower case; none: no safety review) and those of them whose award
    #: waits for the safety officer's approval before the decisions are released.
    hazard_classes: list[str] = Field(default=[], max_length=MAX_HAZARD_CLASSES)
    approval_required: list[str] = Field(default=[], max_length=MAX_HAZARD_CLASSES)

    @field_validator("review_deadline", mode="before")
    @classmethod
    def _a_day_ends(cls, v: Any) -> Any:
        """A deadline given as a date alone ("2027-03-15": reviews due on 15 March) ends
        with that day (23:59:59 UTC), not as it begins."""
        if isinstance(v, str) and len(v.strip()) == 10:
            # the chair's pages read it with the same function, on the call's clock
            return parse_when(v, "", end_of_day=True) or v
        return v

    @field_validator("review_deadline")
    @classmethod
    def _in_utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        """Kept in UTC whatever offset it was given in; one given without an offset (the
        JSON API took such) is UTC, as every date of a call is, so that it is one instant
        the reminders and pages can compare and state."""
        if v is None:
            return None
        return v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v.astimezone(dt.UTC)

    @field_validator("grade_labels")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        labels = [" ".join(label.split()) for label in v]
        if not labels:
            return labels
        if len(labels) < 2:
            raise ValueError("give at least two labels, best first, or none for a numeric scale")
        if any(not label or len(label) > GRADE_LABEL_MAX_CHARS for label in labels):
            raise ValueError(f"each label has 1 to {GRADE_LABEL_MAX_CHARS} characters")
        if len({label.casefold() for label in labels}) < len(labels):
            raise ValueError("two labels are the same (letter case aside)")
        return labels

    @model_validator(mode="after")
    def _check(self) -> ReviewSettings:
        if self.grade_labels:
            # the labels' positions: 1 the first (best) label
            self.grade_min, self.grade_max = 1.0, float(len(self.grade_labels))
            self.lower_is_better = True
        if self.grade_max <= self.grade_min:
            raise ValueError("grade_max must be greater than grade_min")
        if self.max_load < self.min_load:
            raise ValueError("max_load must be at least min_load")
        _check_hazards(self.hazard_classes, self.approval_required)
        return self

    @property
    def safety_review(self) -> bool:
        """Whether the call's proposals get a safety review (it names hazard classes)."""
        return bool(self.hazard_classes)

    def grade_label(self, value: float | None) -> str:
        """The label of a grade or a calibrated score on a letter or word scale (a score
        between two labels: the nearer, halfway the worse); "" on a numeric scale."""
        if not self.grade_labels or value is None or value != value:
            return ""
        k = min(max(int(value + 0.5), 1), len(self.grade_labels))
        return self.grade_labels[k - 1]

    def grade_options(self) -> list[tuple[str, str]]:
        """A letter or word scale's choices for a form: each label's position (what is
        stored and posted) and the label."""
        return [(str(k), label) for k, label in enumerate(self.grade_labels, start=1)]

    def read_grade(self, raw: float | str) -> float:
        """A grade as a reviewer gives it, checked against the scale: a number, or on a
        letter or word scale a label (letter case and spacing aside) or its position.
        Raises DomainError (``field="grade"``) naming what the scale takes."""
        labels = self.grade_labels
        if isinstance(raw, str) and labels:
            typed = " ".join(raw.split()).casefold()
            for k, label in enumerate(labels, start=1):
                if label.casefold() == typed:
                    return float(k)
        try:
            g = float(raw)
        except (TypeError, ValueError):
            g = float("nan")
        if labels:
            if not (g == g and g == int(g) and 1 <= g <= len(labels)):
                raise DomainError(
                    "The grade must be one of %(labels)s.",
                    field="grade",
                    labels=", ".join(labels),
                )
            return g
        if g != g:
            raise DomainError("The grade must be a number.", field="grade")
        if not self.grade_min <= g <= self.grade_max:
            raise DomainError(
                "The grade must lie between %(lo)s and %(hi)s.",
                field="grade",
                lo=format(self.grade_min, "g"),
                hi=format(self.grade_max, "g"),
            )
        return g


class GroupShare(_Doc):
    group: str = Field(min_length=1, max_length=40)
    min_share: float = Field(gt=0, le=1)
    #: only proposals whose calibrated grade is at or above this count toward the share
    #: (and can be pushed in by it); None: the call's quality threshold alone
    min_quality: float | None = None
    #: the group ``countries``: the PI's countries it holds, ISO 3166 alpha-3 codes of the
    #: reference data (trialfac23c); empty for every other group
    countries: list[str] = Field(default=[], max_length=300)

    @model_validator(mode="after")
    def _listed(self) -> GroupShare:
        """A list of countries for the group ``countries`` and for it alone, each code one
        the reference data knows (in capitals, each once)."""
        named = "countries" in share_group_parts(self.group)
        if named != bool(self.countries):
            raise ValueError(
                "give the list countries (ISO 3166 alpha-3 codes) with the group countries, "
                "and only with it"
            )
        known = countries()
        codes = [c.strip().upper() for c in self.countries]
        bad = [c for c in codes if c not in known]
        if bad:
            raise ValueError(
                f"unknown country code {bad[0][:10]!r} in countries (ISO 3166 alpha-3, e.g. KEN)"
            )
        self.countries = list(dict.fromkeys(codes))
        return self

    @field_validator("group")
    @classmethod
    def _known(cls, v: str) -> str:
        """A group the allocation can find the members of: a share for any other name was
        stored and then stopped the allocation once the policy was locked (trialfac14)."""
        parts = share_group_parts(v)
        bad = [p for p in parts if p not in SHARE_GROUPS]
        if bad or len(set(parts)) < len(parts):
            raise ValueError(
                f"unknown group {v!r}: give one of {', '.join(SHARE_GROUPS)}, or several "
                "joined by + for the proposals in all of them (low+first_time)"
            )
        return "+".join(parts)

    @property
    def nationality_based(self) -> bool:
        return any(p in NATIONALITY_GROUPS for p in share_group_parts(self.group))


class ResourceLimitDoc(_Doc):
    """Limits on one resource (capacity pool) in a call's allocation."""

    max_per_proposal: float | None = Field(default=None, gt=0)
    max_total: float | None = Field(default=None, gt=0)
    #: at most this amount per member of the team (its accepted members; those from a
    #: country of ``income_groups`` where it names any): a travel grant's cap per
    #: traveller (trialfac24)
    max_per_person: float | None = Field(default=None, gt=0)
    #: only teams with members from countries of these World Bank income groups may be
    #: awarded the resource (``calls.domain.ELIGIBLE_INCOME_GROUPS``); empty: any team
    income_groups: list[str] = Field(default=[], max_length=len(ELIGIBLE_INCOME_GROUPS))

    @model_serializer(mode="wrap")
    def _stored(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The limits as stored: the limits on the team only where given, so that a limit
        stored before them reads (and is dumped) as it was."""
        out: dict[str, Any] = handler(self)
        for key, unset in (("max_per_person", None), ("income_groups", [])):
            if out.get(key) == unset:
                out.pop(key, None)
        return out

    @field_validator("income_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        given = [g.strip().lower() for g in v]
        bad = [g for g in given if g not in ELIGIBLE_INCOME_GROUPS]
        if bad:
            raise ValueError(
                f"income_groups: {bad[0][:20]!r} is not an income group; name "
                f"{', '.join(ELIGIBLE_INCOME_GROUPS)}"
            )
        return [g for g in ELIGIBLE_INCOME_GROUPS if g in given]

    @model_validator(mode="after")
    def _check(self) -> ResourceLimitDoc:
        if (
            self.max_per_proposal is None
            and self.max_total is None
            and self.max_per_person is None
            and not self.income_groups
        ):
            raise ValueError(
                "give max_per_proposal, max_total, max_per_person or income_groups (or several)"
            )
        if (
            self.max_per_proposal is not None
            and self.max_total is not None
            and self.max_per_proposal > self.max_total
        ):
            raise ValueError("max_per_proposal cannot exceed max_total")
        return self


#: what a cap per group may count by: the PI's country, its income group (World Bank) or its
#: UN region (all derived from nationality)
CAP_GROUPINGS = ("country", "income_group", "un_region")


class GroupCapDoc(_Doc):
    """At most ``max_awards`` awards and/or ``max_amount`` (in the call's unit, or
    ``{pool id: amount}`` per resource) to the proposals of each country (``per``), each
    income group or each UN region, by their PI's country."""

    per: Literal["country", "income_group", "un_region"]
    max_awards: int | None = Field(default=None, ge=1)
    max_amount: float | dict[str, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> GroupCapDoc:
        if self.max_awards is None and self.max_amount is None:
            raise ValueError("give max_awards, max_amount or both")
        _check_amount(self.max_amount, "max_amount")
        return self


def _check_amount(cap: float | dict[str, float] | None, where: str) -> None:
    """An amount cap: a number > 0, or ``{pool id: number > 0}`` with at least one pool."""
    if isinstance(cap, dict):
        if not cap:
            raise ValueError(f"{where}: give an amount or at least one resource")
        for key, value in cap.items():
            _pool_key(key, where)
            if not value > 0:
                raise ValueError(f"{where}.{key}: the cap must be greater than 0")
    elif cap is not None and not cap > 0:
        raise ValueError(f"{where}: the cap must be greater than 0")


def _pool_key(key: str, where: str) -> int:
    if not key.isdigit() or int(key) < 1:
        raise ValueError(f"{where}: {key!r} is not a resource (capacity pool) id")
    return int(key)


class AllocationPolicyDoc(_Doc):
    award_mode: Literal["whole", "partial"] = "whole"
    min_fraction: float = Field(default=1.0, gt=0, le=1)
    pi_cap_awards: int | None = Field(default=None, ge=1)
    #: at most this amount per PI, in the call's unit, or {pool id: amount} per resource
    pi_cap_amount: float | dict[str, float] | None = None
    group_shares: list[GroupShare] = []
    #: at most so many awards (or so much) per country, income group or UN region
    group_caps: list[GroupCapDoc] = Field(default=[], max_length=len(CAP_GROUPINGS))
    nationality_blind: bool = False
    quality_threshold: float | None = None
    #: {pool id: {"max_per_proposal": x, "max_total": y}}
    resource_limits: dict[str, ResourceLimitDoc] = {}
    require_suitability: bool = True
    seed: int = 0
    #: an urgent call (a disaster response, trialfac24b): its schedule may take slots that
    #: calls without this rule booked and that have not begun; the teams it moves are
    #: placed again where their dates allow, or told why not (``scheduling.slot_services``)
    preempts: bool = False

    @model_validator(mode="after")
    def _check(self) -> AllocationPolicyDoc:
        _check_amount(self.pi_cap_amount, "pi_cap_amount")
        pers = [c.per for c in self.group_caps]
        if len(set(pers)) < len(pers):
            raise ValueError("group_caps: give one cap per grouping (country, income_group, ...)")
        for key in self.resource_limits:
            _pool_key(key, "resource_limits")
        if self.award_mode == "whole" and self.min_fraction != 1.0:
            raise ValueError("min_fraction applies only when award_mode is 'partial'")
        if self.nationality_blind:
            bad = [g.group for g in self.group_shares if g.nationality_based]
            if bad:
                raise ValueError(
                    "the call is nationality-blind, so no share rule may use a nationality-"
                    f"derived group ({', '.join(bad)})"
                )
            if self.group_caps:
                raise ValueError(
                    "the call is nationality-blind, so no cap may count by country, income "
                    "group or UN region"
                )
        if sum("countries" in share_group_parts(g.group) for g in self.group_shares) > 1:
            raise ValueError("give one share rule naming the group countries (one list)")
        if sum(g.min_share for g in self.group_shares) > 1:
            raise ValueError("minimum group shares add up to more than 100 %")
        return self


#: the longest proposal title any call may allow (the ``proposals.title`` column's length):
#: a call's ``title_max_chars`` above it is refused when the call is made or edited
#: (``calls.services``); one stored before that is held to it
TITLE_MAX_CHARS = 300


class CallForm(_Doc):
    requires_pdf: bool = False
    max_pdf_pages: int = Field(default=10, ge=1)
    title_max_chars: int = Field(default=200, ge=10)
    abstract_max_words: int = Field(default=300, ge=10)
    science_case_max_words: int = Field(default=3000, ge=10)
    receivers: list[str] = []
    modes: list[str] = []
    max_amount_per_proposal: float | None = Field(default=None, gt=0)
    max_targets: int = Field(default=100, ge=1)
    sample_types: list[str] = []
    technologies: list[str] = []


class PolicyPool(NamedTuple):
    """A resource as the policy checks read it: its name, the amount offered, its unit's
    key and the resource's own labels of the unit (empty: the built-in unit's)."""

    name: str
    amount: float
    unit: str
    unit_labels: dict[str, Any] | None = None

    def amount_said(self, amount: float) -> Localized:
        """``amount`` with the unit's label ("1234567.5 yuan", never the key "cny"): the
        number plain in the English message, as each language writes it where shown."""
        return Localized(
            f"{plain_number(amount)} {unit_label(self.unit, self.unit_labels, amount, 'en')}",
            {
                lg: f"{local_number(amount, lg)} "
                f"{unit_label(self.unit, self.unit_labels, amount, lg)}"
                for lg in LANGS
            },
        )


def check_policy(
    ap: AllocationPolicyDoc,
    rs: ReviewSettings,
    pools: Mapping[int, PolicyPool] | None,
    *,
    units: Callable[[], set[str]] | None = None,
) -> None:
    """Refuse a policy inconsistent with the call's grade scale and resources.

    ``pools`` maps the pool ids the call offers (or, before any is offered, the facility's)
    to their ``PolicyPool``; None skips the resource checks. ``units``: the units of all
    those resources, when ``pools`` holds only the ones the policy names (read only for a
    cap over every resource). Raises DomainError naming the field.
    """
    lo, hi = rs.grade_min, rs.grade_max

    def on_scale(value: float | None, where: str) -> None:
        if value is not None and not lo <= value <= hi:
            raise DomainError(
                "Invalid allocation policy: %(field_name)s: %(value)s lies outside the "
                "grade scale %(low)s-%(high)s.",
                field="allocation policy",
                field_name=where,
                value=format(value, "g"),
                low=format(lo, "g"),
                high=format(hi, "g"),
            )

    on_scale(ap.quality_threshold, "quality_threshold")
    for k, share in enumerate(ap.group_shares):
        on_scale(share.min_quality, f"group_shares.{k}.min_quality")
    if pools is None:
        return

    def pool(key: str, where: str) -> PolicyPool:
        found = pools.get(int(key))
        if found is None:
            raise DomainError(
                "Invalid allocation policy: %(field_name)s: resource %(key)s is not "
                "offered by this call.",
                field="allocation policy",
                field_name=where,
                key=key,
            )
        return found

    def at_most_offered(value: float, offered: PolicyPool, where: str) -> None:
        if value > offered.amount + 1e-9:
            raise DomainError(
                "Invalid allocation policy: %(field_name)s: %(value)s is more than the "
                "%(amount)s that %(resource)s offers.",
                field="allocation policy",
                field_name=where,
                value=plain_number(value),
                amount=offered.amount_said(offered.amount),
                resource=offered.name,
            )

    for key, lim in ap.resource_limits.items():
        offered = pool(key, f"resource_limits.{key}")
        for attr in ("max_per_proposal", "max_total"):
            value = getattr(lim, attr)
            if value is not None:
                at_most_offered(value, offered, f"resource_limits.{key}.{attr}")
    amount_caps = [(ap.pi_cap_amount, "pi_cap_amount")] + [
        (c.max_amount, f"group_caps.{k}.max_amount") for k, c in enumerate(ap.group_caps)
    ]
    for cap, where in amount_caps:
        if isinstance(cap, dict):
            for key, value in cap.items():
                at_most_offered(value, pool(key, f"{where}.{key}"), f"{where}.{key}")
        elif (
            cap is not None
            and len(units() if units is not None else {p.unit for p in pools.values()}) > 1
        ):
            if where == "pi_cap_amount":
                raise DomainError(
                    "Invalid allocation policy: pi_cap_amount: the call's resources have "
                    "different units; give the cap per resource ({pool id: amount}).",
                    field="allocation policy",
                )
            raise DomainError(
                "Invalid allocation policy: %(field_name)s: the call's resources have "
                "different units; give the cap per resource ({pool id: amount}).",
                field="allocation policy",
                field_name=where,
            )


def parse_doc(model: type[_Doc], data: dict[str, Any], what: str) -> _Doc:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DomainError(
            "Invalid %(what)s: %(problem)s", field=what, what=what, problem=error_text(exc)
        ) from exc


def review_settings(data: dict[str, Any]) -> ReviewSettings:
    return parse_doc(ReviewSettings, data, "review settings")  # type: ignore[return-value]


def allocation_policy(data: dict[str, Any]) -> AllocationPolicyDoc:
    return parse_doc(AllocationPolicyDoc, data, "allocation policy")  # type: ignore[return-value]


def call_form(data: dict[str, Any]) -> CallForm:
    return parse_doc(CallForm, data, "call form")  # type: ignore[return-value]


#: the most review cut-offs a continuous call may have (one a day for a year)
MAX_CUTOFFS = 366


class CallCreate(_Doc):
    slug: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    code: str = Field(min_length=2, max_length=20)
    title: str = Field(min_length=3, max_length=300)
    cycle: str = Field(min_length=1, max_length=40)
    description: str = ""
    opens_at: dt.datetime
    closes_at: dt.datetime
    # the IANA zone the dates are stated in: a date without an offset is its local time
    time_zone: TimeZoneName = ""
    anonymity: Literal["open", "single", "dual"] = "dual"
    review_settings: dict[str, Any] = {}
    allocation_policy: dict[str, Any] = {}
    form: dict[str, Any] = {}
    eligibility: dict[str, Any] = {}
    # "continuous": proposals taken at any time, reviewed in batches at the cut-offs
    mode: Literal["deadline", "continuous"] = "deadline"
    cutoffs: list[BoundedDateTime] = Field(default=[], max_length=MAX_CUTOFFS)
    decision_days: int | None = Field(default=None, ge=1, le=366)

    @model_validator(mode="after")
    def _dates(self) -> CallCreate:
        for d in (self.opens_at, self.closes_at, *self.cutoffs):
            bounded_when(d)  # before a zone's offset overflows near 0001 or 9999
        for name in ("opens_at", "closes_at"):
            d = getattr(self, name)
            if d.tzinfo is None:
                if not self.time_zone:
                    raise ValueError("dates must carry a time zone (UTC) or give time_zone")
                # "1 March 17:00" in the call's zone: that instant (a skipped local time
                # is the instant the clocks jump, a repeated one its first occurrence)
                setattr(self, name, wallclock.local_instant(d, self.time_zone))
        cutoffs = []
        for d in self.cutoffs:  # a continuous call's cut-offs: read as its dates are
            if d.tzinfo is None:
                if not self.time_zone:
                    raise ValueError("dates must carry a time zone (UTC) or give time_zone")
                d = wallclock.local_instant(d, self.time_zone)
            cutoffs.append(d)
        self.cutoffs = cutoffs
        if self.closes_at <= self.opens_at:
            raise ValueError("the call must close after it opens")
        return self
