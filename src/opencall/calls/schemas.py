"""Validated documents of a call: review settings, allocation policy, form."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from opencall.errors import DomainError

NATIONALITY_GROUPS = {"international", "host", "low_lmic", "low", "lower-middle", "ldc"}


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ReviewSettings(_Doc):
    mode: Literal["panel", "distributed"] = "panel"
    reviewers_per_proposal: int = Field(default=3, ge=1, le=20)
    min_load: int = Field(default=0, ge=0)
    max_load: int = Field(default=10, ge=1)
    grade_min: float = 1.0
    grade_max: float = 5.0
    lower_is_better: bool = False
    max_same_institution: int = Field(default=1, ge=1)
    max_same_region: int = Field(default=2, ge=1)
    coauthor_years: int = Field(default=3, ge=0, le=20)
    review_deadline: dt.datetime | None = None
    #: What reviewers grade against (one line each) and how, shown on every review form.
    criteria: list[str] = Field(default=[], max_length=20)
    guidance: str = Field(default="", max_length=5000)
    #: Remove reviewer-group x applicant-group effects flagged by ``optim.bias`` from the grades
    #: before calibrating and ranking (recorded in the run and the audit log).
    bias_correction: bool = False
    bias_alpha: float = Field(default=0.05, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _check(self) -> ReviewSettings:
        if self.grade_max <= self.grade_min:
            raise ValueError("grade_max must be greater than grade_min")
        if self.max_load < self.min_load:
            raise ValueError("max_load must be at least min_load")
        return self


class GroupShare(_Doc):
    group: str = Field(min_length=1, max_length=40)
    min_share: float = Field(gt=0, le=1)


class AllocationPolicyDoc(_Doc):
    award_mode: Literal["whole", "partial"] = "whole"
    min_fraction: float = Field(default=1.0, gt=0, le=1)
    pi_cap_awards: int | None = Field(default=None, ge=1)
    group_shares: list[GroupShare] = []
    nationality_blind: bool = False
    quality_threshold: float | None = None
    require_suitability: bool = True
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> AllocationPolicyDoc:
        if self.award_mode == "whole" and self.min_fraction != 1.0:
            raise ValueError("min_fraction applies only when award_mode is 'partial'")
        if self.nationality_blind:
            bad = [g.group for g in self.group_shares if g.group in NATIONALITY_GROUPS]
            if bad:
                raise ValueError(
                    "the call is nationality-blind, so no share rule may use a nationality-"
                    f"derived group ({', '.join(bad)})"
                )
        if sum(g.min_share for g in self.group_shares) > 1:
            raise ValueError("minimum group shares add up to more than 100 %")
        return self


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


def _msg(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def parse_doc(model: type[_Doc], data: dict[str, Any], what: str) -> _Doc:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DomainError(f"Invalid {what}: {_msg(exc)}", field=what) from exc


def review_settings(data: dict[str, Any]) -> ReviewSettings:
    return parse_doc(ReviewSettings, data, "review settings")  # type: ignore[return-value]


def allocation_policy(data: dict[str, Any]) -> AllocationPolicyDoc:
    return parse_doc(AllocationPolicyDoc, data, "allocation policy")  # type: ignore[return-value]


def call_form(data: dict[str, Any]) -> CallForm:
    return parse_doc(CallForm, data, "call form")  # type: ignore[return-value]


class CallCreate(_Doc):
    slug: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    code: str = Field(min_length=2, max_length=20)
    title: str = Field(min_length=3, max_length=300)
    cycle: str = Field(min_length=1, max_length=40)
    description: str = ""
    opens_at: dt.datetime
    closes_at: dt.datetime
    anonymity: Literal["open", "single", "dual"] = "dual"
    review_settings: dict[str, Any] = {}
    allocation_policy: dict[str, Any] = {}
    form: dict[str, Any] = {}
    eligibility: dict[str, Any] = {}

    @model_validator(mode="after")
    def _dates(self) -> CallCreate:
        for d in (self.opens_at, self.closes_at):
            if d.tzinfo is None:
                raise ValueError("dates must carry a time zone (UTC)")
        if self.closes_at <= self.opens_at:
            raise ValueError("the call must close after it opens")
        return self
