"""Who benefits: pure statistics of the outcomes report.

Everything here is a pure function of plain values (frozen dataclasses, dicts of
numbers): no database, no files, no network. The services layer loads the
records and the reference indicators and passes them in.

Contents
- ``ApplicantRecord`` and ``funnel``: counts per country group and stage, with
  success rates and Wilson 95 % intervals, mean calibrated grade and rank, and
  amounts requested / awarded / scheduled.
- ``difference_tests``: each group against the rest at one stage (Fisher exact
  or chi-square), Benjamini-Hochberg controlled.
- ``ReviewRecord`` and ``reviewer_group_bias``: does a reviewer group grade one
  applicant group differently (relative to the calibrated consensus) from how
  it grades everyone else? Welch t-test or a seeded permutation test, BH
  controlled.
- Divide context: researcher and article counts per country from World Bank
  indicators, group shares of the world's researchers / articles, access ratios
  (awarded share / researcher share) per group, per country and per cycle.
- ``suppress_small_cells``: small-cell suppression with complementary
  suppression for public pages.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

GroupBy = Literal["income_group", "un_region", "ldc", "host"]
#: A funnel stage's key (see ``FUNNEL``); post-award stages are appended by data.
Stage = str
AmountKind = Literal["requested", "awarded", "scheduled"]

INCOME_GROUPS: tuple[str, ...] = ("low", "lower-middle", "upper-middle", "high", "unknown")
GROUP_BYS: tuple[GroupBy, ...] = ("income_group", "un_region", "ldc", "host")
LDC_LABELS = ("LDC", "non-LDC")
HOST_LABELS = ("host", "international")
UNKNOWN = "unknown"


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ApplicantRecord:
    """One proposal as it went through a call, seen from its lead applicant's country.

    Amounts are in the call's capacity units (hours, berths, mg, seats): the
    ``amount_*`` fields are totals over all units, ``amounts`` holds them per unit
    as ``{unit: (requested, awarded, scheduled)}`` (empty: one unnamed unit).
    ``rank`` is 1 for the best proposal; ``calibrated_grade`` is on the call's
    scale after calibration, ``None`` when the proposal was never reviewed.
    ``funded_range``: ranked within the funding line (the best-ranked proposals
    whose requests fit the call's capacity). ``flags`` holds further stage keys
    reached (e.g. post-award "used", "completed"), so that stages can be added
    to ``FUNNEL`` without new fields.
    """

    proposal_id: str
    country_iso3: str
    income_group: str
    un_region: str
    ldc: bool
    host: bool
    applied: bool = True
    eligible: bool = False
    feasible: bool = False
    calibrated_grade: float | None = None
    rank: int | None = None
    awarded: bool = False
    amount_requested: float = 0.0
    amount_awarded: float = 0.0
    amount_scheduled: float = 0.0
    reviewed: bool | None = None
    funded_range: bool = False
    amounts: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    #: per resource its requests name: ``{resource: (requested, awarded, scheduled)}``
    #: (a node of a network, a flight's power), for :func:`resource_rows`
    resources: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)

    @property
    def was_reviewed(self) -> bool:
        """Reviewed: set explicitly, or (when ``reviewed`` is None) having a calibrated grade."""
        return self.reviewed if self.reviewed is not None else self.calibrated_grade is not None

    def unit_amounts(self) -> dict[str, tuple[float, float, float]]:
        """Amounts per unit; a record without units has one unnamed unit ``""``."""
        if self.amounts:
            return {u: (float(a), float(b), float(c)) for u, (a, b, c) in self.amounts.items()}
        return {"": (self.amount_requested, self.amount_awarded, self.amount_scheduled)}


@dataclass(frozen=True)
class FunnelStage:
    """One stage of the funnel, defined by data.

    ``reached`` is the stage's own condition on a record; a record reaches the
    stage when it also reached ``base`` (the stage it is counted within: the
    previous stage for a chain, or an earlier one for a side stage such as
    "ranked in the funded range", which awards may bypass). ``amount`` names the
    amount shown at this stage. ``label`` is English (the web layer translates).
    ``keep``: an outcome shown even when every record at its base reached it
    (that everyone was awarded is news; that everyone was eligible is not).
    """

    key: str
    label: str
    reached: Callable[[ApplicantRecord], bool]
    base: str | None = None
    amount: AmountKind | None = None
    side: bool = False
    keep: bool = False


def flag(key: str) -> Callable[[ApplicantRecord], bool]:
    """A stage condition read from ``ApplicantRecord.flags`` (for stages added by data)."""

    def reached(r: ApplicantRecord) -> bool:
        return key in r.flags

    return reached


#: The funnel, in display order. Append a ``FunnelStage`` (e.g. post-award
#: ``FunnelStage("used", "Used the award", flag("used"), base="scheduled")``) and
#: fill the records' ``flags``; counts, rates, suppression and tests follow.
FUNNEL: list[FunnelStage] = [
    FunnelStage("applied", "Applied", lambda r: r.applied, None, "requested"),
    FunnelStage("eligible", "Eligible", lambda r: r.eligible, "applied", "requested"),
    FunnelStage("feasible", "Technically feasible", lambda r: r.feasible, "eligible", "requested"),
    FunnelStage("reviewed", "Reviewed", lambda r: r.was_reviewed, "feasible", "requested"),
    FunnelStage(
        "ranked",
        "Ranked in the funded range",
        lambda r: r.funded_range,
        "reviewed",
        "requested",
        side=True,
    ),
    FunnelStage("awarded", "Awarded", lambda r: r.awarded, "reviewed", "awarded", keep=True),
    FunnelStage(
        "scheduled",
        "Scheduled",
        lambda r: r.amount_scheduled > 0 or "scheduled" in r.flags,
        "awarded",
        "scheduled",
        keep=True,
    ),
]


def _not_set_aside(r: ApplicantRecord) -> bool:
    return SET_ASIDE not in r.flags


#: the flag of a record whose proposal the chair set aside at triage (out of scope,
#: infeasible, incomplete: ``proposals.models.TriageDecision``)
SET_ASIDE = "set_aside"
#: the stage a call with a proposal set aside at triage adds after "applied", so that
#: its report says how many were set aside in each group rather than counting them
#: silently as not eligible (a call without one keeps ``FUNNEL`` as it was)
TRIAGE_STAGE = FunnelStage(
    "triage", "Not set aside at triage", _not_set_aside, "applied", "requested"
)


def funnel_for(records: Sequence[ApplicantRecord]) -> list[FunnelStage]:
    """The stages of a report of ``records``: ``FUNNEL``, with :data:`TRIAGE_STAGE` after
    "applied" (and "eligible" counted within it) when any record was set aside."""
    if not any(SET_ASIDE in r.flags for r in records):
        return funnel_stages()
    out: list[FunnelStage] = []
    for st in FUNNEL:
        if st.base == "applied" and not st.side:
            out.append(TRIAGE_STAGE)
            st = replace(st, base="triage")
        out.append(st)
    return funnel_stages(out)


def funnel_stages(stages: Sequence[FunnelStage] | None = None) -> list[FunnelStage]:
    """The stages to use (``FUNNEL`` by default), checked: unique keys, bases defined before."""
    out = list(FUNNEL if stages is None else stages)
    seen: set[str] = set()
    for i, st in enumerate(out):
        if st.key in seen:
            raise ValueError(f"funnel stage {st.key!r} defined twice")
        if (i == 0) != (st.base is None) or (st.base is not None and st.base not in seen):
            raise ValueError(f"funnel stage {st.key!r}: its base must be an earlier stage")
        seen.add(st.key)
    return out


def _stage_map(stages: Sequence[FunnelStage] | None = None) -> dict[str, FunnelStage]:
    # asked once per record and stage (tens of thousands of times in a provider's
    # report): the checked map of the same stages is made once. Keyed by the stages'
    # identities (frozen, and kept alive by the entry, so an id is never reused);
    # hashing the dataclasses themselves cost as much as checking them again
    seq = tuple(FUNNEL if stages is None else stages)
    key = tuple(map(id, seq))
    hit = _STAGE_MAPS.get(key)
    if hit is None:
        if len(_STAGE_MAPS) >= 32:
            _STAGE_MAPS.clear()
        hit = _STAGE_MAPS[key] = (seq, {st.key: st for st in funnel_stages(seq)})
    return hit[1]


_STAGE_MAPS: dict[tuple[int, ...], tuple[tuple[FunnelStage, ...], dict[str, FunnelStage]]] = {}


#: Stage keys in order (of the default funnel).
STAGES: tuple[Stage, ...] = tuple(s.key for s in FUNNEL)


def chain(stages: Sequence[FunnelStage] | None = None) -> list[FunnelStage]:
    """The nested main chain of the funnel (side stages left out)."""
    return [s for s in funnel_stages(stages) if not s.side]


def group_of(record: ApplicantRecord, by: GroupBy) -> str:
    """The group label of a record for one grouping."""
    if by == "income_group":
        return record.income_group if record.income_group in INCOME_GROUPS else UNKNOWN
    if by == "un_region":
        return record.un_region or UNKNOWN
    if by == "ldc":
        return LDC_LABELS[0] if record.ldc else LDC_LABELS[1]
    if by == "host":
        return HOST_LABELS[0] if record.host else HOST_LABELS[1]
    raise ValueError(f"unknown grouping {by!r}; expected one of {', '.join(GROUP_BYS)}")


def _group_order(by: GroupBy, present: Iterable[str]) -> list[str]:
    seen = set(present)
    if by == "income_group":
        return [g for g in INCOME_GROUPS if g in seen]
    if by == "ldc":
        return [g for g in LDC_LABELS if g in seen]
    if by == "host":
        return [g for g in HOST_LABELS if g in seen]
    return sorted(seen - {UNKNOWN}) + ([UNKNOWN] if UNKNOWN in seen else [])


def stage_reached(
    record: ApplicantRecord, stage: Stage, stages: Sequence[FunnelStage] | None = None
) -> bool:
    """True when the record meets ``stage``'s condition and reached its base, recursively."""
    smap = _stage_map(stages)
    if stage not in smap:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(smap)}")
    key: str | None = stage
    while key is not None:
        st = smap[key]
        if not st.reached(record):
            return False
        key = st.base
    return True


# --------------------------------------------------------------------------- Wilson


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (no continuity correction).

    The one Wilson interval of the reports (funnel and after the award). statsmodels'
    ``proportion_confint(method="wilson")`` and scipy's ``binomtest`` agree with it to
    ~4e-16; the formula is five lines and keeps the exported figures as they were.
    ``n == 0`` gives (0, 1).
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # At k = 0 (k = n) the bound is exactly 0 (1); pin it against rounding.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def share(successes: int, n: int, confidence: float = 0.95) -> tuple[float | None, float, float]:
    """``successes / n`` (None when ``n == 0``) with its Wilson interval: the rate and its
    low and high bounds of every row of the funnel and after the award."""
    lo, hi = wilson_interval(successes, n, confidence)
    return (successes / n if n else None, lo, hi)


# --------------------------------------------------------------------------- funnel


@dataclass(frozen=True)
class FunnelRow:
    """One group at one stage.

    ``rate`` is the share of the group's applications that reached the stage;
    ``stage_rate`` the share of those at the stage's base (``previous`` records)
    that passed this one (equal to ``rate`` for "applied"). Both carry Wilson
    95 % intervals. Means are over the records at the stage that have a value
    (``None`` when none has). ``amounts`` are the stage's amounts (its
    ``amount_kind``: requested, awarded or scheduled) per capacity unit.
    """

    group: str
    stage: Stage
    count: int
    applied: int
    rate: float | None
    rate_low: float
    rate_high: float
    previous: int
    stage_rate: float | None
    stage_rate_low: float
    stage_rate_high: float
    mean_grade: float | None
    mean_rank: float | None
    #: the amounts of the stage's records in their one unit; None when the records'
    #: resources have several units (hours and nights are never added together): then
    #: read ``amounts_requested``, ``amounts_awarded`` and ``amounts_scheduled``
    amount_requested: float | None
    amount_awarded: float | None
    amount_scheduled: float | None
    label: str = ""
    base: str | None = None
    amount_kind: str | None = None
    #: the stage's own amount (``amount_kind``) per unit
    amounts: dict[str, float] = field(default_factory=dict)
    amounts_requested: dict[str, float] = field(default_factory=dict)
    amounts_awarded: dict[str, float] = field(default_factory=dict)
    amounts_scheduled: dict[str, float] = field(default_factory=dict)


def _mean(values: Iterable[float | int | None]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _group_records(
    records: Sequence[ApplicantRecord], by: GroupBy
) -> dict[str, list[ApplicantRecord]]:
    groups: dict[str, list[ApplicantRecord]] = {}
    for r in records:
        groups.setdefault(group_of(r, by), []).append(r)
    return {g: groups[g] for g in _group_order(by, groups)}


_AMOUNT_INDEX = {"requested": 0, "awarded": 1, "scheduled": 2}


def _unit_totals(records: Iterable[ApplicantRecord], kind: str | None) -> dict[str, float]:
    if kind is None:
        return {}
    i = _AMOUNT_INDEX[kind]
    out: dict[str, float] = {}
    for r in records:
        for unit, values in r.unit_amounts().items():
            out[unit] = out.get(unit, 0.0) + values[i]
    return out


@dataclass(frozen=True)
class ResourceRow:
    """One group's part of one resource (a node of an instrument network, a cell, a
    flight's power): ``applied`` applications whose requests name it, ``awarded`` those
    awarded some of it, and the amounts (in its ``unit``) they asked for, were awarded
    and were scheduled. Amounts are never added up over resources here: 700 W on each of
    two flights is two rows, not 1400 W."""

    grouping: str
    resource: str
    unit: str
    group: str
    applied: int
    awarded: int
    amount_requested: float
    amount_awarded: float
    amount_scheduled: float


def resource_rows(
    records: Sequence[ApplicantRecord], by: GroupBy, units: Mapping[str, str]
) -> list[ResourceRow]:
    """Who benefits at each resource its requests name (``units``: {resource: unit}, in
    the order shown): for each, the groups of ``by`` that asked for it and then "all"."""
    out: list[ResourceRow] = []
    for resource, unit in units.items():
        at = [r for r in records if resource in r.resources]
        if not at:
            continue
        for g, members in [*_group_records(at, by).items(), ("all", at)]:
            amounts = [r.resources[resource] for r in members]
            out.append(
                ResourceRow(
                    grouping=by,
                    resource=resource,
                    unit=unit,
                    group=g,
                    applied=sum(1 for a in amounts if a[0] > 0),
                    awarded=sum(1 for a in amounts if a[1] > 0),
                    amount_requested=float(sum(a[0] for a in amounts)),
                    amount_awarded=float(sum(a[1] for a in amounts)),
                    amount_scheduled=float(sum(a[2] for a in amounts)),
                )
            )
    return out


def funnel(
    records: Sequence[ApplicantRecord],
    by: GroupBy = "income_group",
    *,
    include_total: bool = False,
    confidence: float = 0.95,
    stages: Sequence[FunnelStage] | None = None,
) -> list[FunnelRow]:
    """Per group (in a fixed order) and stage: counts, rates, means and amounts.

    With ``include_total`` a last group "all" covers every record. ``stages``
    defaults to ``FUNNEL``.
    """
    defs = funnel_stages(stages)
    grouped = _group_records(records, by)
    if include_total:
        grouped["all"] = list(records)
    # one unit for every record: its scalar totals are honest; several: per unit only
    one_unit = len({u for r in records for u, v in r.unit_amounts().items() if any(v)}) <= 1

    def total(at: Sequence[ApplicantRecord], kind: str) -> float | None:
        return sum(_unit_totals(at, kind).values()) if one_unit else None

    rows: list[FunnelRow] = []
    for group, members in grouped.items():
        n_applied = sum(1 for r in members if stage_reached(r, defs[0].key, defs))
        counts: dict[str, int] = {}
        for st in defs:
            at = [r for r in members if stage_reached(r, st.key, defs)]
            k = len(at)
            counts[st.key] = k
            rate, lo, hi = share(k, n_applied, confidence)
            base = n_applied if st.base is None else counts[st.base]
            stage_rate, slo, shi = share(k, base, confidence)
            rows.append(
                FunnelRow(
                    group=group,
                    stage=st.key,
                    count=k,
                    applied=n_applied,
                    rate=rate,
                    rate_low=lo,
                    rate_high=hi,
                    previous=base,
                    stage_rate=stage_rate,
                    stage_rate_low=slo,
                    stage_rate_high=shi,
                    mean_grade=_mean(r.calibrated_grade for r in at),
                    mean_rank=_mean(r.rank for r in at),
                    amount_requested=total(at, "requested"),
                    amount_awarded=total(at, "awarded"),
                    amount_scheduled=total(at, "scheduled"),
                    label=st.label,
                    base=st.base,
                    amount_kind=st.amount,
                    amounts=_unit_totals(at, st.amount),
                    amounts_requested=_unit_totals(at, "requested"),
                    amounts_awarded=_unit_totals(at, "awarded"),
                    amounts_scheduled=_unit_totals(at, "scheduled"),
                )
            )
    return rows


def informative_stages(
    records: Sequence[ApplicantRecord], stages: Sequence[FunnelStage] | None = None
) -> dict[str, str | None]:
    """Each stage key with the reason it is left out of the report's tables, or None.

    The first stage (applied) is the denominator of every rate, so its own row
    says nothing ("denominator"); a stage that every record at its base passes
    is tautological ("everyone passed": a 100 % row in every group), unless it
    is an outcome marked ``keep``.
    """
    defs = funnel_stages(stages)
    out: dict[str, str | None] = {}
    for st in defs:
        if st.base is None:
            out[st.key] = "denominator"
            continue
        at_base = [r for r in records if stage_reached(r, st.base, defs)]
        passed = sum(1 for r in at_base if st.reached(r))
        tautological = at_base and passed == len(at_base) and not st.keep
        out[st.key] = "everyone passed" if tautological else None
    return out


def nothing_to_schedule(records: Sequence[ApplicantRecord], money_units: Container[str]) -> bool:
    """Whether every amount awarded to ``records`` is money (``money_units``: paid, not
    scheduled), so that the "Scheduled" stage says nothing (trialop20); False when no
    unit is money."""
    if not any(u in money_units for r in records for u in r.unit_amounts()):
        return False
    return not any(
        v[1] > 0 for r in records for u, v in r.unit_amounts().items() if u not in money_units
    )


# --------------------------------------------------------------------------- group differences


def bh_adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control)."""
    from scipy import stats

    if not p_values:
        return []
    adjusted = stats.false_discovery_control(np.asarray(p_values, dtype=float), method="bh")
    return [float(x) for x in np.atleast_1d(adjusted)]


Direction = Literal["worse", "better", "same"]


@dataclass(frozen=True)
class DifferenceTest:
    """A group against the rest of the applicants at one stage.

    ``n``/``successes``: records of the group at the base stage / that reached
    ``stage``. ``test`` is "fisher" (2x2 Fisher exact, used when any expected
    count is below 5) or "chi2" (Pearson chi-square with Yates' correction).
    ``significant`` is set only when the BH-adjusted p-value is <= q;
    ``direction`` says whether the group fares worse or better than the rest.
    """

    group: str
    stage: Stage
    base_stage: Stage
    n: int
    successes: int
    rate: float | None
    n_rest: int
    successes_rest: int
    rate_rest: float | None
    difference: float | None
    test: Literal["fisher", "chi2", "none"]
    p_value: float
    p_adjusted: float
    significant: bool
    direction: Direction


def _two_by_two_p(a: int, b: int, c: int, d: int) -> tuple[Literal["fisher", "chi2"], float]:
    from scipy import stats

    table = np.array([[a, b], [c, d]], dtype=float)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    if (expected < 5).any():
        res = stats.fisher_exact(table.astype(int))
        return "fisher", float(res.pvalue)
    chi = stats.chi2_contingency(table, correction=True)
    return "chi2", float(chi.pvalue)


def difference_tests(
    records: Sequence[ApplicantRecord],
    by: GroupBy,
    stage: Stage,
    *,
    base_stage: Stage | None = None,
    q: float = 0.05,
) -> list[DifferenceTest]:
    """Each group vs the rest: does it pass ``stage`` at a different rate?

    The denominator is the records at ``base_stage`` (default: the stage just
    before ``stage``, so the test isolates the step where a gap opens; pass
    "applied" for the overall success rate). Groups whose rest is empty or whose
    2x2 table has an empty margin get p = 1 and test "none". p-values are
    Benjamini-Hochberg adjusted over the groups of this call.
    """
    smap = _stage_map()
    if stage not in smap or smap[stage].base is None:
        raise ValueError(f"stage must be one of {', '.join(k for k in smap if smap[k].base)}")
    ancestors: list[str] = []
    key = smap[stage].base
    while key is not None:
        ancestors.append(key)
        key = smap[key].base
    if base_stage is None:
        base_stage = ancestors[0]
    if base_stage not in ancestors:
        raise ValueError("base_stage must be a stage that ``stage`` is counted within")
    grouped = _group_records([r for r in records if stage_reached(r, base_stage)], by)
    totals_n = sum(len(m) for m in grouped.values())
    totals_k = sum(1 for m in grouped.values() for r in m if stage_reached(r, stage))
    raw: list[tuple[str, int, int, int, int, Literal["fisher", "chi2", "none"], float]] = []
    for group, members in grouped.items():
        n = len(members)
        k = sum(1 for r in members if stage_reached(r, stage))
        n_rest, k_rest = totals_n - n, totals_k - k
        a, b, c, d = k, n - k, k_rest, n_rest - k_rest
        if n == 0 or n_rest == 0 or (a + c) == 0 or (b + d) == 0:
            raw.append((group, n, k, n_rest, k_rest, "none", 1.0))
            continue
        used, p = _two_by_two_p(a, b, c, d)
        raw.append((group, n, k, n_rest, k_rest, used, p))
    adjusted = bh_adjust([r[6] for r in raw])
    out: list[DifferenceTest] = []
    for (group, n, k, n_rest, k_rest, test, p), p_adj in zip(raw, adjusted, strict=True):
        rate = k / n if n else None
        rate_rest = k_rest / n_rest if n_rest else None
        diff = rate - rate_rest if rate is not None and rate_rest is not None else None
        significant = test != "none" and p_adj <= q
        direction: Direction = "same"
        if significant and diff is not None:
            direction = "worse" if diff < 0 else "better"
        out.append(
            DifferenceTest(
                group=group,
                stage=stage,
                base_stage=base_stage,
                n=n,
                successes=k,
                rate=rate,
                n_rest=n_rest,
                successes_rest=k_rest,
                rate_rest=rate_rest,
                difference=diff,
                test=test,
                p_value=p,
                p_adjusted=p_adj,
                significant=significant,
                direction=direction,
            )
        )
    return out


# --------------------------------------------------------------------------- reviewer bias


@dataclass(frozen=True)
class ReviewRecord:
    """One review: who (by group) graded whom (by group), and the proposal's consensus.

    ``consensus`` is the proposal's calibrated consensus grade on the same scale
    as ``grade``.
    """

    reviewer_id: str
    proposal_id: str
    reviewer_group: str
    applicant_group: str
    grade: float
    consensus: float


@dataclass(frozen=True)
class ReviewerBiasCell:
    """A (reviewer group, applicant group) cell.

    Residual = grade - consensus (raw scale). ``favour`` turns it into "higher is
    more favourable" whatever the scale's orientation. ``difference`` is the
    cell's mean favour minus the same reviewer group's mean favour on other
    applicant groups: negative = this reviewer group is harsher on this applicant
    group than on others. ``significant`` only when BH-adjusted p <= q.
    """

    reviewer_group: str
    applicant_group: str
    n: int
    n_other: int
    mean_residual: float
    mean_favour: float
    other_mean_favour: float
    difference: float
    p_value: float
    p_adjusted: float
    significant: bool
    direction: Literal["harsher", "kinder", "same"]
    method: str

    def describe(self) -> str:
        """An English sentence (the web layer translates from the fields)."""
        how = "less" if self.difference < 0 else "more"
        return (
            f"Reviewers from {self.reviewer_group} grade applicants from "
            f"{self.applicant_group} {abs(self.difference):.2f} points {how} favourably, "
            f"relative to consensus, than they grade other applicants "
            f"(n={self.n}, adjusted p={self.p_adjusted:.3g})."
        )


def _permutation_p(x: np.ndarray, y: np.ndarray, n_resamples: int, seed: int) -> float:
    from scipy import stats

    def statistic(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
        return np.asarray(np.mean(a, axis=axis) - np.mean(b, axis=axis))

    res = stats.permutation_test(
        (x, y),
        statistic,
        permutation_type="independent",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(res.pvalue)


def reviewer_group_bias(
    reviews: Sequence[ReviewRecord],
    *,
    higher_is_better: bool = True,
    q: float = 0.05,
    method: Literal["welch", "permutation"] = "welch",
    min_reviews: int = 3,
    n_resamples: int = 999,
    seed: int = 0,
) -> list[ReviewerBiasCell]:
    """Cells where a reviewer group grades an applicant group unlike its other applicants.

    For each reviewer group R and applicant group A with at least ``min_reviews``
    reviews of A and of other groups by R, compare R's residuals on A with R's
    residuals on everyone else (so a reviewer group that is simply harsh or
    lenient overall is not flagged). Welch's t-test by default; ``permutation``
    uses a seeded permutation test (deterministic for a seed). p-values are BH
    adjusted over all cells tested. On a lower-is-better scale
    (``higher_is_better=False``) residuals are negated before comparing, so
    "harsher" always means less favourable.
    """
    from scipy import stats

    if method not in ("welch", "permutation"):
        raise ValueError("method must be 'welch' or 'permutation'")
    sign = 1.0 if higher_is_better else -1.0
    by_reviewer: dict[str, dict[str, list[float]]] = {}
    raw_by_cell: dict[tuple[str, str], list[float]] = {}
    for r in reviews:
        resid = float(r.grade) - float(r.consensus)
        by_reviewer.setdefault(r.reviewer_group, {}).setdefault(r.applicant_group, []).append(
            sign * resid
        )
        raw_by_cell.setdefault((r.reviewer_group, r.applicant_group), []).append(resid)
    pending: list[tuple[str, str, np.ndarray, np.ndarray, float]] = []
    for rg in sorted(by_reviewer):
        cells = by_reviewer[rg]
        for ag in sorted(cells):
            x = np.asarray(cells[ag], dtype=float)
            y = np.asarray([v for g, vs in cells.items() if g != ag for v in vs], dtype=float)
            if len(x) < min_reviews or len(y) < min_reviews:
                continue
            if method == "welch":
                if np.ptp(np.concatenate([x, y])) == 0.0:
                    p = 1.0
                else:
                    p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
                    if math.isnan(p):
                        p = 1.0
            else:
                cell_seed = seed + len(pending)
                p = _permutation_p(x, y, n_resamples, cell_seed)
            pending.append((rg, ag, x, y, p))
    adjusted = bh_adjust([t[4] for t in pending])
    out: list[ReviewerBiasCell] = []
    for (rg, ag, x, y, p), p_adj in zip(pending, adjusted, strict=True):
        diff = float(x.mean() - y.mean())
        significant = p_adj <= q
        direction: Literal["harsher", "kinder", "same"] = "same"
        if significant:
            direction = "harsher" if diff < 0 else "kinder"
        out.append(
            ReviewerBiasCell(
                reviewer_group=rg,
                applicant_group=ag,
                n=len(x),
                n_other=len(y),
                mean_residual=float(np.mean(raw_by_cell[(rg, ag)])),
                mean_favour=float(x.mean()),
                other_mean_favour=float(y.mean()),
                difference=diff,
                p_value=p,
                p_adjusted=p_adj,
                significant=significant,
                direction=direction,
                method=method,
            )
        )
    return out


# --------------------------------------------------------------------------- divide context


@dataclass(frozen=True)
class CountryValue:
    """An indicator-derived count for one country and the year it comes from."""

    iso3: str
    year: int
    value: float


def latest_in_window(
    series: Mapping[int, float], window: tuple[int | None, int]
) -> tuple[int, float] | None:
    """The latest (year, value) with ``window[0] <= year <= window[1]`` (no lower bound
    when ``window[0]`` is None) and a finite value."""
    first, last = window
    years = [
        y
        for y, v in series.items()
        if (first is None or first <= y) and y <= last and v is not None and math.isfinite(v)
    ]
    if not years:
        return None
    y = max(years)
    return y, float(series[y])


def researcher_counts(
    researchers_per_million: Mapping[str, Mapping[int, float]],
    population: Mapping[str, Mapping[int, float]],
    window: tuple[int, int],
) -> dict[str, CountryValue]:
    """Researchers per country: SP.POP.SCIE.RD.P6 x SP.POP.TOTL / 1e6.

    Per country the latest year within ``window`` that has both a researcher
    density and a population for that same year; countries without one are left
    out (the world total is then the sum over countries with data).
    """
    out: dict[str, CountryValue] = {}
    for iso3, series in researchers_per_million.items():
        pop = population.get(iso3, {})
        both = {y: v for y, v in series.items() if y in pop}
        found = latest_in_window(both, window)
        if found is None:
            continue
        year, density = found
        p = pop[year]
        if p is None or not math.isfinite(p):
            continue
        out[iso3] = CountryValue(iso3, year, density * float(p) / 1e6)
    return out


def article_counts(
    articles: Mapping[str, Mapping[int, float]], window: tuple[int, int]
) -> dict[str, CountryValue]:
    """Scientific articles per country (IP.JRN.ARTC.SC), latest year within ``window``."""
    out: dict[str, CountryValue] = {}
    for iso3, series in articles.items():
        found = latest_in_window(series, window)
        if found is not None:
            out[iso3] = CountryValue(iso3, found[0], found[1])
    return out


def shares(amounts: Mapping[str, float]) -> dict[str, float]:
    """Each key's share of the total (empty dict when the total is 0)."""
    total = float(sum(amounts.values()))
    if total <= 0:
        return {}
    return {k: float(v) / total for k, v in amounts.items()}


def group_totals(values: Mapping[str, float], group_by_iso3: Mapping[str, str]) -> dict[str, float]:
    """Sum country values per group; countries without a group count as "unknown"."""
    out: dict[str, float] = {}
    for iso3, v in values.items():
        g = group_by_iso3.get(iso3) or UNKNOWN
        out[g] = out.get(g, 0.0) + float(v)
    return out


@dataclass(frozen=True)
class DivideContext:
    """Group shares of the world's researchers and articles (countries with data)."""

    researcher_share: dict[str, float]
    article_share: dict[str, float]
    researchers: dict[str, CountryValue]
    articles: dict[str, CountryValue]
    window: tuple[int, int]


def divide_context(
    researchers_per_million: Mapping[str, Mapping[int, float]],
    population: Mapping[str, Mapping[int, float]],
    articles: Mapping[str, Mapping[int, float]],
    group_by_iso3: Mapping[str, str],
    window: tuple[int, int],
) -> DivideContext:
    """Each group's share of the world's researchers and of its scientific articles."""
    res = researcher_counts(researchers_per_million, population, window)
    art = article_counts(articles, window)
    return DivideContext(
        researcher_share=shares(group_totals({k: v.value for k, v in res.items()}, group_by_iso3)),
        article_share=shares(group_totals({k: v.value for k, v in art.items()}, group_by_iso3)),
        researchers=res,
        articles=art,
        window=window,
    )


@dataclass(frozen=True)
class AccessRatio:
    """Awarded share / reference share (researchers or articles) for a group or country.

    ``ratio`` is ``None`` when the reference share is missing or zero. A ratio
    of 1 means the group gets access in proportion to its research capacity.
    """

    key: str
    awarded_share: float
    reference_share: float | None
    ratio: float | None


def access_ratios(
    awarded_share_by_group: Mapping[str, float],
    researcher_share_by_group: Mapping[str, float],
) -> list[AccessRatio]:
    """Access ratio per key, over the union of keys (sorted); missing shares count as 0."""
    keys = sorted(set(awarded_share_by_group) | set(researcher_share_by_group))
    out: list[AccessRatio] = []
    for k in keys:
        a = float(awarded_share_by_group.get(k, 0.0))
        ref = researcher_share_by_group.get(k)
        ratio = a / float(ref) if ref is not None and ref > 0 else None
        out.append(AccessRatio(k, a, None if ref is None else float(ref), ratio))
    return out


def awarded_by(
    records: Sequence[ApplicantRecord],
    key: Callable[[ApplicantRecord], str] | GroupBy,
    measure: Literal["count", "amount_awarded", "amount_scheduled"] = "amount_awarded",
) -> dict[str, float]:
    """Awarded totals per key (a grouping name, or a function such as lambda r: r.country_iso3)."""
    fn: Callable[[ApplicantRecord], str]
    if callable(key):
        fn = key
    else:
        by: GroupBy = key

        def fn(r: ApplicantRecord) -> str:
            return group_of(r, by)

    out: dict[str, float] = {}
    for r in records:
        if not stage_reached(r, "awarded"):
            continue
        v = 1.0 if measure == "count" else float(getattr(r, measure))
        out[fn(r)] = out.get(fn(r), 0.0) + v
    return out


def awarded_by_unit(
    records: Sequence[ApplicantRecord], key: GroupBy
) -> dict[str, dict[str, float]]:
    """Awarded amounts per unit (``ApplicantRecord.unit_amounts``; ``""``: one unnamed
    unit) and group: berths are never added to dives, nor hours to milligrams. Units in
    the order first met."""
    out: dict[str, dict[str, float]] = {}
    for r in records:
        if not stage_reached(r, "awarded"):
            continue
        g = group_of(r, key)
        for unit, (_requested, awarded, _scheduled) in r.unit_amounts().items():
            cell = out.setdefault(unit, {})
            cell[g] = cell.get(g, 0.0) + awarded
    return out


@dataclass(frozen=True)
class CycleAccessRatios:
    cycle: str
    ratios: list[AccessRatio] = field(default_factory=list)


def access_ratio_trend(
    awarded_by_cycle: Sequence[tuple[str, Mapping[str, float]]],
    reference_share_by_group: Mapping[str, float],
) -> list[CycleAccessRatios]:
    """Access ratios per cycle, in the order given (awarded amounts per group per cycle)."""
    return [
        CycleAccessRatios(cycle, access_ratios(shares(amounts), reference_share_by_group))
        for cycle, amounts in awarded_by_cycle
    ]


# --------------------------------------------------------------------------- suppression

TOTAL = "__total__"


@dataclass(frozen=True)
class SuppressedTable:
    """A count table with row/column/grand totals, safe to publish.

    ``values`` maps (row, column) to the count or ``None`` when suppressed; the
    totals use the key ``TOTAL`` in place of a row or column name. ``primary``
    holds cells suppressed for being small, ``complementary`` those suppressed so
    that a small one cannot be worked out. ``zeros_suppressed`` says whether a
    "<5" may stand for 0 (False: zeros are shown as 0).
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    values: dict[tuple[str, str], int | None]
    primary: frozenset[tuple[str, str]]
    complementary: frozenset[tuple[str, str]]
    min_cell: int
    zeros_suppressed: bool = True

    def display(self, row: str, column: str) -> str:
        """The text to show: the count, ``<5`` for a small cell, ``x`` for a complementary one."""
        key = (row, column)
        if key in self.primary:
            return f"<{self.min_cell}"
        if key in self.complementary:
            return "x"
        v = self.values[key]
        return str(v)


def suppress_small_cells(
    table: Mapping[str, Mapping[str, int]],
    min_cell: int = 5,
    *,
    suppress_zeros: bool = True,
    known_totals: bool = False,
    known_rows: bool = False,
    hide: Iterable[tuple[str, str]] = (),
) -> SuppressedTable:
    """Suppress cells counting fewer than ``min_cell`` people, and enough others.

    The rule, in full:

    1. The published table is the cells plus every row total, column total and
       the grand total (all computed from the true counts).
    2. Primary suppression: every cell or total below ``min_cell`` is suppressed
       and shown as "<5". Zero counts too, unless ``suppress_zeros=False``
       (a published 0 cannot identify anyone; then ``min_cell`` must be >= 3 so
       that "<min_cell" does not pin the value, and if the table cannot be
       protected while zeros are shown, zeros are suppressed as well).
    3. Complementary suppression: a reader who knows every published number, that
       each row and column adds up to its total, that a "<5" cell lies in
       [0, 4] (or [1, 4] when zeros are published) and that an "x" cell is >= 5,
       must not be able to determine any suppressed number exactly. Cheap first
       pass: no row or column line (totals included) may hold exactly one
       suppressed entry; then an exact audit solves, for every suppressed entry,
       the linear programs min x and max x under those constraints (the
       constraint matrix of a two-way table with margins is totally unimodular,
       so the LP bounds are attained by integer tables: min == max is exactly
       "recoverable"). While some entry is recoverable, one more entry on its row
       or column (the smallest published cell, then totals) is suppressed as "x".

    With ``known_totals`` every row, column and grand total is published whatever its
    size (the reader knows them anyway: the awards of each group are on the public list
    of awarded programmes) and only inner cells are suppressed; a cell that the totals
    alone determine (a table of one row) cannot be protected and is hidden all the same.

    With ``known_rows`` the reader is taken to know every row total whatever the table
    shows (a group's declined awards: the figures page counts them as awarded, the list
    of awarded programmes leaves them out); a small one is still shown as "<5", but the
    audit takes it as known, so that no cell of its row can be worked out from it.

    ``hide`` names cells to suppress as "x" from the start (complementary suppression asked
    for by :func:`suppress_linked`, where another table of the same people would give
    them away).
    """
    if min_cell < 2 or (not suppress_zeros and min_cell < 3):
        raise ValueError("min_cell must be >= 2 (>= 3 when zeros are published)")
    rows = tuple(table)
    columns: list[str] = []
    for r in rows:
        for c in table[r]:
            if c not in columns:
                columns.append(c)
    rr = list(rows) + [TOTAL]
    cc = columns + [TOTAL]
    true: dict[tuple[str, str], int] = {}
    for r in rows:
        for c in columns:
            v = int(table[r].get(c, 0))
            if v < 0:
                raise ValueError(f"negative count at ({r}, {c})")
            true[(r, c)] = v
    for r in rows:
        true[(r, TOTAL)] = sum(true[(r, c)] for c in columns)
    for c in columns:
        true[(TOTAL, c)] = sum(true[(r, c)] for r in rows)
    true[(TOTAL, TOTAL)] = sum(true[(r, TOTAL)] for r in rows)

    def small(v: int) -> bool:
        return v < min_cell and (suppress_zeros or v > 0)

    def is_total(k: tuple[str, str]) -> bool:
        return TOTAL in k

    # a table of nobody (a call no one applied to, or a continuous call whose proposals
    # all went to its batches): its zero totals are about no one, nothing to protect
    primary = (
        {k for k, v in true.items() if small(v) and not (known_totals and is_total(k))}
        if rows
        else set()
    )
    known = {(r, TOTAL) for r in rows} if known_rows else set()
    comp: set[tuple[str, str]] = {k for k in hide if k in true and k not in primary}
    lines = [[(r, c) for c in cc] for r in rr] + [[(r, c) for r in rr] for c in cc]

    def suppressed() -> set[tuple[str, str]]:
        return primary | comp

    def pick_in(keys: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
        sup = suppressed()
        cand = [
            k
            for k in keys
            if k not in sup
            and k not in known
            and true[k] >= min_cell
            and not (known_totals and is_total(k))
        ]
        if not cand:
            return None
        # Prefer inner cells to totals, then the smallest value, then table order.
        order = {k: i for i, k in enumerate(keys)}
        return min(cand, key=lambda k: (TOTAL in k, true[k], order[k]))

    # Cheap pass: no line with exactly one suppressed entry.
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(1 for k in line if k in suppressed() and k not in known) == 1:
                extra = pick_in(line)
                if extra is not None:
                    comp.add(extra)
                    changed = True
    # Exact audit.
    while True:
        bad = next(
            iter(
                recoverable_cells(
                    rows, tuple(columns), true, primary, comp, min_cell, suppress_zeros, known
                )
            ),
            None,
        )
        if bad is None:
            break
        r, c = bad
        extra = pick_in([(r, x) for x in cc] + [(x, c) for x in rr])
        if extra is None:
            extra = pick_in(sorted(true, key=lambda k: (TOTAL in k, true[k])))
        if extra is None:
            # Everything that can be hidden is, and a value is still pinned. This
            # happens when zeros are published: the reader then knows every hidden
            # cell is >= 1 (all-ones table: grand total "<5" = four cells >= 1).
            # Hide the zeros too.
            if not suppress_zeros:
                return suppress_small_cells(
                    table,
                    min_cell,
                    suppress_zeros=True,
                    known_totals=known_totals,
                    known_rows=known_rows,
                    hide=hide,
                )
            if known_totals or known_rows:  # all that can be hidden is: the totals pin it
                break
            raise RuntimeError("could not protect the table")  # pragma: no cover
        comp.add(extra)
    values: dict[tuple[str, str], int | None] = {
        k: (None if k in primary or k in comp else v) for k, v in true.items()
    }
    return SuppressedTable(
        rows=rows,
        columns=tuple(columns),
        values=values,
        primary=frozenset(primary),
        complementary=frozenset(comp),
        min_cell=min_cell,
        zeros_suppressed=suppress_zeros,
    )


def recoverable_cells(
    rows: Sequence[str],
    columns: Sequence[str],
    true: Mapping[tuple[str, str], int],
    primary: Iterable[tuple[str, str]],
    complementary: Iterable[tuple[str, str]],
    min_cell: int,
    suppress_zeros: bool = True,
    known: Iterable[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """Suppressed entries whose value a reader could determine exactly (LP audit).

    Uses scipy.optimize.linprog (HiGHS): min and max of each suppressed entry
    over all tables consistent with what is published. ``true`` holds every
    cell and total (keys with ``TOTAL``); ``known`` entries the reader knows however
    they are shown (taken at their value, and not audited).

    The answer depends on these arguments alone, and the public pages (the figures,
    the after-award tables, the report) audit the same tables on every view: the last
    :data:`KEPT_AUDITS` audits are kept in the process (:func:`clear_kept_audits`), so
    the same audit again solves nothing. Each call gets a list of its own.
    """
    return list(
        _kept_audit(
            tuple(rows),
            tuple(columns),
            frozenset(true.items()),
            frozenset(primary),
            frozenset(complementary),
            min_cell,
            suppress_zeros,
            frozenset(known),
        )
    )


#: how many audits :func:`recoverable_cells` keeps (a figures page audits a few tables)
KEPT_AUDITS = 1024


@functools.lru_cache(maxsize=KEPT_AUDITS)
def _kept_audit(
    rows: tuple[str, ...],
    columns: tuple[str, ...],
    true_items: frozenset[tuple[tuple[str, str], int]],
    prim: frozenset[tuple[str, str]],
    comp: frozenset[tuple[str, str]],
    min_cell: int,
    suppress_zeros: bool,
    told: frozenset[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    """:func:`recoverable_cells` on its arguments frozen (``true`` as its items)."""
    from scipy import optimize

    true = dict(true_items)

    rr = list(rows) + [TOTAL]
    cc = list(columns) + [TOTAL]
    keys = [(r, c) for r in rr for c in cc]
    index = {k: i for i, k in enumerate(keys)}
    hidden = [k for k in keys if (k in prim or k in comp) and k not in told]
    if not hidden:
        return ()
    a_eq: list[list[float]] = []
    for r in rr:  # each row adds up to its total (the total row too)
        row = [0.0] * len(keys)
        for c in cc[:-1]:
            row[index[(r, c)]] = 1.0
        row[index[(r, TOTAL)]] = -1.0
        a_eq.append(row)
    for c in cc:  # each column adds up to its total
        row = [0.0] * len(keys)
        for r in rr[:-1]:
            row[index[(r, c)]] = 1.0
        row[index[(TOTAL, c)]] = -1.0
        a_eq.append(row)
    lo_primary = 0 if suppress_zeros else 1
    bounds: list[tuple[float, float | None]] = []
    for k in keys:
        if k in told:
            bounds.append((true[k], true[k]))
        elif k in prim:
            bounds.append((lo_primary, min_cell - 1))
        elif k in comp:
            bounds.append((min_cell, None))
        else:
            bounds.append((true[k], true[k]))
    a = np.asarray(a_eq)
    b = np.zeros(len(a_eq))
    # Cheap prefilter: two vertex solutions for a random objective and its
    # negation (fixed seed, so deterministic); an entry that differs between them
    # is not determined, so only the others need their own min/max programs.
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 1.5, len(keys)) * rng.choice([-1.0, 1.0], len(keys))
    free: set[tuple[str, str]] = set()
    cap = float(2 * max(true.values(), default=0) + 2 * min_cell)
    capped = [(lo_b, cap if hi_b is None else hi_b) for lo_b, hi_b in bounds]
    sols = [
        optimize.linprog(sign * weights, A_eq=a, b_eq=b, bounds=capped, method="highs")
        for sign in (1.0, -1.0)
    ]
    if all(sol.status == 0 for sol in sols):
        free = {k for k in hidden if abs(sols[0].x[index[k]] - sols[1].x[index[k]]) > 0.5}
    out: list[tuple[str, str]] = []
    for k in hidden:
        if k in free:
            continue
        cost = np.zeros(len(keys))
        cost[index[k]] = 1.0
        lo = optimize.linprog(cost, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        hi = optimize.linprog(-cost, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if lo.status == 3 or hi.status == 3:  # unbounded above: cannot be pinned
            continue
        if lo.status != 0 or hi.status != 0:
            raise RuntimeError(f"suppression audit failed at {k}: {lo.message} / {hi.message}")
        if float(-hi.fun) - float(lo.fun) < 0.5:
            out.append(k)
    return tuple(out)


def clear_kept_audits() -> None:
    """Forget the audits :func:`recoverable_cells` kept."""
    _kept_audit.cache_clear()


def suppress_linked(
    atoms: Mapping[tuple[str, ...], Mapping[str, int]],
    groupings: Sequence[str],
    min_cell: int = 5,
    order: Mapping[str, Sequence[str]] | None = None,
    *,
    earlier: Sequence[Release] = (),
    moves: Callable[[str, str], bool] | None = None,
    known_atoms: bool = True,
    hide: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> dict[str, SuppressedTable]:
    """Several tables of the same people, one per grouping (income group, UN region, ...),
    suppressed together so that no hidden cell of one can be worked out from all of them.

    Without ``known_atoms`` (outcomes22: the people trained after a course, by their own
    country, whom no public list names) the reader knows no atom's total and no table's
    totals beyond what they publish: each table is suppressed with every total treated as
    a cell (``suppress_small_cells(known_totals=False)``) and the audit has no atom total.

    ``atoms`` holds the counts (by column) of the people of each combination of groups: its
    key names the group of each grouping of ``groupings``, in that order (("low",
    "Africa")). The reader is taken to know every atom's total (the awarded list names
    each PI's country) and every number the tables publish, with the totals of
    ``suppress_small_cells(known_totals=True)``. Each table is first suppressed alone;
    then integer programs (HiGHS) over the atoms' cells find the least and the greatest
    value of each hidden cell under everything published (a cell suppressed for being
    small lies in [0, min_cell - 1], a complementary one is >= min_cell). While one is
    determined that its own table did not already give away (a table of one row), the
    smallest published cell of the same column in another table is hidden too (any
    other table's smallest published cell when that column has none left), and the
    tables are suppressed again. Tables are returned by grouping, rows in ``order`` (the
    groups it names that are there, then the others alphabetically).

    ``earlier`` holds the page's earlier releases (oldest first), which stand as they were
    published: the new tables are audited together with them (:func:`_release_recoverable`)
    for a reader who kept every release and knows that people move between columns only
    as ``moves(before, after)`` allows (an award once used stays used). While a cell of
    any release is pinned that no release gives away alone, the new release hides the
    same cell (or the smallest published cell of its column, then any), and the tables are
    suppressed again: a count hidden in March and published in June, where the "All" row
    says nothing moved, is not published in June."""
    columns: list[str] = []
    for cells in atoms.values():
        columns.extend(c for c in cells if c not in columns)
    tables: dict[str, dict[str, dict[str, int]]] = {}
    for i, by in enumerate(groupings):
        there = {key[i] for key in atoms}
        first = [g for g in (order or {}).get(by, ()) if g in there]
        rows = first + sorted(there - set(first))
        tables[by] = {
            g: {c: sum(int(v.get(c, 0)) for k, v in atoms.items() if k[i] == g) for c in columns}
            for g in rows
        }
    # ``hide``: cells hidden whatever their count (those an earlier release hid, outcomes22b)
    forced: dict[str, set[tuple[str, str]]] = {
        by: {(g, c) for g, c in (hide or {}).get(by, ()) if g in tables[by] and c in columns}
        for by in groupings
    }
    totals = {k: sum(int(v.get(c, 0)) for c in columns) for k, v in atoms.items()}
    alone: dict[int, set[tuple[int, str, str, str]]] = {}  # earlier releases' own pins
    while True:
        out = {
            by: suppress_small_cells(
                tables[by], min_cell, known_totals=known_atoms, hide=forced[by]
            )
            for by in groupings
        }
        bad = (
            _linked_recoverable(atoms, groupings, columns, out, tables, known_atoms)
            if len(groupings) > 1
            else []
        )
        across = not bad
        if across and earlier and moves is not None:
            bad = _release_recoverable([*earlier, Release(out, totals)], groupings, moves, alone)
        if not bad:
            return out
        by, g, column = bad[0]
        if across and out[by].values.get((g, column)) is not None:
            forced[by].add((g, column))  # the cell that an earlier release subtracts from
            continue
        others = [
            (c != column, tables[b][r][c], b, r, c)
            for b in groupings
            for r in tables[b]
            for c in columns
            if (across or b != by) and out[b].values[(r, c)] is not None
        ]
        if not others:
            return out  # every other cell is hidden: they say nothing more than its own
        _other_column, _v, b, r, c = min(others)
        forced[b].add((r, c))


@dataclass(frozen=True)
class Release:
    """What one release of a public page published: its suppressed tables by grouping
    (:func:`suppress_linked`) and the number of people of each atom (combination of
    groups) then, which the reader knew from the public lists of the day."""

    tables: Mapping[str, SuppressedTable]
    atoms: Mapping[tuple[str, ...], int]
    #: a digest of the true counts it was suppressed from (:func:`truth_digest`): the
    #: same counts later are published as this release again, never suppressed anew
    #: (another pattern of the same counts would give more away)
    truth: str = ""

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-able data, to keep the release (:meth:`from_data` reads it back)."""
        return {
            "truth": self.truth,
            "atoms": [[list(k), n] for k, n in self.atoms.items()],
            "tables": {
                by: {
                    "rows": list(t.rows),
                    "columns": list(t.columns),
                    "values": [[r, c, v] for (r, c), v in t.values.items()],
                    "primary": sorted(list(k) for k in t.primary),
                    "complementary": sorted(list(k) for k in t.complementary),
                    "min_cell": t.min_cell,
                    "zeros_suppressed": t.zeros_suppressed,
                }
                for by, t in self.tables.items()
            },
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Release:
        tables = {
            by: SuppressedTable(
                rows=tuple(t["rows"]),
                columns=tuple(t["columns"]),
                values={(r, c): v for r, c, v in t["values"]},
                primary=frozenset((r, c) for r, c in t["primary"]),
                complementary=frozenset((r, c) for r, c in t["complementary"]),
                min_cell=int(t["min_cell"]),
                zeros_suppressed=bool(t["zeros_suppressed"]),
            )
            for by, t in data["tables"].items()
        }
        atoms = {tuple(k): int(n) for k, n in data["atoms"]}
        return cls(tables, atoms, str(data.get("truth", "")))

    def published(self) -> dict[str, dict[str, str]]:
        """What a reader sees: each table's entries as shown ("<5", "x" or the count);
        two releases that show the same are one release."""
        return {
            by: {f"{r}\x1f{c}": t.display(r, c) for (r, c) in t.values}
            for by, t in self.tables.items()
        }


def suppress_release(
    counts: Mapping[str, Mapping[str, int]],
    by: str,
    min_cell: int = 5,
    *,
    earlier: Sequence[Release] = (),
    moves: Callable[[str, str], bool] | None = None,
) -> Release:
    """One public table (groups x columns) whose row totals the reader knows
    (:func:`suppress_small_cells` with ``known_rows``: a group's declined awards), kept as
    a :class:`Release` under the grouping ``by`` and audited with the page's ``earlier``
    releases (:func:`_release_recoverable`), for a reader who kept them and knows that
    people move between columns only as ``moves(before, after)`` allows (a decline keeps
    its reason). While a cell of any release is pinned that no release gives away alone,
    the new release hides the same cell (or the smallest published cell of its column,
    then any, then a column total), and the table is suppressed again. The same true
    counts as the last release are that release again."""
    truth = truth_digest({(g,): cells for g, cells in counts.items()})
    if earlier and earlier[-1].truth == truth:
        return earlier[-1]  # nothing changed: the page stands as it was published
    atoms: dict[tuple[str, ...], int] = {
        (g,): sum(int(v) for v in cells.values()) for g, cells in counts.items()
    }
    forced: set[tuple[str, str]] = set()
    alone: dict[int, set[tuple[int, str, str, str]]] = {}
    while True:
        table = suppress_small_cells(counts, min_cell, known_rows=True, hide=forced)
        release = Release({by: table}, atoms, truth)
        if not earlier or moves is None:
            return release
        bad = _release_recoverable([*earlier, release], [by], moves, alone)
        if not bad:
            return release
        _by, g, column = bad[0]
        if table.values.get((g, column)) is not None:
            forced.add((g, column))  # the cell that an earlier release subtracts from
            continue
        others = [
            (r == TOTAL, c != column, v, r, c)
            for (r, c), v in table.values.items()
            if v is not None and c != TOTAL and (r, c) not in forced
        ]
        if not others:
            return release  # every cell is hidden: it says nothing more than its totals
        *_rest, r, c = min(others)
        forced.add((r, c))


def truth_digest(atoms: Mapping[tuple[str, ...], Mapping[str, int]]) -> str:
    """A digest of the true counts of a release (atom x column), to know them again."""
    import hashlib
    import json

    cells = sorted(
        [list(k), sorted((c, int(v)) for c, v in cs.items() if v)] for k, cs in atoms.items()
    )
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def _release_recoverable(
    releases: Sequence[Release],
    groupings: Sequence[str],
    moves: Callable[[str, str], bool],
    alone: dict[int, set[tuple[int, str, str, str]]],
) -> list[tuple[str, str, str]]:
    """Hidden inner cells of the releases (the last one is the new one) that everything
    they published pins, for a reader who kept every release and knows that people only
    move between columns as ``moves(before, after)`` allows (an award used stays used),
    leaving out what a release gives away alone. Returned as cells of the new release
    to hide ((grouping, row, column): the same cell where a pin is an earlier release's).
    ``alone`` keeps the earlier releases' own pins between calls (they do not change)."""
    pins = _pinned_over(releases, groupings, moves)
    last = len(releases) - 1
    own: set[tuple[int, str, str, str]] = set()
    for n in {p[0] for p in pins}:
        if n not in alone or n == last:
            found = {(n, *p[1:]) for p in _pinned_over([releases[n]], groupings, moves)}
            if n == last:
                own |= found
                continue
            alone[n] = found
        own |= alone[n]
    return [p[1:] for p in sorted(pins, key=lambda p: -p[0]) if p not in own]


_Row = tuple[dict[int, float], float]
_Atom = tuple[str, ...]
_Cell = tuple[int, str, str, str]


def _columns_and_atoms(
    releases: Sequence[Release], groupings: Sequence[str]
) -> tuple[list[str], list[_Atom]]:
    """The columns of every release's tables and the atoms they are counted over, in
    the order first met. A release kept before a grouping was added to the page (the LDC
    table, outcomes16) holds shorter atoms (income group, region): its people are counted
    over the finer atoms that extend them, its numbers tied to the sums (what it
    published and the reader knew then), and the grouping it lacks has no table in it."""
    columns: list[str] = []
    for rel in releases:
        for tab in rel.tables.values():
            columns.extend(c for c in tab.columns if c not in columns)
    width = max((len(k) for rel in releases for k in rel.atoms), default=len(groupings))
    atom_keys: list[_Atom] = []
    for rel in releases:
        atom_keys.extend(k for k in rel.atoms if len(k) == width and k not in atom_keys)
    for rel in releases:
        for key in rel.atoms:
            if not any(a[: len(key)] == key for a in atom_keys):  # nobody of it is left
                atom_keys.append(key + ("",) * (width - len(key)))
    return columns, atom_keys


class _PinProgram:
    """The integer program of :func:`_pinned_over`: numbered unknowns (people of an atom
    in a column per release ``x``, moving between columns ``f``, leaving ``gone`` or
    joining ``new``) and its equality and upper-bound rows."""

    def __init__(
        self,
        releases: Sequence[Release],
        columns: list[str],
        atom_keys: list[_Atom],
        moves: Callable[[str, str], bool],
    ) -> None:
        self.releases, self.columns, self.atom_keys = releases, columns, atom_keys
        self.width = len(atom_keys[0]) if atom_keys else 0
        self.index: dict[tuple[Any, ...], int] = {}
        self.eq: list[_Row] = []
        self.ub: list[_Row] = []
        for n in range(len(releases)):
            for a in atom_keys:
                for c in columns:
                    self.var("x", n, a, c)
        pairs = [(s, u) for s in columns for u in columns if moves(s, u)]
        for n in range(1, len(releases)):
            for a in atom_keys:
                for s, u in pairs:
                    self.var("f", n, a, s, u)
                for c in columns:
                    self.var("gone", n, a, c)
                    self.var("new", n, a, c)

    def var(self, *key: Any) -> int:
        return self.index.setdefault(key, len(self.index))

    def depth(self, rel: Release) -> int:
        return min((len(k) for k in rel.atoms), default=self.width)

    def within(self, length: int) -> dict[_Atom, list[_Atom]]:
        out: dict[_Atom, list[_Atom]] = {}
        for a in self.atom_keys:
            out.setdefault(a[:length], []).append(a)
        return out

    def known_numbers(self) -> None:
        """Each release's people per atom (at its own depth), none in a column it lacked."""
        index, columns = self.index, self.columns
        for n, rel in enumerate(self.releases):
            length = self.depth(rel)
            for key, fine in self.within(length).items():
                self.eq.append(
                    (
                        {index[("x", n, a, c)]: 1.0 for a in fine for c in columns},
                        float(sum(v for b, v in rel.atoms.items() if b[:length] == key)),
                    )
                )
            there = {c for tab in rel.tables.values() for c in tab.columns}
            for c in columns:
                if c not in there:  # nobody was in it then
                    self.eq.append(({index[("x", n, a, c)]: 1.0 for a in self.atom_keys}, 0.0))

    def movements(self, moves: Callable[[str, str], bool]) -> None:
        """Between consecutive releases, people move as ``moves`` allows, leave or join."""
        index, columns, releases = self.index, self.columns, self.releases
        for n in range(1, len(releases)):
            before, after = releases[n - 1].atoms, releases[n].atoms
            for a in self.atom_keys:
                for s in columns:
                    row = {index[("f", n, a, s, t)]: 1.0 for t in columns if moves(s, t)}
                    row[index[("gone", n, a, s)]] = 1.0
                    row[index[("x", n - 1, a, s)]] = -1.0
                    self.eq.append((row, 0.0))
                for t in columns:
                    row = {index[("f", n, a, s, t)]: 1.0 for s in columns if moves(s, t)}
                    row[index[("new", n, a, t)]] = 1.0
                    row[index[("x", n, a, t)]] = -1.0
                    self.eq.append((row, 0.0))
            length = min(self.depth(releases[n - 1]), self.depth(releases[n]))
            for key, fine in self.within(length).items():
                gone = {index[("gone", n, a, c)]: 1.0 for a in fine for c in columns}
                new = {index[("new", n, a, c)]: 1.0 for a in fine for c in columns}
                # (an award keeps its country: nobody moves between the finer atoms)
                change = sum(v for b, v in before.items() if b[:length] == key) - sum(
                    v for b, v in after.items() if b[:length] == key
                )
                self.eq.append((gone, float(max(change, 0))))
                self.eq.append((new, float(max(-change, 0))))

    def published(self, groupings: Sequence[str]) -> list[tuple[_Cell, dict[int, float]]]:
        """Each published cell's row (a number, or the bounds of a hidden one); the hidden
        inner cells returned with their sums."""
        hidden: list[tuple[_Cell, dict[int, float]]] = []
        for n, rel in enumerate(self.releases):
            for i, by in enumerate(groupings):
                table = rel.tables.get(by)
                if table is None:  # kept before the page had this grouping
                    continue
                for (row_name, column), value in table.values.items():
                    v = {
                        self.index[("x", n, a, c)]: 1.0
                        for a in self.atom_keys
                        if row_name == TOTAL or a[i] == row_name
                        for c in (table.columns if column == TOTAL else [column])
                    }
                    self._bound(table, (row_name, column), value, v)
                    if value is None and TOTAL not in (row_name, column):
                        hidden.append(((n, by, row_name, column), v))
        return hidden

    def _bound(
        self,
        table: SuppressedTable,
        cell: tuple[str, str],
        value: int | None,
        v: dict[int, float],
    ) -> None:
        if value is not None:
            self.eq.append((v, float(value)))
        elif cell in table.primary:
            self.ub.append((v, table.min_cell - 1.0))
            low = 0 if table.zeros_suppressed else 1
            self.ub.append(({k: -x for k, x in v.items()}, -float(low)))
        else:
            self.ub.append(({k: -x for k, x in v.items()}, -float(table.min_cell)))

    def arrays(self) -> dict[str, Any]:
        """``linprog``'s ``A_eq``, ``b_eq``, ``A_ub``, ``b_ub``."""
        from scipy import sparse

        size = len(self.index)

        def matrix(rows: list[_Row]) -> Any:
            m = sparse.lil_array((len(rows), size))
            for r, (coef, _b) in enumerate(rows):
                for k, x in coef.items():
                    m[r, k] = x
            return m.tocsr()

        ub = self.ub
        return {
            "A_eq": matrix(self.eq),
            "b_eq": np.asarray([b for _c, b in self.eq]),
            "A_ub": matrix(ub) if ub else None,
            "b_ub": np.asarray([b for _c, b in ub]) if ub else None,
        }


def _pinned_over(
    releases: Sequence[Release], groupings: Sequence[str], moves: Callable[[str, str], bool]
) -> list[_Cell]:
    """(release, grouping, row, column) of each hidden inner cell that the releases pin
    together: integer programs (HiGHS) over each release's atoms x columns and the moves
    between consecutive releases (people of an atom may also leave it, as a declined award
    leaves the list, or join it, by the change in its known number)."""
    columns, atom_keys = _columns_and_atoms(releases, groupings)
    program = _PinProgram(releases, columns, atom_keys, moves)
    program.known_numbers()
    program.movements(moves)
    hidden = program.published(groupings)
    if not hidden:
        return []
    size = len(program.index)
    sums = []
    for _key, coef in hidden:
        vec = np.zeros(size)
        for k, x in coef.items():
            vec[k] = x
        sums.append(vec)
    found = _pinned_sums(program.arrays(), size, sums)
    # None: people moved as the reader's rule says they cannot (a record taken back);
    # the releases are then tied together by the known numbers alone
    return [] if found is None else [hidden[i][0] for i in found]


def _pinned_sums(
    arrays: Mapping[str, Any], size: int, sums: Sequence[np.ndarray]
) -> list[int] | None:
    """The indices of ``sums`` (vectors over ``size`` integer unknowns >= 0) that take one
    value only under ``arrays`` (``linprog``'s ``A_eq``, ``b_eq``, ``A_ub``, ``b_ub``):
    integer programs (HiGHS) for the least and the greatest of each. None when no
    integer point fits at all."""
    from scipy import optimize

    ones = np.ones(size)

    def solve(cost: np.ndarray) -> Any:
        return optimize.linprog(cost, integrality=ones, bounds=(0, None), method="highs", **arrays)

    # Cheap prefilter: two integer solutions for a random objective and its negation
    # (fixed seed); a sum that differs between them is not determined.
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 1.5, size) * rng.choice([-1.0, 1.0], size)
    first, second = solve(weights), solve(-weights)
    # unbounded (status 3): a table whose totals the reader does not know (outcomes22);
    # where the atoms' totals are known every unknown is bounded and this never happens
    unbounded = 3 in (first.status, second.status)
    if not unbounded and (first.status != 0 or second.status != 0):
        return None
    out: list[int] = []
    for i, v in enumerate(sums):
        if not unbounded and abs(float(v @ first.x) - float(v @ second.x)) > 0.5:
            continue
        lo, hi = solve(v), solve(-v)
        if 3 in (lo.status, hi.status):
            continue  # no greatest (or least) value: not determined
        if lo.status != 0 or hi.status != 0:
            raise RuntimeError(f"suppression audit failed at sum {i}: {lo.message} / {hi.message}")
        if round(-hi.fun) - round(lo.fun) < 1:
            out.append(i)
    return out


def _linked_recoverable(
    atoms: Mapping[tuple[str, ...], Mapping[str, int]],
    groupings: Sequence[str],
    columns: Sequence[str],
    out: Mapping[str, SuppressedTable],
    tables: Mapping[str, Mapping[str, Mapping[str, int]]],
    known_atoms: bool = True,
) -> list[tuple[str, str, str]]:
    """Hidden inner cells (grouping, row, column) of ``out`` that everything published
    determines, leaving out those that their own table determines alone (the atoms'
    totals known to the reader unless ``known_atoms`` is False)."""

    keys = list(atoms)
    index = {(k, c): i for i, (k, c) in enumerate((k, c) for k in keys for c in columns)}
    n = len(index)

    def cell(i: int, row: str, column: str) -> np.ndarray:
        v = np.zeros(n)
        for k in keys:
            if row == TOTAL or k[i] == row:
                for c in columns if column == TOTAL else [column]:
                    v[index[(k, c)]] = 1.0
        return v

    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []
    a_ub: list[np.ndarray] = []
    b_ub: list[float] = []
    for k in keys if known_atoms else ():  # each atom's total is known
        v = np.zeros(n)
        for c in columns:
            v[index[(k, c)]] = 1.0
        a_eq.append(v)
        b_eq.append(float(sum(int(atoms[k].get(c, 0)) for c in columns)))
    hidden: list[tuple[str, str, str, np.ndarray]] = []
    for i, by in enumerate(groupings):
        table = out[by]
        low = 0 if table.zeros_suppressed else 1
        for (row, column), value in table.values.items():
            v = cell(i, row, column)
            if value is not None:
                a_eq.append(v)
                b_eq.append(float(value))
            elif (row, column) in table.primary:
                a_ub += [v, -v]
                b_ub += [table.min_cell - 1.0, -float(low)]
            else:
                a_ub.append(-v)
                b_ub.append(-float(table.min_cell))
            if value is None and TOTAL not in (row, column):
                hidden.append((by, row, column, v))
    arrays = {
        "A_eq": np.asarray(a_eq),
        "b_eq": np.asarray(b_eq),
        "A_ub": np.asarray(a_ub) if a_ub else None,
        "b_ub": np.asarray(b_ub) if b_ub else None,
    }

    found = _pinned_sums(arrays, n, [v for *_cell, v in hidden])
    if found is None:
        raise RuntimeError("linked suppression audit failed: no table fits what is published")
    pinned = [(hidden[i][0], hidden[i][1], hidden[i][2]) for i in found]
    own: set[tuple[str, str, str]] = set()  # what its own table gives away (one row)
    for by in dict.fromkeys(p[0] for p in pinned):
        t = out[by]
        true: dict[tuple[str, str], int] = {}
        for r in t.rows:
            for c in t.columns:
                true[(r, c)] = int(tables[by][r].get(c, 0))
            true[(r, TOTAL)] = sum(true[(r, c)] for c in t.columns)
        for c in t.columns:
            true[(TOTAL, c)] = sum(true[(r, c)] for r in t.rows)
        true[(TOTAL, TOTAL)] = sum(true[(r, TOTAL)] for r in t.rows)
        for r, c in recoverable_cells(
            t.rows, t.columns, true, t.primary, t.complementary, t.min_cell, t.zeros_suppressed
        ):
            own.add((by, r, c))
    return [p for p in pinned if p not in own]


# --------------------------------------------------------------------------- suppressed funnel


def funnel_outcome_table(
    records: Sequence[ApplicantRecord],
    by: GroupBy,
    stages: Sequence[FunnelStage] | None = None,
) -> dict[str, dict[str, int]]:
    """Applications per group by the last stage of the main chain reached.

    Columns are disjoint (a record counts once, under the furthest chain stage
    it reached), so rows add up to the applications. Funnel stage counts are
    nested and not additive: suppress this disjoint table and derive the stage
    counts from it (``suppressed_funnel_counts``).
    """
    main = chain(stages)
    keys = [st.key for st in main]
    out: dict[str, dict[str, int]] = {}
    for group, members in _group_records(records, by).items():
        row = dict.fromkeys(keys, 0)
        for r in members:
            last = None
            for st in main:
                if not st.reached(r):
                    break
                last = st.key
            if last is not None:
                row[last] += 1
        out[group] = row
    return out


def suppressed_funnel_counts(
    records: Sequence[ApplicantRecord],
    by: GroupBy,
    min_cell: int = 5,
    *,
    suppress_zeros: bool = True,
    stages: Sequence[FunnelStage] | None = None,
) -> dict[str, dict[Stage, int | None]]:
    """Stage counts per group for public pages (``None`` = suppressed).

    Derived from the suppressed disjoint table (``funnel_outcome_table``): a
    stage count is published only when every disjoint cell it sums is published
    (or it is the row total), so it reveals nothing the suppressed table does not.

    So that suppression never hides a whole table:

    1. columns that are zero in every group are dropped before suppressing (a
       stage nobody stopped at, e.g. nobody ineligible: publishing those zeros
       reveals nothing about anyone, while suppressing them as small cells
       forced complementary suppression of everything else);
    2. while every stage count past the first is hidden, the disjoint column
       with the smallest total is merged into its neighbour (coarser stages,
       fewer small cells) and the table suppressed again;
    3. side stages (e.g. "ranked in the funded range", not on the main chain)
       are published for a group only when its base count is published and both
       the count and its complement at the base are at least ``min_cell``.
    """
    defs = funnel_stages(stages)
    main = [st for st in defs if not st.side]
    table = funnel_outcome_table(records, by, defs)
    groups = list(table)
    keys = [st.key for st in main]
    nonzero = [k for k in keys if any(table[g][k] for g in groups)]
    # columns: runs of chain keys, each column named by its first key
    columns: list[list[str]] = [[k] for k in nonzero] or [[keys[0]]]

    def derive(cols: list[list[str]]) -> dict[str, dict[Stage, int | None]]:
        merged = {g: {col[0]: sum(table[g][k] for k in col) for col in cols} for g in groups}
        sup = suppress_small_cells(merged, min_cell, suppress_zeros=suppress_zeros)
        starts = [col[0] for col in cols]
        out: dict[str, dict[Stage, int | None]] = {}
        span = [(keys.index(col[0]), keys.index(col[-1])) for col in cols]
        for g in groups:
            row: dict[Stage, int | None] = {keys[0]: sup.values[(g, TOTAL)]}
            for i, k in enumerate(keys[1:], start=1):
                if any(lo < i <= hi for lo, hi in span):  # a merged column straddles it
                    row[k] = None
                    continue
                vals = [
                    sup.values[(g, c)] for c, (lo, _hi) in zip(starts, span, strict=True) if lo >= i
                ]
                row[k] = None if any(v is None for v in vals) else sum(v or 0 for v in vals)
            out[g] = row
        return out

    result = derive(columns)
    while len(columns) > 1 and all(
        v is None for row in result.values() for k, v in row.items() if k != keys[0]
    ):
        sizes = [sum(table[g][k] for g in groups for k in col) for col in columns]
        i = min(range(len(columns)), key=lambda j: (sizes[j], j))
        j = i - 1 if i > 0 else i + 1
        lo, hi = min(i, j), max(i, j)
        columns[lo : hi + 1] = [columns[lo] + columns[hi]]
        result = derive(columns)
    for st in defs:
        if not st.side:
            continue
        assert st.base is not None
        for g in groups:
            members = [r for r in records if group_of(r, by) == g]
            at_base = [r for r in members if stage_reached(r, st.base, defs)]
            k = sum(1 for r in at_base if st.reached(r))
            base_shown = result[g].get(st.base)
            ok = base_shown is not None and k >= min_cell and len(at_base) - k >= min_cell
            result[g][st.key] = k if ok else None
    return {g: {d.key: row[d.key] for d in defs if d.key in row} for g, row in result.items()}


def declines_by_group(
    records: Sequence[ApplicantRecord],
    declined: Mapping[str, str],
    by: GroupBy,
    reasons: Sequence[str],
) -> list[dict[str, object]]:
    """Awards declined by their applicants, by group of ``by`` and reason category: one
    row per group that was awarded (every group, however small: the user office's
    report), "all" first, each ``{"group", "awarded", "declined", "reasons": {reason:
    count}}``. ``declined`` maps a proposal id to its reason; ``awarded`` counts the
    decisions to award, declined ones included (the decision stood; the applicant
    declined it)."""
    awarded = [r for r in records if r.awarded or r.proposal_id in declined]
    groups = _group_order(by, (group_of(r, by) for r in awarded))

    def row(name: str, members: list[ApplicantRecord]) -> dict[str, object]:
        mine = [declined[r.proposal_id] for r in members if r.proposal_id in declined]
        return {
            "group": name,
            "awarded": len(members),
            "declined": len(mine),
            "reasons": {k: mine.count(k) for k in reasons},
        }

    return [row("all", awarded)] + [
        row(g, [r for r in awarded if group_of(r, by) == g]) for g in groups
    ]
