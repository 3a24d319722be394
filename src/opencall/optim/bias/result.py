"""The output: one tested cell (``Interaction``) and a report's set of them (``BiasModel``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from opencall.optim.messages import Message, render


@dataclass(frozen=True)
class Interaction:
    """One reviewer-group x applicant-group cell.

    ``estimate`` (grade points, higher = more favourable): how much more favourably reviewers of
    ``reviewer_group`` grade ``applicant_group`` than ``reference_group``, beyond what the other
    reviewers do (negative = harsher).  ``marginal_difference``: the plain difference of mean
    grades between ``applicant_group`` and ``reference_group`` over all reviewers -- an outcome
    difference, not evidence of bias.  ``mdb``: the bias that would have been flagged with 80 %
    probability (at ``power``) given these reviews.
    """

    reviewer_cut: str
    reviewer_group: str
    applicant_cut: str
    applicant_group: str
    reference_group: str
    n_reviews: int
    n_reviewers: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float = 1.0
    significant: bool = False
    mdb: float = math.nan
    marginal_difference: float = math.nan

    @property
    def direction(self) -> Literal["harsher", "kinder", "same"]:
        if not self.significant:
            return "same"
        return "harsher" if self.estimate < 0 else "kinder"

    def describe(self) -> str:
        """An English sentence (the web layer translates from the fields)."""
        how = "less" if self.estimate < 0 else "more"
        return (
            f"Reviewers from {self.reviewer_group} grade applicants from {self.applicant_group} "
            f"{abs(self.estimate):.2f} points {how} favourably, relative to applicants from "
            f"{self.reference_group}, than other reviewers do (95 % interval "
            f"{self.ci_low:+.2f} to {self.ci_high:+.2f}, adjusted p={self.p_adjusted:.3g})."
        )

    def power_sentence(self) -> str:
        return (
            f"With these reviews, a bias of at least {self.mdb:.2f} points between reviewers from "
            f"{self.reviewer_group} and applicants from {self.applicant_group} would have been "
            f"detected with 80 % probability."
        )


@dataclass
class BiasModel:
    """All tested cells, one Benjamini-Hochberg family at ``alpha``."""

    interactions: list[Interaction]
    alpha: float
    power: float
    n_reviews: int
    method: str = "two-way fixed effects, OLS covariance"
    #: what was not tested and why, in English; ``skipped_messages``: the same sentences as
    #: messages (``optim.messages``) a page says in the reader's language
    skipped: list[str] = field(default_factory=list)
    skipped_messages: list[Message] = field(default_factory=list)

    def skip(self, msg: Message) -> None:
        """Say that something was not tested: ``msg`` and its English rendering."""
        self.skipped_messages.append(msg)
        self.skipped.append(render(msg))

    @property
    def flagged(self) -> list[Interaction]:
        return [c for c in self.interactions if c.significant]

    def mdb_summary(self) -> dict[str, float | None]:
        """Smallest and median minimum detectable bias over the tested cells."""
        v = sorted(c.mdb for c in self.interactions if math.isfinite(c.mdb))
        if not v:
            return {"min": None, "median": None, "max": None}
        return {"min": v[0], "median": float(np.median(v)), "max": v[-1]}
