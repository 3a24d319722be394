"""Typed attributes of facilities and capacity pools (pydantic v2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from opencall.errors import DomainError, Localized
from opencall.inputs import error_text
from opencall.optim.logistics.geometry import antipodal
from opencall.web.i18n import LANGUAGES, N_, translations

POOL_UNITS = {
    "lst_hours": "h",
    "berths": "berths",
    "dives": "dives",
    "sample_mass": "mg",
    "seats": "seats",
    "packages": "packages",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TelescopeAttrs(_Strict):
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    height_m: float
    max_zenith_deg: float = Field(gt=0, le=90)
    full_gain_zenith_deg: float = Field(gt=0, le=90)
    dec_min_deg: float = Field(ge=-90, le=90)
    dec_max_deg: float = Field(ge=-90, le=90)
    receivers: list[str]
    modes: list[str]


#: FAST's site and pointing limits as telescope attributes (the demo's telescope and the
#: facility form's example; ``opencall.optim.sky`` has the same figures for the optimiser)
FAST_SITE_ATTRIBUTES: dict[str, float] = {
    "lat_deg": 25.6529,
    "lon_deg": 106.8567,
    "height_m": 1110.0,
    "max_zenith_deg": 40.0,
    "full_gain_zenith_deg": 26.4,
    "dec_min_deg": -14.0,
    "dec_max_deg": 66.0,
}


class VesselAttrs(_Strict):
    vessel: str
    submersible: str
    max_dive_depth_m: float = Field(gt=0)
    dives_per_day: int = Field(default=1, ge=1)


class SamplesAttrs(_Strict):
    missions: list[str]


class ProgrammeAttrs(_Strict):
    technologies: list[str]


class CustomAttrs(_Strict):
    """A facility of a kind no preset has: its resources say everything."""

    site: str = Field(default="", max_length=200)


FACILITY_ATTRS: dict[str, type[_Strict]] = {
    "custom": CustomAttrs,
    "telescope": TelescopeAttrs,
    "vessel": VesselAttrs,
    "samples": SamplesAttrs,
    "programme": ProgrammeAttrs,
}

#: the facility kinds as people read them: the provider's form offers them so, and the
#: refusal of an unknown kind names them so (never the keys joined by commas)
KIND_LABELS = {
    "telescope": N_("Telescope"),
    "vessel": N_("Research vessel"),
    "samples": N_("Sample collection"),
    "programme": N_("Training or access programme"),
    "custom": N_("Any other facility (its resources described by you)"),
}


def kinds_said() -> Localized:
    """The facility kinds as a message parameter: each kind's words with its key (what an
    API client sends), in the reader's language where the message is shown."""

    def said(lang: str) -> str:
        t = translations(lang)
        return "; ".join(f"{t.gettext(KIND_LABELS[k])} ({k})" for k in FACILITY_ATTRS)

    return Localized(said("en"), {lg: said(lg) for lg in LANGUAGES})


def unknown_kind(kind: str) -> DomainError:
    """The refusal of a facility kind none of ``FACILITY_ATTRS`` is."""
    return DomainError(
        "Unknown facility kind %(kind)s. The kinds are: %(kinds)s.",
        field="kind",
        kind=repr(kind),
        kinds=kinds_said(),
    )


class LstRangeAttrs(_Strict):
    lst_start_h: float = Field(ge=0, lt=24)
    lst_end_h: float = Field(gt=0, le=24)

    @model_validator(mode="after")
    def _order(self) -> LstRangeAttrs:
        if self.lst_end_h <= self.lst_start_h:
            raise ValueError("LST range must end after it starts")
        return self


class LegAttrs(_Strict):
    leg: str
    start_date: dt.date
    end_date: dt.date
    from_port: str
    to_port: str
    route: list[tuple[float, float]] = Field(min_length=2)
    max_depth_m: float | None = None

    @model_validator(mode="after")
    def _order(self) -> LegAttrs:
        if self.end_date < self.start_date:
            raise ValueError("a leg must end on or after its start date")
        for lat, lon in self.route:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError("route waypoints must be valid latitude/longitude pairs")
        for a, b in zip(self.route, self.route[1:], strict=False):
            if antipodal(a, b):  # the cruise schedule refuses such a leg (optim.logistics)
                raise ValueError(
                    f"route waypoints {a} and {b} are antipodal, so no one arc joins them; "
                    "add a waypoint between them"
                )
        return self


class SampleAttrs(_Strict):
    mission: str
    sample_type: str


class SessionAttrs(_Strict):
    technology: str
    start_date: dt.date
    end_date: dt.date
    place: str


class PackageAttrs(_Strict):
    technology: str
    season: str


POOL_ATTRS: dict[str, type[_Strict]] = {
    "lst_hours": LstRangeAttrs,
    "berths": LegAttrs,
    "dives": LegAttrs,
    "sample_mass": SampleAttrs,
    "seats": SessionAttrs,
    "packages": PackageAttrs,
}


def validate_facility_attributes(kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    if kind not in FACILITY_ATTRS:
        raise unknown_kind(kind)
    try:
        return FACILITY_ATTRS[kind].model_validate(attrs).model_dump(mode="json")
    except ValidationError as exc:
        raise DomainError(
            "Invalid facility attributes: %(problem)s", problem=error_text(exc, empty="value")
        ) from exc


def validate_pool_attributes(pool_type: str, attrs: dict[str, Any]) -> dict[str, Any]:
    if pool_type not in POOL_ATTRS:
        raise DomainError(
            "Unknown capacity pool type %(pool_type)s", field="pool_type", pool_type=repr(pool_type)
        )
    try:
        return POOL_ATTRS[pool_type].model_validate(attrs).model_dump(mode="json")
    except ValidationError as exc:
        raise DomainError(
            "Invalid capacity pool attributes: %(problem)s", problem=error_text(exc, empty="value")
        ) from exc
