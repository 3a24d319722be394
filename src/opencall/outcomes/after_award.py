"""Who benefits after the award: pure statistics of the funnel continued past
scheduling (used, completed, produced results), the time from award to first
result, and cycle-over-cycle trends.

Plain values in, plain dataclasses out; no database. ``after_award_data``
loads the rows. Intervals: Wilson 95 % for shares (``domain.wilson_interval``,
the funnel's); the time to first result is a Kaplan-Meier estimate (awards
without a result yet are censored at their follow-up time, so a young cycle is
not mistaken for a barren one), its median with a seeded bootstrap 95 % interval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opencall.outcomes.domain import (
    TOTAL,
    Release,
    share,
    suppress_linked,
    truth_digest,
    wilson_interval,
)

#: The stages after "awarded", in order; each needs the one before it.
AFTER_STAGES: tuple[str, ...] = ("used", "completed", "produced_results")


@dataclass(frozen=True)
class AfterAwardRow:
    """One awarded proposal: its group labels, the stages reached after the award,
    days to its first result (None: none yet) and days followed since the award."""

    proposal_id: str
    groups: Mapping[str, str]
    used: bool = False
    completed: bool = False
    produced_results: bool = False
    days_to_first_result: int | None = None
    follow_up_days: int = 0
    #: a course's follow-up (``results.domain.follow_up_figures``): people trained,
    #: demonstration sites, area in ha, reports and yield ratios; empty: none reported
    follow_up: Mapping[str, Any] = field(default_factory=dict)
    #: its course participants' follow-up waves (``results.domain.wave_response``):
    #: {months: (participants due by the report's day, of them answered)}
    follow_up_waves: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    #: its results by kind (publication, dataset, software, patent): how many of each
    outputs: Mapping[str, int] = field(default_factory=dict)
    #: the DOIs of those with one, by kind (normalised: one spelling per paper; one entry
    #: per result; a patent's publication number), so that a paper of several awards
    #: counts once where they are added up
    result_dois: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: what it was given and used (``results.domain.use_figures``): flat figures that add
    #: up over awards (``awarded:h``, ``used:h``, ``lost_hours:weather``, ``loans``, ...)
    use: Mapping[str, float] = field(default_factory=dict)
    #: its demonstration sites' yields (``results.domain.site_yields``): (unit, yield,
    #: local check) each (outcomes22)
    site_yields: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class StageRow:
    """A group at one stage after the award: ``count`` of ``awarded`` reached it
    (``rate`` with its Wilson interval), and ``stage_rate`` of those at the
    previous stage."""

    group: str
    stage: str
    awarded: int
    count: int
    rate: float | None
    rate_low: float
    rate_high: float
    previous: int
    stage_rate: float | None


def reached(row: AfterAwardRow, stage: str) -> bool:
    """Stage and every stage before it (used < completed; results need use)."""
    if stage not in AFTER_STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(AFTER_STAGES)}")
    if stage == "produced_results":
        return row.produced_results
    if stage == "completed":
        return row.used and row.completed
    return row.used


def _in_order(groups: Iterable[str], order: Sequence[str] | None) -> list[str]:
    """The ``groups`` there are, those of ``order`` first (in its order), then the rest
    alphabetically."""
    there = set(groups)
    first = list(order or [])
    return [g for g in first if g in there] + sorted(g for g in there if g not in first)


groups_in_order = _in_order


def _grouped(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None
) -> dict[str, list[AfterAwardRow]]:
    groups: dict[str, list[AfterAwardRow]] = {}
    for r in rows:
        groups.setdefault(r.groups.get(by, "unknown"), []).append(r)
    out = {g: groups[g] for g in _in_order(groups, order)}
    out["all"] = list(rows)
    return out


def after_award_funnel(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None = None
) -> list[StageRow]:
    """Per group (and "all") and stage after the award: counts and shares of the awarded."""
    out = []
    for g, members in _grouped(rows, by, order).items():
        n = len(members)
        previous = n
        for stage in AFTER_STAGES:
            k = sum(1 for r in members if reached(r, stage))
            rate, lo, hi = share(k, n)
            # of those at the previous stage, how many reached this one (results: of the
            # awards used, those with results; an award may have results without a
            # recorded use, which is in ``count`` but not in this share)
            on = sum(1 for r in members if reached(r, stage) and reached(r, "used"))
            out.append(
                StageRow(
                    group=g,
                    stage=stage,
                    awarded=n,
                    count=k,
                    rate=rate,
                    rate_low=lo,
                    rate_high=hi,
                    previous=previous,
                    stage_rate=(on if stage != "used" else k) / previous if previous else None,
                )
            )
            if stage != "completed":  # results are counted over the awarded who used
                previous = k
            else:
                previous = sum(1 for r in members if reached(r, "used"))
    return out


#: The disjoint states of an award after it (used, completed, produced results), and
#: the stages each one counts in: the stage counts are sums of these.
STATES: dict[tuple[bool, bool, bool], str] = {
    (False, False, False): "none",
    (False, False, True): "results",
    (True, False, False): "used",
    (True, False, True): "used_results",
    (True, True, False): "completed",
    (True, True, True): "completed_results",
}


def _state(row: AfterAwardRow) -> str:
    used, completed = reached(row, "used"), reached(row, "completed")
    return STATES[(used, completed, reached(row, "produced_results"))]


def _in_stage(state: str, stage: str) -> bool:
    key = next(k for k, v in STATES.items() if v == state)
    return key[AFTER_STAGES.index(stage)]


def public_funnel(
    rows: Sequence[AfterAwardRow],
    by: str,
    order: Sequence[str] | None = None,
    min_cell: int = 5,
) -> list[dict[str, Any]]:
    """:func:`public_funnels` of one grouping shown alone."""
    return public_funnels(rows, (by,), {by: order or ()}, min_cell)[by]


def forward(before: str, after: str) -> bool:
    """Whether an award in state ``before`` may be in state ``after`` at a later release:
    an award only moves on (used stays used, completed stays completed, a result stays),
    which a reader who kept an earlier page knows."""
    flags = {v: k for k, v in STATES.items()}
    return all(a <= b for a, b in zip(flags[before], flags[after], strict=True))


def public_release(
    rows: Sequence[AfterAwardRow],
    bys: Sequence[str],
    order: Mapping[str, Sequence[str]] | None = None,
    min_cell: int = 5,
    earlier: Sequence[Release] = (),
) -> Release:
    """The suppressed disjoint tables (groups x states, :data:`STATES`, states nobody is
    in left out) of one release of the public page, audited with the ``earlier`` releases
    of the same page (:func:`domain.suppress_linked`, awards moving only :func:`forward`).
    :func:`funnel_rows` turns it into the page's stage counts."""
    states = [s for s in STATES.values() if any(_state(r) == s for r in rows)]
    atoms: dict[tuple[str, ...], dict[str, int]] = {}
    for r in rows:
        key = tuple(r.groups.get(by, "unknown") for by in bys)
        cells = atoms.setdefault(key, dict.fromkeys(states, 0))
        cells[_state(r)] += 1
    truth = truth_digest(atoms)
    if earlier and earlier[-1].truth == truth:
        return earlier[-1]  # nothing changed: the page stands as it was published
    sups = (
        suppress_linked(atoms, bys, min_cell, order, earlier=earlier, moves=forward)
        if states
        else {}
    )
    return Release(sups, {k: sum(v.values()) for k, v in atoms.items()}, truth)


def funnel_rows(
    rows: Sequence[AfterAwardRow],
    bys: Sequence[str],
    release: Release,
    order: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """:func:`after_award_funnel` by each grouping, as plain rows, with the counts that
    ``release`` hides set to None (``hidden``): a stage count is published only when every
    state it sums is."""
    order = order or {}
    out: dict[str, list[dict[str, Any]]] = {}
    for by in bys:
        sup = release.tables.get(by)
        out[by] = []
        for full in after_award_funnel(rows, by, order.get(by)):
            line = TOTAL if full.group == "all" else full.group
            vals = (
                [sup.values[(line, s)] for s in sup.columns if _in_stage(s, full.stage)]
                if sup
                else []
            )
            hidden = any(v is None for v in vals)
            row = dataclasses.asdict(full)
            row.update(stage_rate=None, hidden=hidden)
            if hidden:
                row.update(count=None, rate=None, rate_low=None, rate_high=None)
            out[by].append(row)
    return out


def public_funnels(
    rows: Sequence[AfterAwardRow],
    bys: Sequence[str],
    order: Mapping[str, Sequence[str]] | None = None,
    min_cell: int = 5,
    earlier: Sequence[Release] = (),
) -> dict[str, list[dict[str, Any]]]:
    """:func:`after_award_funnel` by each grouping of ``bys``, safe to publish side by
    side, as plain rows: ``count`` (with its share and interval) is None where ``hidden``.

    The awards of each group are public (the list of awarded programmes names each PI's
    country), so a small group is a group of named people. The tables suppressed are the
    disjoint ones, groups x states (:data:`STATES`, states nobody is in left out), with
    their totals known to the reader: cells under ``min_cell`` are hidden, and enough
    others that none can be worked out from the rest, the "All" row, the other
    groupings' tables (``domain.suppress_linked``: a region that is all of one income
    group would otherwise repeat that group's published count), or the page's
    ``earlier`` releases (:func:`public_release`). A stage count is published only when
    every state it sums is; the page decides whether to show a share."""
    return funnel_rows(rows, bys, public_release(rows, bys, order, min_cell, earlier), order)


@dataclass(frozen=True)
class FollowUpRow:
    """A group's course follow-up: of ``awarded`` awards, ``reporting`` reported; the
    people they trained, demonstration sites set up and area (ha) summed, and the
    median of the yield ratios against the local baseline (None: none reported)."""

    group: str
    awarded: int
    reporting: int
    people_trained: float
    demo_sites: float
    area_ha: float
    yields: int
    median_yield_ratio: float | None
    #: participants with a follow-up report, and women among the people they trained
    participants: int = 0
    people_trained_women: float = 0.0
    #: the people trained in the reports that counted the women among them (outcomes21:
    #: "of them, women" is a share of these; a report may leave women uncounted)
    people_trained_gender_counted: float = 0.0
    #: demonstration sites still running a year and three years after the award, and
    #: the participants reporting then (``results.domain.SITES_RUNNING_AFTER_YEARS``)
    sites_running_1y: float = 0.0
    reporting_1y: int = 0
    sites_running_3y: float = 0.0
    reporting_3y: int = 0


@dataclass(frozen=True)
class UseRow:
    """A group's use of its awards: of ``awarded`` awards, the figures of
    ``results.domain.use_figures`` summed (awarded and used by unit, hours lost by
    reason, loans returned on time, late, overdue and consumed, samples taken, course
    participants by gender), and the results per award (``publications_per_award``)."""

    group: str
    awarded: int
    figures: Mapping[str, float]
    publications: int
    publications_per_award: float | None


def use_by_group(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None = None
) -> list[UseRow]:
    """Per group (and "all"): the awards' use figures summed, key by key; the
    publications counted once however many awards list one (:func:`distinct_results`)
    and per award fractionally (:func:`result_credits`: a paper of two awards is half a
    paper of each, outcomes20; before, each award's list was summed, a shared paper
    counted once an award)."""
    out = []
    keys = sorted({k for r in rows for k in r.use})
    credit = dict(
        zip((r.proposal_id for r in rows), result_credits(rows, ("publication",)), strict=True)
    )
    for g, members in _grouped(rows, by, order).items():
        pubs = sum(credit[r.proposal_id] for r in members)
        out.append(
            UseRow(
                group=g,
                awarded=len(members),
                figures={k: float(sum(r.use.get(k, 0.0) for r in members)) for k in keys},
                publications=distinct_results(members, "publication"),
                publications_per_award=pubs / len(members) if members else None,
            )
        )
    return out


@dataclass(frozen=True)
class ResultsRow:
    """A group's results by kind: of ``awarded`` awards, ``with_results`` have at least
    one; how many publications, datasets, software (a supercomputer's codes) and patents
    they produced."""

    group: str
    awarded: int
    with_results: int
    publications: int
    datasets: int
    software: int
    patents: int = 0


def results_by_kind(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None = None
) -> list[ResultsRow]:
    """Per group (and "all"): the awards' results counted by kind."""
    out = []
    for g, members in _grouped(rows, by, order).items():
        out.append(
            ResultsRow(
                group=g,
                awarded=len(members),
                with_results=sum(1 for r in members if any(r.outputs.values())),
                publications=distinct_results(members, "publication"),
                datasets=distinct_results(members, "dataset"),
                software=distinct_results(members, "software"),
                patents=distinct_results(members, "patent"),
            )
        )
    return out


@dataclass(frozen=True)
class AccessRow:
    """A group's awards by first and repeat access: of ``awarded`` awards, ``first_time``
    went to a PI with no award in an earlier cycle of the facility (``first_time_rate``
    with its Wilson interval), ``repeat`` to one with; ``institution_first_time`` to a PI
    whose institution had none, of the ``institution_known`` awards whose PI's
    institution is recorded."""

    group: str
    awarded: int
    first_time: int
    repeat: int
    first_time_rate: float | None
    first_time_low: float
    first_time_high: float
    institution_first_time: int
    institution_known: int


def access_by_group(
    rows: Sequence[AfterAwardRow],
    first: Mapping[str, tuple[bool, bool | None]],
    by: str,
    order: Sequence[str] | None = None,
) -> list[AccessRow]:
    """Per group (and "all"): first-time and repeat access. ``first`` maps an award's
    ``proposal_id`` to (its PI's first award at the facility, its PI's institution's first
    award there, None where no institution is recorded); an award it does not name counts
    as a first (nothing earlier is known of it)."""
    out = []
    for g, members in _grouped(rows, by, order).items():
        of = [first.get(r.proposal_id, (True, None)) for r in members]
        k = sum(1 for pi, _inst in of if pi)
        rate, lo, hi = share(k, len(members))
        out.append(
            AccessRow(
                group=g,
                awarded=len(members),
                first_time=k,
                repeat=len(members) - k,
                first_time_rate=rate,
                first_time_low=lo,
                first_time_high=hi,
                institution_first_time=sum(1 for _pi, inst in of if inst),
                institution_known=sum(1 for _pi, inst in of if inst is not None),
            )
        )
    return out


#: the disjoint columns of the public first-and-repeat-access table
ACCESS_STATES = ("first_time", "repeat")


def public_access(
    rows: Sequence[AfterAwardRow],
    first: Mapping[str, tuple[bool, bool | None]],
    bys: Sequence[str],
    order: Mapping[str, Sequence[str]] | None = None,
    min_cell: int = 5,
) -> dict[str, list[dict[str, Any]]]:
    """:func:`access_by_group` by each grouping of ``bys``, safe to publish side by side
    as :func:`public_funnels` is: the disjoint tables groups x (first time, repeat), whose
    totals (the awards of each group) the reader knows, suppressed together
    (``domain.suppress_linked``): a count under ``min_cell`` is hidden, and enough others
    that none can be worked out from the rest, the "All" row or the other grouping's
    table. A hidden count is None (``first_time`` and ``repeat``, and then the share);
    the institutions' counts are the office report's alone."""
    order = order or {}

    def state(r: AfterAwardRow) -> str:
        return "first_time" if first.get(r.proposal_id, (True, None))[0] else "repeat"

    # a column nobody is in is left out, as the funnel's are: its zeros are known
    states = [s for s in ACCESS_STATES if any(state(r) == s for r in rows)]
    atoms: dict[tuple[str, ...], dict[str, int]] = {}
    for r in rows:
        key = tuple(r.groups.get(by, "unknown") for by in bys)
        atoms.setdefault(key, dict.fromkeys(states, 0))[state(r)] += 1
    sups = suppress_linked(atoms, bys, min_cell, order) if atoms else {}
    out: dict[str, list[dict[str, Any]]] = {}
    for by in bys:
        sup = sups.get(by)
        out[by] = []
        for full in access_by_group(rows, first, by, order.get(by)):
            line = TOTAL if full.group == "all" else full.group
            ft, rp = (sup.values[(line, s)] if sup and s in states else 0 for s in ACCESS_STATES)
            hidden = ft is None or rp is None
            out[by].append(
                {
                    "group": full.group,
                    "awarded": full.awarded,
                    "first_time": ft,
                    "repeat": rp,
                    "first_time_low": None if hidden else full.first_time_low,
                    "first_time_high": None if hidden else full.first_time_high,
                }
            )
    return out


@dataclass(frozen=True)
class FollowUpResponseRow:
    """A group's answers to one follow-up wave (``months`` after the course): of its
    awards' participants ``due`` to report by the report's day, ``answered``; ``rate``
    with its Wilson 95 % interval."""

    group: str
    months: int
    due: int
    answered: int
    rate: float | None
    rate_low: float
    rate_high: float


def follow_up_response(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None = None
) -> list[FollowUpResponseRow]:
    """Per group (and "all") and wave: the course participants due to report and how
    many answered (a group with none due at a wave has no row for it)."""
    out = []
    for g, members in _grouped(rows, by, order).items():
        for months in sorted({m for r in members for m in r.follow_up_waves}):
            n = sum(r.follow_up_waves.get(months, (0, 0))[0] for r in members)
            k = sum(r.follow_up_waves.get(months, (0, 0))[1] for r in members)
            if n == 0:
                continue
            out.append(FollowUpResponseRow(g, months, n, k, *share(k, n)))
    return out


#: the disjoint columns of a public follow-up wave's table
RESPONSE_STATES = ("answered", "not_answered")


def answered_forward(before: str, after: str) -> bool:
    """A participant who answered a wave has answered it at every later release (a
    reader who kept an earlier page knows it); one not yet heard from may answer."""
    return before == after or (before, after) == ("not_answered", "answered")


def wave_release(
    rows: Sequence[AfterAwardRow],
    months: int,
    bys: Sequence[str],
    order: Mapping[str, Sequence[str]] | None = None,
    min_cell: int = 5,
    earlier: Sequence[Release] = (),
) -> Release | None:
    """The suppressed disjoint tables groups x (answered, not answered) of the
    participants due at the ``months`` wave (columns nobody is in left out), audited with
    the page's ``earlier`` releases of that wave (``domain.suppress_linked``: participants
    move only :func:`answered_forward`, and join a group as they fall due). None where
    nobody is due."""
    atoms: dict[tuple[str, ...], dict[str, int]] = {}
    for r in rows:
        n, k = r.follow_up_waves.get(months, (0, 0))
        if n:
            key = tuple(r.groups.get(by, "unknown") for by in bys)
            cells = atoms.setdefault(key, dict.fromkeys(RESPONSE_STATES, 0))
            cells["answered"] += k
            cells["not_answered"] += n - k
    if not atoms:
        return None
    states = [s for s in RESPONSE_STATES if any(c[s] for c in atoms.values())]
    kept = {key: {s: c[s] for s in states} for key, c in atoms.items()}
    truth = truth_digest(kept)
    if earlier and earlier[-1].truth == truth:
        return earlier[-1]  # nothing changed: the page stands as it was published
    sups = suppress_linked(kept, bys, min_cell, order, earlier=earlier, moves=answered_forward)
    return Release(sups, {k: sum(v.values()) for k, v in kept.items()}, truth)


def wave_months(rows: Sequence[AfterAwardRow]) -> list[int]:
    """The follow-up waves (months) at which someone of ``rows`` is due."""
    return sorted({m for r in rows for m, (n, _k) in r.follow_up_waves.items() if n})


def public_follow_up_response(
    rows: Sequence[AfterAwardRow],
    bys: Sequence[str],
    order: Mapping[str, Sequence[str]] | None = None,
    min_cell: int = 5,
    releases: Mapping[int, Release] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """:func:`follow_up_response` by each grouping of ``bys``, safe to publish side by side
    (outcomes18): for each wave, the disjoint tables groups x (answered, not answered) of
    the participants due, suppressed together (``domain.suppress_linked``, its row totals,
    the participants due, audited as known), each wave's kept as a release and audited
    with the earlier ones (:func:`wave_release`; ``releases`` by months, computed here
    when not given): a count under ``min_cell`` is hidden, and enough others that none can
    be worked out from the rest, the "All" row, another grouping's table or a saved
    earlier page. A hidden count is None (``answered``, ``not_answered``, and then the
    rate); ``due`` is the row's total (the page shows it "<5" where small). A column
    nobody is in (no one answered the 12-month wave yet) is left out of the suppression:
    its zeros are known."""
    order = order or {}
    out: dict[str, list[dict[str, Any]]] = {by: [] for by in bys}
    for months in wave_months(rows):
        rel = (releases or {}).get(months) or wave_release(rows, months, bys, order, min_cell)
        sups = rel.tables if rel is not None else {}
        for by in bys:
            sup = sups.get(by)
            for full in follow_up_response(rows, by, order.get(by)):
                if full.months != months:
                    continue
                line = TOTAL if full.group == "all" else full.group
                yes, no = (
                    sup.values[(line, s)] if sup and s in sup.columns else 0
                    for s in RESPONSE_STATES
                )
                hidden = yes is None or no is None
                out[by].append(
                    {
                        "group": full.group,
                        "months": months,
                        "due": full.due,
                        "answered": yes,
                        "not_answered": no,
                        "rate_low": None if hidden else full.rate_low,
                        "rate_high": None if hidden else full.rate_high,
                    }
                )
    return out


def distinct_results(rows: Sequence[AfterAwardRow], kind: str) -> int:
    """The awards' results of ``kind``, a DOI counted once however many of them list it
    (a paper of two awards is one paper); results without a DOI each count."""
    dois: set[str] = set()
    without = 0
    for r in rows:
        mine = r.result_dois.get(kind, ())
        dois.update(mine)
        without += int(r.outputs.get(kind, 0)) - len(mine)
    return without + len(dois)


def follow_up(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None = None
) -> list[FollowUpRow]:
    """Per group (and "all"): what the trained did after a course, from the awards'
    follow-up reports."""
    out = []
    for g, members in _grouped(rows, by, order).items():
        reports = [r.follow_up for r in members if r.follow_up]
        ratios = [float(x) for f in reports for x in f.get("yield_ratios", [])]
        out.append(
            FollowUpRow(
                group=g,
                awarded=len(members),
                reporting=len(reports),
                people_trained=sum(float(f.get("people_trained", 0)) for f in reports),
                demo_sites=sum(float(f.get("demo_sites", 0)) for f in reports),
                area_ha=sum(float(f.get("area_ha", 0)) for f in reports),
                yields=len(ratios),
                median_yield_ratio=float(np.median(ratios)) if ratios else None,
                participants=sum(int(f.get("participants", 0)) for f in reports),
                people_trained_women=sum(float(f.get("people_trained_women", 0)) for f in reports),
                people_trained_gender_counted=sum(
                    float(f.get("people_trained_gender_counted", 0)) for f in reports
                ),
                sites_running_1y=sum(float(f.get("sites_running_1y", 0)) for f in reports),
                reporting_1y=sum(int(f.get("reporting_1y", 0)) for f in reports),
                sites_running_3y=sum(float(f.get("sites_running_3y", 0)) for f in reports),
                reporting_3y=sum(int(f.get("reporting_3y", 0)) for f in reports),
            )
        )
    return out


#: The group of the people trained whose report gave no countries (outcomes22).
NOT_RECORDED = "not_recorded"


@dataclass(frozen=True)
class TrainedRow:
    """The people trained after a course from one group of countries (the trainees' own
    countries, not the PI's): ``not_recorded`` holds those whose report named none."""

    group: str
    people_trained: int


def trained_from(
    rows: Sequence[AfterAwardRow],
    by: str,
    group_of_country: Mapping[str, Mapping[str, str]],
    order: Sequence[str] | None = None,
) -> list[TrainedRow]:
    """The people the call's trainees trained, by the group (``by``) of their own country
    (``group_of_country``: {alpha-3: {grouping: group}}), from each participant's latest
    follow-up report (``results.domain.follow_up_figures``' ``trained_by_country``); the
    people of reports that named no country in ``not_recorded``, then ``all``, every
    person trained (outcomes22)."""
    counts: dict[str, int] = {}
    total = 0.0
    counted = 0.0
    for r in rows:
        f = r.follow_up
        if not f:
            continue
        total += float(f.get("people_trained", 0))
        counted += float(f.get("people_trained_country_counted", 0))
        for iso3, n in (f.get("trained_by_country") or {}).items():
            g = group_of_country[iso3][by]
            counts[g] = counts.get(g, 0) + int(n)
    groups = _in_order(counts, order)
    out = [TrainedRow(g, counts[g]) for g in groups]
    if total > counted:
        out.append(TrainedRow(NOT_RECORDED, round(total - counted)))
    out.append(TrainedRow("all", round(total)))
    return out


def trained_release(
    trained: Mapping[str, Mapping[str, int]],
    group_of_country: Mapping[str, Mapping[str, str]],
    bys: Sequence[str],
    order: Mapping[str, Sequence[str]] | None = None,
    min_cell: int = 5,
    earlier: Sequence[Release] = (),
) -> Release | None:
    """The people trained by their own country's group (``trained``: {award: {alpha-3:
    people, "": not recorded}}), one table per grouping of ``bys``, safe to publish side by
    side (outcomes22): suppressed together (``domain.suppress_linked`` over atoms of the
    groupings, without known totals: no public list names the people trained), a count
    under ``min_cell`` hidden and enough others that none can be worked out from the
    "All" row or another grouping's table. The people whose report named no country are
    a group of their own (``NOT_RECORDED``). None where nobody is counted.

    Kept as a release of its own page and suppressed with the page's ``earlier`` ones
    (outcomes22b): the same true counts are the last release again, and a cell any
    earlier release hid stays hidden, so that a reader who saved the page before and
    after a follow-up report (whose counts the reporter knows) cannot subtract one from
    the other to learn a hidden count. Its ``atoms`` are the people of each atom, whom
    no reader knows (never an audit's known totals)."""
    atoms: dict[tuple[str, ...], dict[str, int]] = {}
    for where in trained.values():
        for iso3, n in where.items():
            groups = group_of_country.get(iso3) if iso3 else None
            key = tuple(groups[by] if groups else NOT_RECORDED for by in bys)
            cell = atoms.setdefault(key, {"people_trained": 0})
            cell["people_trained"] += int(n)
    if not atoms:
        return None
    truth = truth_digest(atoms)
    if earlier and earlier[-1].truth == truth:
        return earlier[-1]  # nothing changed: the page stands as it was published
    hidden: dict[str, set[tuple[str, str]]] = {}
    for rel in earlier:
        for by, t in rel.tables.items():
            hidden.setdefault(by, set()).update(
                k for k, v in t.values.items() if v is None and TOTAL not in k
            )
    tables = suppress_linked(atoms, bys, min_cell, order, known_atoms=False, hide=hidden)
    return Release(tables, {k: sum(v.values()) for k, v in atoms.items()}, truth)


def trained_rows(release: Release | None) -> dict[str, list[dict[str, Any]]]:
    """:func:`trained_release`'s tables as the page's rows (a hidden count is None)."""
    if release is None:
        return {}
    return {
        by: [
            {"group": "all" if g == TOTAL else g, "people_trained": t.values[(g, TOTAL)]}
            for g in [*t.rows, TOTAL]
        ]
        for by, t in release.tables.items()
    }


@dataclass(frozen=True)
class YieldRow:
    """A group's demonstration sites reporting a yield in one unit: how many, the mean
    yield and local check, and the median of their ratios (1.0 = as the local check)."""

    group: str
    unit: str
    sites: int
    mean_yield: float
    mean_baseline: float
    median_ratio: float


def site_yields(
    rows: Sequence[AfterAwardRow], by: str, order: Sequence[str] | None = None
) -> list[YieldRow]:
    """Per group of the awards (and "all") and unit, the demonstration sites' yields
    against their local check (outcomes22); yields of two units are never averaged."""
    out = []
    for g, members in _grouped(rows, by, order).items():
        by_unit: dict[str, list[tuple[float, float]]] = {}
        for r in members:
            for unit, y, b in r.site_yields:
                by_unit.setdefault(unit, []).append((y, b))
        for unit in sorted(by_unit):
            pairs = by_unit[unit]
            out.append(
                YieldRow(
                    group=g,
                    unit=unit,
                    sites=len(pairs),
                    mean_yield=float(np.mean([y for y, _ in pairs])),
                    mean_baseline=float(np.mean([b for _, b in pairs])),
                    median_ratio=float(np.median([y / b for y, b in pairs])),
                )
            )
    return out


def km_median(times: np.ndarray, events: np.ndarray) -> float | None:
    """Kaplan-Meier median time to event (None when the curve never reaches 0.5).

    Vectorised (the report's bootstrap calls it hundreds of times per group): at each
    distinct time, the survival is the running product of ``1 - deaths / at_risk``,
    multiplied in time order as the step-by-step estimator does, so the answer is the
    same to the last bit (``tests/outcomes/test_km_median.py``)."""
    if len(times) == 0:
        return None
    t = np.asarray(times, dtype=float)
    e = np.asarray(events).astype(bool)
    uniq, inv = np.unique(t, return_inverse=True)
    deaths = np.bincount(inv, weights=e.astype(float), minlength=len(uniq))
    leaving = np.bincount(inv, minlength=len(uniq))
    at_risk = len(t) - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    surv = np.cumprod(1.0 - deaths / at_risk)
    hit = np.flatnonzero((deaths > 0) & (surv <= 0.5))
    return float(uniq[hit[0]]) if len(hit) else None


#: bootstrap replicates whose Kaplan-Meier medians are computed together (one array of
#: replicates x distinct times each: 100 x 2,000 float64 is 1.6 MB)
KM_CHUNK = 100


def km_medians(times: np.ndarray, events: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """:func:`km_median` of each resample ``times[idx[b]], events[idx[b]]`` (a row of
    ``idx`` per replicate) at once, ``inf`` where the curve never reaches 0.5.

    Each replicate's times are among the sample's, so every replicate is counted on
    the sample's distinct times: a time a replicate lacks has no deaths and multiplies
    its survival by exactly 1.0, so each answer is :func:`km_median`'s to the last bit
    (``tests/outcomes/test_km_median.py``)."""
    t = np.asarray(times, dtype=float)
    e = np.asarray(events).astype(bool)
    uniq, inv = np.unique(t, return_inverse=True)
    b, m = idx.shape
    u = len(uniq)
    cell = (inv[idx] + (np.arange(b) * u)[:, None]).ravel()
    leaving = np.bincount(cell, minlength=b * u).reshape(b, u)
    deaths = np.bincount(cell, weights=e[idx].ravel().astype(float), minlength=b * u)
    deaths = deaths.reshape(b, u)
    at_risk = m - (np.cumsum(leaving, axis=1) - leaving)
    # past a replicate's last time nobody is at risk (and nobody dies): a factor 1.0
    lost = np.where(at_risk > 0, deaths / np.maximum(at_risk, 1), 0.0)
    surv = np.cumprod(1.0 - lost, axis=1)
    hit = (deaths > 0) & (surv <= 0.5)
    return np.where(hit.any(axis=1), uniq[hit.argmax(axis=1)], np.inf)


def bootstrap_km_medians(
    times: np.ndarray, events: np.ndarray, rng: np.random.Generator, n_boot: int
) -> np.ndarray:
    """The Kaplan-Meier medians of ``n_boot`` resamples of the awards (``inf``: not
    reached), drawn one replicate after another from ``rng`` (the same draws, and so
    the same interval, as a loop of :func:`km_median` over them) and computed
    :data:`KM_CHUNK` replicates at a time (:func:`km_medians`)."""
    m = len(times)
    out = []
    for start in range(0, n_boot, KM_CHUNK):
        idx = np.stack([rng.integers(0, m, m) for _ in range(min(KM_CHUNK, n_boot - start))])
        out.append(km_medians(times, events, idx))
    return np.concatenate(out) if out else np.array([], dtype=float)


@dataclass(frozen=True)
class TimeToResult:
    """Days from award to first result for a group: Kaplan-Meier median with a
    bootstrap 95 % interval (None where not reached), and the share with a result
    within a year (Wilson) among awards followed for at least a year."""

    group: str
    awarded: int
    with_result: int
    median_days: float | None
    median_low: float | None
    median_high: float | None
    followed_a_year: int
    within_a_year: int
    within_a_year_low: float
    within_a_year_high: float


def time_to_first_result(
    rows: Sequence[AfterAwardRow],
    by: str,
    order: Sequence[str] | None = None,
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> list[TimeToResult]:
    rng = np.random.default_rng(seed)
    # a first result dated after the report's day (past the award's follow-up: "in
    # press" with next year's date, or a year typed wrong) is not out yet: the award is
    # censored at its follow-up, as one without a result (outcomes19)
    rows = [
        dataclasses.replace(r, days_to_first_result=None)
        if r.days_to_first_result is not None and r.days_to_first_result > r.follow_up_days
        else r
        for r in rows
    ]
    out = []
    for g, members in _grouped(rows, by, order).items():
        times = np.array(
            [
                r.days_to_first_result if r.days_to_first_result is not None else r.follow_up_days
                for r in members
            ],
            dtype=float,
        )
        events = np.array([r.days_to_first_result is not None for r in members])
        med = km_median(times, events)
        lo = hi = None
        if med is not None and len(members) >= 2:
            boots = bootstrap_km_medians(times, events, rng, n_boot)
            lo_v, hi_v = np.quantile(boots, [0.025, 0.975], method="inverted_cdf")
            lo = float(lo_v)
            hi = None if not np.isfinite(hi_v) else float(hi_v)
        followed = [
            r
            for r in members
            if r.follow_up_days >= 365
            or (r.days_to_first_result is not None and r.days_to_first_result <= 365)
        ]
        k = sum(
            1
            for r in followed
            if r.days_to_first_result is not None and r.days_to_first_result <= 365
        )
        wlo, whi = wilson_interval(k, len(followed))
        out.append(
            TimeToResult(
                group=g,
                awarded=len(members),
                with_result=int(events.sum()),
                median_days=med,
                median_low=lo,
                median_high=hi,
                followed_a_year=len(followed),
                within_a_year=k,
                within_a_year_low=wlo,
                within_a_year_high=whi,
            )
        )
    return out


@dataclass(frozen=True)
class CycleRow:
    """One cycle of a facility and one group: applied, awarded, produced results,
    with Wilson intervals, and the group's share of the world's researchers;
    ``programmes``: of the awarded, those that began a programme in this cycle
    (outcomes20: a renewal of a programme that had an award in an earlier cycle of the
    facility is an award of its cycle, and no new programme)."""

    cycle: str
    group: str
    applied: int
    awarded: int
    award_rate: float | None
    award_rate_low: float
    award_rate_high: float
    produced_results: int
    result_rate: float | None
    result_rate_low: float
    result_rate_high: float
    awarded_share: float | None
    researcher_share: float | None
    programmes: int


@dataclass(frozen=True)
class CycleInput:
    """A cycle's applications by group and its awards' rows; ``renewals``: the awards
    (``proposal_id``) that continue a programme with an award in an earlier cycle of
    the facility (:func:`renewals_by_cycle`)."""

    cycle: str
    applied_by_group: Mapping[str, int]
    rows: Sequence[AfterAwardRow] = field(default_factory=tuple)
    renewals: frozenset[str] = frozenset()


def renewals_by_cycle(
    cycles: Sequence[Sequence[AfterAwardRow]], programme: Mapping[str, str]
) -> list[frozenset[str]]:
    """For each of ``cycles`` (a facility's, oldest first) the awards whose programme
    (``programme`` as :func:`programmes_by_group` reads it) had an award in an earlier
    of them, or another award in the same cycle before it: each programme begins once,
    in the first of these cycles it has an award in. A programme whose first award was
    made at another facility begins here with its first award here (as first and repeat
    access count it, ``after_award_data.first_access``)."""
    seen: set[str] = set()
    out = []
    for rows in cycles:
        renewed = set()
        for r in rows:
            root = programme.get(r.proposal_id, r.proposal_id)
            if root in seen:
                renewed.add(r.proposal_id)
            seen.add(root)
        out.append(frozenset(renewed))
    return out


def cycle_trend(
    cycles: Sequence[CycleInput],
    by: str,
    researcher_share: Mapping[str, float],
    order: Sequence[str] | None = None,
) -> list[CycleRow]:
    """Per cycle (in the order given) and group: award and result rates with
    intervals, the group's share of the awards beside its share of researchers, and the
    programmes begun (the awards less the cycle's ``renewals``)."""
    out = []
    for c in cycles:
        total_awarded = len(c.rows)
        for g in _in_order(c.applied_by_group, order):
            members = [r for r in c.rows if r.groups.get(by, "unknown") == g]
            n_app, n_aw = int(c.applied_by_group[g]), len(members)
            k = sum(1 for r in members if r.produced_results)
            alo, ahi = wilson_interval(min(n_aw, n_app), n_app)
            result_rate, rlo, rhi = share(k, n_aw)
            out.append(
                CycleRow(
                    cycle=c.cycle,
                    group=g,
                    applied=n_app,
                    awarded=n_aw,
                    award_rate=n_aw / n_app if n_app else None,
                    award_rate_low=alo,
                    award_rate_high=ahi,
                    produced_results=k,
                    result_rate=result_rate,
                    result_rate_low=rlo,
                    result_rate_high=rhi,
                    awarded_share=n_aw / total_awarded if total_awarded else None,
                    researcher_share=researcher_share.get(g),
                    programmes=sum(1 for r in members if r.proposal_id not in c.renewals),
                )
            )
    return out


#: Awards a group (and the rest) needs before its share of results is judged against
#: its share of awards (as the report's tests, ``outcomes.stats.MIN_TEST_N``).
MIN_JUDGED_AWARDS = 20


@dataclass(frozen=True)
class ResultShareRow:
    """A group's share of the results (publications, datasets, software, patents) beside its
    share of the awards, and the difference, each with a 95 % interval: Wilson for the
    share of awards; for the share of results and the difference a bootstrap that
    resamples awards (an award's results are not independent of one another, so the
    results are never treated as the sample). ``judged`` is False where the group or
    the rest has fewer than ``MIN_JUDGED_AWARDS`` awards, or there are no results: the
    estimates stand, with their (wide) intervals, but no statement is made."""

    group: str
    awards: int
    award_share: float | None
    award_share_low: float
    award_share_high: float
    #: the group's credit (:func:`result_credits`): whole unless a result is shared
    results: float
    result_share: float | None
    result_share_low: float | None
    result_share_high: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    judged: bool


def result_credits(
    rows: Sequence[AfterAwardRow], kinds: Collection[str] | None = None
) -> list[float]:
    """Each award's credit for its results (fractional counting): a result listed by
    ``k`` of the awards (its DOI, or a patent's number, of the same kind) gives each of
    them ``1/k``, a result without one its award 1. The credits add up to the awards'
    distinct results (:func:`distinct_results` over every kind, or over ``kinds``), so
    that the groups' shares of the results add up to one, a paper of two groups' awards
    split between them rather than counted whole in each."""
    listed: dict[tuple[str, str], int] = {}
    for r in rows:
        for kind, dois in r.result_dois.items():
            for doi in dois:
                listed[(kind, doi)] = listed.get((kind, doi), 0) + 1
    out = []
    for r in rows:
        named_of = {k: v for k, v in r.result_dois.items() if kinds is None or k in kinds}
        counts = [int(v) for k, v in r.outputs.items() if kinds is None or k in kinds]
        credit = float(sum(counts) - sum(len(v) for v in named_of.values()))
        credit += sum(1 / listed[(k, doi)] for k, dois in named_of.items() for doi in dois)
        out.append(credit)
    return out


def result_shares(
    rows: Sequence[AfterAwardRow],
    by: str,
    order: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[ResultShareRow]:
    """Per group: its share of the call's results against its share of the awards."""
    n = len(rows)
    results = np.array(result_credits(rows), dtype=float)
    total = float(results.sum())
    groups = {g: m for g, m in _grouped(rows, by, order).items() if g != "all"}
    member = {g: np.array([r.groups.get(by, "unknown") == g for r in rows]) for g in groups}
    # the bootstrap, 100 replicates at a time (a provider's call has thousands of awards):
    # each draw counted at once under its replicate and its award's group (one pass over
    # the draws, not one per group; whole numbers, so the same sums as adding them apart)
    boot: dict[str, tuple[list[float], list[float]]] = {g: ([], []) for g in groups}
    slot = np.full(n, len(groups))  # an award of no group (none: every award has one)
    for j, g in enumerate(groups):
        slot[member[g]] = j
    width = len(groups) + 1
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot if total and n else 0, 100):
        k = min(100, n_boot - start)
        idx = rng.integers(0, n, (k, n))
        cell = (slot[idx] + (np.arange(k) * width)[:, None]).ravel()
        got = np.bincount(cell, weights=results[idx].ravel(), minlength=k * width)
        got = got.reshape(k, width)
        in_g = np.bincount(cell, minlength=k * width).reshape(k, width)
        tot = got.sum(axis=1)
        ok = tot > 0
        for j, g in enumerate(groups):
            boot[g][0].extend((got[ok, j] / tot[ok]).tolist())
            boot[g][1].extend((in_g[ok, j] / n).tolist())
    out = []
    for g, members in groups.items():
        mine = member[g]
        k = len(members)
        a_share, a_lo, a_hi = share(k, n)
        got_g = float(results[mine].sum()) if n else 0.0
        r_share = got_g / total if total else None
        r_lo = r_hi = d_lo = d_hi = None
        if boot[g][0]:
            rs, aws = np.array(boot[g][0]), np.array(boot[g][1])
            r_lo, r_hi = (float(x) for x in np.quantile(rs, [0.025, 0.975]))
            d_lo, d_hi = (float(x) for x in np.quantile(rs - aws, [0.025, 0.975]))
        out.append(
            ResultShareRow(
                group=g,
                awards=k,
                award_share=a_share,
                award_share_low=a_lo,
                award_share_high=a_hi,
                results=int(got_g) if got_g.is_integer() else round(got_g, 6),
                result_share=r_share,
                result_share_low=r_lo,
                result_share_high=r_hi,
                difference=None if r_share is None or a_share is None else r_share - a_share,
                difference_low=d_lo,
                difference_high=d_hi,
                judged=bool(total) and min(k, n - k) >= MIN_JUDGED_AWARDS,
            )
        )
    return out


@dataclass(frozen=True)
class PerAwardRow:
    """A group's results per award (outcomes18): of ``awards`` awards, ``results`` (a
    result of k awards credited 1/k to each, :func:`result_credits`), ``per_award`` with a
    bootstrap 95 % interval over the group's awards, and the difference from the rest of
    the call's awards with its own; ``judged`` where the group and the rest each hold
    :data:`MIN_JUDGED_AWARDS` awards (the "all" row has no rest: no difference)."""

    group: str
    awards: int
    results: float
    per_award: float | None
    per_award_low: float | None
    per_award_high: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    judged: bool


def _boot_means(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """``n_boot`` bootstrap means of ``values`` (awards resampled), 100 replicates at a
    time."""
    out = []
    for start in range(0, n_boot, 100):
        k = min(100, n_boot - start)
        out.append(values[rng.integers(0, len(values), (k, len(values)))].mean(axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def results_per_award(
    rows: Sequence[AfterAwardRow],
    by: str,
    order: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[PerAwardRow]:
    """Per group (and "all"): the results per award, the credits of
    :func:`result_credits` (so that the groups' results add up to the call's distinct
    results), with a seeded bootstrap 95 % interval that resamples the group's awards
    (one award's papers are not independent of one another), and the difference from the
    rest of the call's awards, the two resampled apart."""
    credits = dict(zip((r.proposal_id for r in rows), result_credits(rows), strict=True))
    out = []
    for g, members in _grouped(rows, by, order).items():
        rng = np.random.default_rng(seed)
        mine = np.array([credits[r.proposal_id] for r in members], dtype=float)
        ids = {r.proposal_id for r in members}
        rest = np.array([c for pid, c in credits.items() if pid not in ids], dtype=float)
        total = float(mine.sum())
        mean = float(mine.mean()) if len(mine) else None
        lo = hi = diff = d_lo = d_hi = None
        if len(mine):
            boot = _boot_means(mine, rng, n_boot)
            lo, hi = (float(x) for x in np.quantile(boot, [0.025, 0.975]))
            if g != "all" and len(rest):
                diff = float(mine.mean() - rest.mean())
                other = _boot_means(rest, rng, n_boot)
                d_lo, d_hi = (float(x) for x in np.quantile(boot - other, [0.025, 0.975]))
        out.append(
            PerAwardRow(
                group=g,
                awards=len(members),
                results=int(total) if total.is_integer() else round(total, 6),
                per_award=mean,
                per_award_low=lo,
                per_award_high=hi,
                difference=diff,
                difference_low=d_lo,
                difference_high=d_hi,
                judged=g != "all"
                and min(len(mine), len(rest)) >= MIN_JUDGED_AWARDS
                and bool(credits)
                and any(credits.values()),
            )
        )
    return out


@dataclass(frozen=True)
class ShareChange:
    """A group's share of a cycle's awards (or of its awards with results) beside its
    share over the facility's earlier cycles pooled (outcomes16): ``count`` of ``total``
    now, ``earlier_count`` of ``earlier_total`` over ``earlier_cycles`` cycles, and the
    difference of the shares with a Newcombe 95 % interval (hybrid Wilson score: two
    independent proportions). ``shown`` is False where a count is hidden (None) or under
    the small-cell threshold on either side (the group or the rest), and then no share is
    given; a first cycle has nothing to compare with."""

    count: int | None
    total: int | None
    share: float | None
    earlier_cycles: int
    earlier_count: int | None
    earlier_total: int | None
    earlier_share: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    shown: bool


def _sharable(k: int | None, n: int | None, min_cell: int) -> bool:
    return k is not None and n is not None and n > 0 and min(k, n - k) >= min_cell


def share_change(
    now: tuple[int | None, int | None],
    earlier: Sequence[tuple[int | None, int | None]],
    *,
    min_cell: int = 0,
) -> ShareChange:
    """:class:`ShareChange` of ``now`` (the group's count, the cycle's total) against the
    ``earlier`` cycles' (count, total) pooled. A count that a page hides is None: the
    pool is then unknown. The office's report passes ``min_cell`` 0 (every count)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    k, n = now
    pooled = not any(ek is None or en is None for ek, en in earlier)
    ek = sum(int(c or 0) for c, _ in earlier) if pooled else None
    en = sum(int(t or 0) for _, t in earlier) if pooled else None
    here = _sharable(k, n, min_cell)
    before = _sharable(ek, en, min_cell)
    share_now = k / n if here and k is not None and n else None
    share_before = ek / en if before and ek is not None and en else None
    diff = lo = hi = None
    if share_now is not None and share_before is not None:
        diff = share_now - share_before
        # statsmodels' Newcombe interval (its score intervals are Wilson's)
        low, high = confint_proportions_2indep(k, n, ek, en, method="newcomb", compare="diff")
        lo, hi = float(low), float(high)
    return ShareChange(
        count=k,
        total=n,
        share=share_now,
        earlier_cycles=len(earlier),
        earlier_count=ek,
        earlier_total=en,
        earlier_share=share_before,
        difference=diff,
        difference_low=lo,
        difference_high=hi,
        shown=diff is not None,
    )


#: the measures of :func:`share_changes`: a group's share of the awards, and of the
#: awards with results
CHANGE_MEASURES = ("awards", "results")


def share_changes(
    cycles: Sequence[Mapping[str, tuple[int | None, int | None]]], *, min_cell: int = 0
) -> list[dict[str, Any]]:
    """Per group and measure (:data:`CHANGE_MEASURES`), the last cycle of ``cycles``
    (oldest first; each {group: (awarded, awards with results)}, ``"all"`` the cycle's
    total) against the earlier ones (:func:`share_change`), as plain rows. Groups in the
    order of the last cycle; a group absent from an earlier cycle had none there."""
    if not cycles:
        return []
    *before, last = cycles
    out = []

    def of(c: Mapping[str, tuple[int | None, int | None]], g: str, m: int) -> tuple[Any, Any]:
        return (c.get(g, (0, 0))[m], c.get("all", (0, 0))[m])

    for m, measure in enumerate(CHANGE_MEASURES):
        for g in last:
            if g == "all":
                continue
            got = share_change(of(last, g, m), [of(c, g, m) for c in before], min_cell=min_cell)
            out.append({"group": g, "measure": measure, **dataclasses.asdict(got)})
    return out


@dataclass(frozen=True)
class ProgrammeRow:
    """A group's awards over a facility's cycles (up to the report's call) against its
    programmes (outcomes19): ``awards`` counts each cycle's award (the capacity is given
    per cycle), ``programmes`` a renewed award once (its chain of continuations: the same
    beneficiaries), in the group of its latest award (who holds it now: a programme
    transferred to a new PI counts where the new PI is); ``continuing``: the awards that
    continue an earlier one."""

    group: str
    awards: int
    programmes: int
    continuing: int


def programmes_by_group(
    cycles: Sequence[Sequence[AfterAwardRow]],
    programme: Mapping[str, str],
    by: str,
    order: Sequence[str] | None = None,
) -> list[ProgrammeRow]:
    """Per group (and "all"): :class:`ProgrammeRow` of the awards of ``cycles`` (oldest
    first); ``programme`` maps an award's ``proposal_id`` to its programme's first award
    (an award it does not name is a programme of its own)."""
    latest: dict[str, AfterAwardRow] = {}
    awards: list[AfterAwardRow] = []
    continuing: set[str] = set()
    for rows in cycles:
        for r in rows:
            root = programme.get(r.proposal_id, r.proposal_id)
            awards.append(r)
            if root != r.proposal_id:
                continuing.add(r.proposal_id)
            latest[root] = r  # a later cycle's award replaces the earlier one
    heads = list(latest.values())
    by_awards = _grouped(awards, by, order)
    by_heads = _grouped(heads, by, order)
    return [
        ProgrammeRow(
            group=g,
            awards=len(members),
            programmes=len(by_heads.get(g, [])),
            continuing=sum(1 for r in members if r.proposal_id in continuing),
        )
        for g, members in by_awards.items()
    ]


def programme_heads(
    cycles: Sequence[Sequence[AfterAwardRow]], programme: Mapping[str, str]
) -> list[list[AfterAwardRow]]:
    """``cycles`` (oldest first) with each programme's awards kept once, at its latest
    award among them, which counts as having produced results when any of them did
    (outcomes19): pooled, the cycles count a programme renewed each cycle once, not once
    a cycle. ``programme`` as :func:`programmes_by_group` reads it."""
    latest: dict[str, tuple[int, str]] = {}
    produced: set[str] = set()
    for i, rows in enumerate(cycles):
        for r in rows:
            root = programme.get(r.proposal_id, r.proposal_id)
            latest[root] = (i, r.proposal_id)
            if r.produced_results:
                produced.add(root)
    out: list[list[AfterAwardRow]] = []
    for i, rows in enumerate(cycles):
        kept = []
        for r in rows:
            root = programme.get(r.proposal_id, r.proposal_id)
            if latest[root] != (i, r.proposal_id):
                continue
            if root in produced and not r.produced_results:
                r = dataclasses.replace(r, produced_results=True)
            kept.append(r)
        out.append(kept)
    return out
