"""Typed request details and the proposal input documents (pydantic v2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opencall.proposals.domain import parse_dec, parse_ra

#: A request's details are bounded where they are judged, for the page and the API alike:
#: a typed field (a receiver, a berth's purpose, a sample's techniques) holds at most
#: MAX_FIELD_CHARS characters, as the editor's field takes, and a table (targets, dive
#: sites) at most MAX_ROWS lines. Before, the schema bounded neither and the API stored
#: whatever a 1 MiB body held (trialcrowd14, tests/security/test_request_detail_bounds.py).
MAX_FIELD_CHARS = 300
MAX_ROWS = 500
Text = Annotated[str, Field(max_length=MAX_FIELD_CHARS)]
Choice = Annotated[str, Field(min_length=1, max_length=MAX_FIELD_CHARS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class FastTarget(_In):
    name: str = Field(min_length=1, max_length=60)
    ra_deg: float = Field(ge=0, lt=360)
    dec_deg: float = Field(ge=-90, le=90)
    hours: float = Field(gt=0, le=1000)

    @field_validator("ra_deg", mode="before")
    @classmethod
    def _ra(cls, v: Any) -> float:
        return parse_ra(v)

    @field_validator("dec_deg", mode="before")
    @classmethod
    def _dec(cls, v: Any) -> float:
        return parse_dec(v)


class FastDetails(_In):
    receiver: Choice
    mode: Choice
    targets: list[FastTarget] = Field(min_length=1, max_length=MAX_ROWS)
    splittable: bool = True
    min_block_hours: float = Field(default=0.5, gt=0)
    fixed_times_utc: list[Annotated[str, Field(max_length=40)]] = Field(
        default=[], max_length=MAX_ROWS
    )


class BerthDetails(_In):
    berths: int = Field(ge=1, le=20)
    purpose: Text = ""


class DiveSite(_In):
    name: str = Field(min_length=1, max_length=80)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    depth_m: float = Field(gt=0, le=11000)


class DiveDetails(_In):
    sites: list[DiveSite] = Field(min_length=1, max_length=MAX_ROWS)


class SampleDetails(_In):
    sample_type: Choice
    mass_mg: float = Field(gt=0, le=10000)
    techniques: Text = ""
    destructive: bool = False


class SiteConditions(_In):
    place: str = Field(min_length=1, max_length=200)
    country_iso3: str = Field(min_length=3, max_length=3)
    mean_temp_c: float = Field(ge=-30, le=50)
    annual_rain_mm: float = Field(ge=0, le=15000)
    altitude_m: float = Field(ge=-500, le=6000)
    water_temp_c: float | None = Field(default=None, ge=-5, le=45)


class SeatDetails(_In):
    technology: Choice
    seats: int = Field(ge=1, le=50)
    site: SiteConditions


class PackageDetails(_In):
    technology: Choice
    packages: int = Field(ge=1, le=20)
    site: SiteConditions


DETAILS: dict[str, type[_In]] = {
    "fast": FastDetails,
    "berth": BerthDetails,
    "dive": DiveDetails,
    "sample": SampleDetails,
    "seat": SeatDetails,
    "package": PackageDetails,
}

POOL_TYPE_FOR_KIND = {
    "fast": "lst_hours",
    "berth": "berths",
    "dive": "dives",
    "sample": "sample_mass",
    "seat": "seats",
    "package": "packages",
    "custom": "custom",
}


class ProposalUpdate(_In):
    title: str | None = None  # its limit is the call's (services.title_limit)
    abstract: str | None = None
    science_case: str | None = None
    keywords: str | None = Field(default=None, max_length=300)
    area: str | None = Field(default=None, max_length=60)


class MemberInvite(_In):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    institution: str = Field(min_length=1, max_length=300)
    country_iso3: str = Field(min_length=3, max_length=3)


class RequestIn(_In):
    kind: Literal["fast", "berth", "dive", "sample", "seat", "package", "custom"]
    pool_id: int | None = None
    details: dict[str, Any]
    bundle: str | None = Field(default=None, max_length=40)
