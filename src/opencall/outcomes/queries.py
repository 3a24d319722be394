"""Who benefits: assembles a call's outcomes from the database and computes
them with the pure statistics of ``outcomes.domain`` (reads only).

A record per proposal that reached submission, seen from its PI's country:
applied, eligible, technically feasible, calibrated grade and rank, awarded,
amount requested, awarded and scheduled."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from opencall.allocation.models import DECLINE_REASONS, Award, AwardDecline, Decision
from opencall.calls.models import Call, CallPool
from opencall.calls.policies import RESULTS_STATES
from opencall.calls.queries import batches_of, unit_words
from opencall.calls.schemas import allocation_policy, review_settings
from opencall.facilities.domain import money_unit
from opencall.facilities.models import CapacityPool
from opencall.inputs import local_decimal, local_general
from opencall.outcomes import after_award as aa
from opencall.outcomes import after_award_data
from opencall.outcomes import context as oc
from opencall.outcomes import domain as od
from opencall.outcomes import stats as ost
from opencall.outcomes.models import PublicRelease
from opencall.people.models import Country
from opencall.people.queries import countries_named
from opencall.proposals.domain import counted_choices, most_of_each
from opencall.proposals.models import Proposal, Request, TeamMember
from opencall.proposals.queries import pi_countries
from opencall.readcache import ReadCache
from opencall.reference import loader
from opencall.results import queries as results_queries
from opencall.reviews import queries as rq
from opencall.scheduling.models import ScheduleEntry

APPLIED = ("submitted", "under_review", "accepted", "rejected", "set_aside")
GROUPINGS: tuple[od.GroupBy, ...] = ("income_group", "un_region", "ldc", "host")
#: The groupings of the report's context section (shares of the world's research capacity).
CONTEXT_GROUPINGS: tuple[od.GroupBy, ...] = ("income_group", "un_region", "ldc")


#: Extra per-proposal stage flags, by data: functions (session, call) -> {proposal id: {flag}}.
#: A feature that adds funnel stages (e.g. post-award use and results) appends a filler
#: here and a ``domain.FunnelStage`` reading the flag to ``domain.FUNNEL``.
STAGE_FLAGS: list[Callable[[Session, Call], dict[int, set[str]]]] = []


#: The unit of a request that names no pool, by its kind.
KIND_UNITS = {
    "fast": "h",
    "berth": "berths",
    "dive": "dives",
    "sample": "mg",
    "seat": "seats",
    "package": "packages",
}


def funding_line(
    ranked: list[Any], cutoff: Any, capacity: float, requested: dict[int, float]
) -> int:
    """How many of the best-ranked proposals fit the call's capacity (the funded range).

    The calibration run records it (``cutoff``, its ``summary["cutoff"]``); otherwise it
    is recomputed the same way: requests (``requested``: proposal id -> amount) of the
    best-ranked proposals, in rank order, until the call's total ``capacity`` is used."""
    if isinstance(cutoff, int):
        return cutoff
    used, n = 0.0, 0
    for r in sorted(ranked, key=lambda r: r.rank):
        used += requested.get(r.proposal_id, 0.0)
        if used > capacity:
            break
        n += 1
    return n


def applicant_records(session: Session, call: Call) -> list[od.ApplicantRecord]:
    """The call's proposals as the report reads them (:func:`applicant_records_by_call`)."""
    return applicant_records_by_call(session, [call])[call.id]


def applicant_records_by_call(
    session: Session, calls: Sequence[Call]
) -> dict[int, list[od.ApplicantRecord]]:
    """{call id: its proposals as ``ApplicantRecord``s, by proposal id} for several calls
    at once (a facility's cycles, for the trend and the after-award section): the same
    statements for 1 call or 20 (one query per table, every call in it), not a set of
    queries per cycle (bench/README.md, "Results followed at scale")."""
    ids = [c.id for c in calls]
    if not ids:  # a facility's first cycle has no earlier ones: nothing to read
        return {}
    # columns, not ORM rows, throughout: the report reads a whole call (and its cycles)
    runs = rq.latest_runs(session, ids, "calibration")
    ranked_of = rq.ranking_columns_of(session, list(runs.values()))
    ranked = {cid: ranked_of[run.id] for cid, run in runs.items()}
    # each call's pools: their units and the capacity the funding line is drawn against
    call_units: dict[int, set[str]] = defaultdict(set)
    capacity: dict[int, float] = defaultdict(float)
    for cid, amount, unit in session.execute(
        select(CallPool.call_id, CallPool.amount, CapacityPool.unit)
        .join(CapacityPool, CapacityPool.id == CallPool.pool_id)
        .where(CallPool.call_id.in_(ids))
        .order_by(CallPool.id)
    ):
        call_units[cid].add(unit)
        capacity[cid] += amount
    cutoffs = {cid: (run.summary or {}).get("cutoff") for cid, run in runs.items()}
    reviewed_ids = rq.reviewed_proposal_ids(session, ids)
    verdicts = rq.technical_verdicts(session, ids)
    # columns, not ORM rows (a provider's call has thousands of decisions and awards)
    outcomes: dict[int, str] = {
        pid: outcome
        for pid, outcome in session.execute(
            select(Decision.proposal_id, Decision.outcome).where(Decision.call_id.in_(ids))
        )
    }
    units: dict[int, str] = {}
    names: dict[int, str] = {}
    money: set[int] = set()  # the money resources: paid, never scheduled (trialop20)
    for row_id, unit, name, first_day in session.execute(
        select(CapacityPool.id, CapacityPool.unit, CapacityPool.name, CapacityPool.period_start)
    ):
        units[row_id], names[row_id] = unit, name
        if money_unit(unit, first_day):
            money.add(row_id)
    amounts: dict[int, dict[str, list[float]]] = defaultdict(dict)
    # per resource a request names (a telescope's targets name none: the allocation
    # spreads them over its LST bins)
    by_resource: dict[int, dict[str, list[float]]] = defaultdict(dict)
    sole_unit = {cid: sorted(us)[0] for cid, us in call_units.items() if len(us) == 1}

    def add(
        cid: int,
        pid: int,
        pool_id: int | None,
        i: int,
        v: float,
        kind: str = "",
        counted: bool = True,
        named: bool = True,
    ) -> None:
        if pool_id is not None and pool_id in units:
            unit = units[pool_id]
        elif cid in sole_unit:
            unit = sole_unit[cid]
        else:
            unit = KIND_UNITS.get(kind, "")
        if counted:  # an alternative the proposal cannot also be awarded: its resource's
            amounts[pid].setdefault(unit, [0.0, 0.0, 0.0])[i] += v
        if named and pool_id in names:
            by_resource[pid].setdefault(names[pool_id], [0.0, 0.0, 0.0])[i] += v

    awarded: dict[int, float] = defaultdict(float)
    for a_cid, a_pid, a_pool, a_amount in session.execute(
        select(Award.call_id, Award.proposal_id, Award.pool_id, Award.amount).where(
            Award.call_id.in_(ids)
        )
    ):
        awarded[a_pid] += a_amount
        add(a_cid, a_pid, a_pool, 1, a_amount)
    scheduled: dict[int, float] = defaultdict(float)
    for e_cid, e_pid, e_pool, e_amount, e_kind in session.execute(
        select(
            ScheduleEntry.call_id,
            ScheduleEntry.proposal_id,
            ScheduleEntry.pool_id,
            ScheduleEntry.amount,
            ScheduleEntry.kind,
        ).where(ScheduleEntry.call_id.in_(ids))
    ):
        if e_pool in money:  # its entry has no dates: the grant is paid, not scheduled
            continue
        scheduled[e_pid] += e_amount
        add(e_cid, e_pid, e_pool, 2, e_amount, e_kind)
    flags: dict[int, set[str]] = defaultdict(set)
    for filler in STAGE_FLAGS:
        for one in calls:
            for pid, fs in filler(session, one).items():
                flags[pid] |= set(fs)
    # columns, not ORM proposals (whose members, requests and attachments would load too):
    # the proposals, their first PI's country, and their requests in order
    applied = select(Proposal.id).where(Proposal.call_id.in_(ids), Proposal.status.in_(APPLIED))
    pi_country = pi_countries(session, applied)
    requests: dict[int, list[tuple[int | None, float, str]]] = defaultdict(list)
    choices: dict[int, list[str | None]] = defaultdict(list)
    for pid, pool_id, amount, kind, bundle in session.execute(
        select(Request.proposal_id, Request.pool_id, Request.amount, Request.kind, Request.bundle)
        .where(Request.proposal_id.in_(applied))
        .order_by(Request.proposal_id, Request.position)
    ):
        requests[pid].append((pool_id, amount, kind))
        choices[pid].append(bundle)
    stmt = select(Proposal.id, Proposal.call_id, Proposal.status, Proposal.eligible).where(
        Proposal.call_id.in_(ids), Proposal.status.in_(APPLIED)
    )
    proposals = list(session.execute(stmt.order_by(Proposal.id)))
    # a proposal of a call capped at k awards per PI asks for k of its choices, not all:
    # an "any node" application lists the nodes it would go to, one of them to be awarded
    caps = {c.id: allocation_policy(c.allocation_policy).pi_cap_awards for c in calls}
    counted = {pid: counted_choices(choices[pid], caps[cid]) for pid, cid, *_ in proposals}
    requested = {
        pid: float(sum(a for (_pool, a, _k), n in zip(reqs, counted[pid], strict=True) if n))
        for pid, reqs in requests.items()
    }
    host_of = {one.id: one.provider.country_iso3 for one in calls}
    countries = countries_named(session, [*pi_country.values(), *host_of.values()])
    ranking = {cid: {r.proposal_id: r for r in rows} for cid, rows in ranked.items()}
    cutoff = {
        cid: funding_line(rows, cutoffs[cid], capacity[cid], requested) if rows else 0
        for cid, rows in ranked.items()
    }
    out: dict[int, list[od.ApplicantRecord]] = {c.id: [] for c in calls}
    for pid, cid, status, is_eligible in proposals:
        verdict = verdicts.get(pid)
        r = ranking.get(cid, {}).get(pid)
        reqs = requests.get(pid, [])
        mine = counted.get(pid, [])
        for (pool_id, amount, kind), n in zip(reqs, mine, strict=True):
            add(cid, pid, pool_id, 0, amount, kind, counted=n, named=False)
        # of each resource, what its choices ask at most: two alternatives naming one
        # resource (a tool in person or remote-assisted) ask for it once (trialfac24c)
        most = most_of_each(choices[pid], [(names.get(q or 0), a) for q, a, _k in reqs], caps[cid])
        for named_pool, most_asked in most.items():
            if named_pool is not None:
                by_resource[pid].setdefault(named_pool, [0.0, 0.0, 0.0])[0] += most_asked
        # a proposal set aside at triage (out of scope, infeasible, incomplete) applied
        # but did not pass: counted here by group, so that triage filters no one silently
        eligible = is_eligible is not False and status not in ("withdrawn", "set_aside")
        if status == "set_aside":  # and said so: the report's "not set aside" stage
            flags[pid].add(od.SET_ASIDE)
        out[cid].append(
            od.ApplicantRecord(
                proposal_id=str(pid),
                **_lead_fields(pid, pi_country, countries, host_of[cid]),
                applied=True,
                eligible=eligible,
                feasible=eligible and verdict != "not_feasible",
                calibrated_grade=r.score if r else None,
                rank=r.rank if r else None,
                awarded=outcomes.get(pid, "").startswith("awarded"),
                amount_requested=requested.get(pid, 0.0),
                amount_awarded=awarded.get(pid, 0.0),
                amount_scheduled=scheduled.get(pid, 0.0),
                reviewed=pid in reviewed_ids[cid] or r is not None,
                funded_range=r is not None and r.rank <= cutoff.get(cid, 0),
                amounts={u: (v[0], v[1], v[2]) for u, v in amounts[pid].items()},
                # the resources its requests name, with what it was awarded of them
                resources={k: (v[0], v[1], v[2]) for k, v in by_resource[pid].items() if v[0] > 0},
                flags=frozenset(flags.get(pid, set())),
            )
        )
    return out


def _lead_fields(
    pid: int, pi_country: dict[int, str | None], countries: dict[str, Country], host: str | None
) -> dict[str, Any]:
    """An applicant record's fields of its lead applicant's country (its groups)."""
    iso3 = pi_country.get(pid, "")
    c = countries.get(iso3 or "") if pid in pi_country else None
    return {
        "country_iso3": c.iso3 if c else "",
        "income_group": (c.income_group or "unknown") if c else "unknown",
        "un_region": c.un_region if c else "unknown",
        "ldc": bool(c and c.ldc),
        "host": bool(c and c.iso3 == host),
    }


def lead_records_by_call(
    session: Session, calls: Sequence[Call]
) -> dict[int, list[od.ApplicantRecord]]:
    """:func:`applicant_records_by_call` with the lead applicant's country alone (the
    groups; every other field left at its default), for the pages that count awards by
    group and read nothing else of an application (the public after-award page): three
    statements for a facility's cycles, not the report's reading of every request,
    ranking and decision."""
    ids = [c.id for c in calls]
    if not ids:
        return {}
    applied = select(Proposal.id).where(Proposal.call_id.in_(ids), Proposal.status.in_(APPLIED))
    pi_country = pi_countries(session, applied)
    host_of = {one.id: one.provider.country_iso3 for one in calls}
    countries = countries_named(session, [*pi_country.values(), *host_of.values()])
    out: dict[int, list[od.ApplicantRecord]] = {c.id: [] for c in calls}
    for pid, cid in session.execute(
        select(Proposal.id, Proposal.call_id)
        .where(Proposal.call_id.in_(ids), Proposal.status.in_(APPLIED))
        .order_by(Proposal.id)
    ):
        out[cid].append(
            od.ApplicantRecord(
                proposal_id=str(pid), **_lead_fields(pid, pi_country, countries, host_of[cid])
            )
        )
    return out


def _group_map(by: od.GroupBy) -> dict[str, str]:
    out = {}
    for iso3, c in loader.countries().items():
        if by == "income_group":
            out[iso3] = c.income_group or "unknown"
        elif by == "un_region":
            out[iso3] = c.un_region or "unknown"
        elif by == "ldc":
            out[iso3] = od.LDC_LABELS[0] if c.ldc else od.LDC_LABELS[1]
    return out


@functools.lru_cache(maxsize=16)
def divide(by: od.GroupBy, year: int) -> od.DivideContext:
    """The groups' shares of the world's researchers and articles in ``year``: a function
    of the shipped indicator files alone, so computed once a process for each grouping and
    year (the result is shared: read it, never change it)."""
    ind = loader.indicators()

    def series(code: str) -> dict[str, dict[int, float]]:
        return {iso: s for (iso, c), s in ind.items() if c == code}

    return od.divide_context(
        series("SP.POP.SCIE.RD.P6"),
        series("SP.POP.TOTL"),
        series("IP.JRN.ARTC.SC"),
        _group_map(by),
        window=(year - 10, year),
    )


#: Context indicators: key -> (indicator codes, how a country's count is made).
CONTEXT_INDICATORS = {
    "researchers": "Researchers (R&D per million people x population)",
    "rd_spending": "R&D spending (R&D % of GDP x GDP, current US$)",
    "articles": "Scientific and technical journal articles",
}


def _aggregate(code: str, year: int) -> dict[str, Any] | None:
    """The World Bank's world aggregate of an indicator: latest value up to ``year``."""
    series = loader.aggregates().get(("WLD", code), {})
    got = [(y, v) for y, v in series.items() if y <= year]
    if not got:
        return None
    y, v = max(got)
    return {"year": y, "value": v}


@functools.lru_cache(maxsize=8)
def context(year: int, groupings: tuple[od.GroupBy, ...]) -> dict[str, Any]:
    """Each group's share of the world's researchers, R&D spending and articles
    (``outcomes.context``), with intervals, coverage and years.

    A function of the shipped indicator files alone (tens of milliseconds, a third of a
    small call's report), so computed once a process for each year and groupings; the
    result is shared: :func:`report` copies it (``_finite``), nobody may change it."""
    ind = loader.indicators()

    def series(code: str) -> dict[str, dict[int, float]]:
        return {iso: s for (iso, c), s in ind.items() if c == code}

    pop = series("SP.POP.TOTL")
    gdp = series("NY.GDP.MKTP.CD")
    dens = series("SP.POP.SCIE.RD.P6")
    rd = series("GB.XPD.RSDV.GD.ZS")
    counts = {
        "researchers": {
            iso: oc.product_series(s, pop.get(iso, {}), 1e-6) for iso, s in dens.items()
        },
        "rd_spending": {iso: oc.product_series(s, gdp.get(iso, {}), 0.01) for iso, s in rd.items()},
        "articles": series("IP.JRN.ARTC.SC"),
    }
    pop_now = {
        iso: float(s[max(y for y in s if y <= year)]) if any(y <= year for y in s) else 0.0
        for iso, s in pop.items()
    }
    world_researchers = _aggregate("SP.POP.SCIE.RD.P6", year)
    world_pop = _aggregate("SP.POP.TOTL", year)
    world_rd = _aggregate("GB.XPD.RSDV.GD.ZS", year)
    world_gdp = _aggregate("NY.GDP.MKTP.CD", year)
    world: dict[str, Any] = {
        "researchers": world_researchers
        and world_pop
        and {
            "year": world_researchers["year"],
            "value": world_researchers["value"] * world_pop["value"] / 1e6,
        },
        "rd_spending": world_rd
        and world_gdp
        and {"year": world_rd["year"], "value": world_rd["value"] / 100 * world_gdp["value"]},
        "articles": _aggregate("IP.JRN.ARTC.SC", year),
    }
    out: dict[str, Any] = {
        "year": year,
        "window_years": oc.WINDOW_YEARS,
        "indicators": CONTEXT_INDICATORS,
        "world_bank_world": world,
        "by": {},
    }
    for by in groupings:
        gmap = _group_map(by)
        out["by"][by] = {}
        for key, values in counts.items():
            figs = oc.country_figures(values, pop, gmap, year)
            shares_ = oc.group_shares(figs, gmap, pop_now)
            out["by"][by][key] = {
                "sum": sum(f.value for f in figs.values()),
                "groups": [dataclasses.asdict(g) for g in shares_],
            }
    return out


def reviewer_countries(
    session: Session, grades: list[tuple[int, int, float | None]]
) -> dict[int, str | None]:
    """reviewer id -> country of the reviewers of ``grades``: the column, not whole users."""
    return rq.user_countries(session, sorted({reviewer_id for _p, reviewer_id, _g in grades}))


def _reviews(
    session: Session,
    call: Call,
    records: list[od.ApplicantRecord],
    higher_is_better: bool,
    grades: list[tuple[int, int, float | None]] | None = None,
    reviewers: dict[int, str | None] | None = None,
) -> list[ost.GradeRecord]:
    """The submitted grades with their reviewer's and applicant's groups; ``grades``:
    :func:`reviews.queries.submitted_grades` when the caller has read them already."""
    by_id = {r.proposal_id: r for r in records}
    if grades is None:
        grades = rq.submitted_grades(session, call)
    if reviewers is None:
        reviewers = reviewer_countries(session, grades)
    countries = countries_named(session, reviewers.values())
    sign = 1.0 if higher_is_better else -1.0
    out = []
    for proposal_id, reviewer_id, grade in grades:
        rec = by_id.get(str(proposal_id))
        if rec is None or reviewer_id not in reviewers or grade is None:
            continue
        rc = countries.get(reviewers[reviewer_id] or "")
        out.append(
            ost.GradeRecord(
                reviewer_id=str(reviewer_id),
                proposal_id=str(proposal_id),
                grade=sign * float(grade),
                reviewer={
                    "un_region": (rc.un_region if rc else "") or "unknown",
                    "income_group": (rc.income_group if rc else "") or "unknown",
                },
                applicant={
                    "un_region": od.group_of(rec, "un_region"),
                    "income_group": od.group_of(rec, "income_group"),
                },
            )
        )
    return out


#: The reviewer-group x applicant-group cross-tables of the report.
CROSSTABS: tuple[tuple[str, str], ...] = (
    ("un_region", "income_group"),
    ("income_group", "un_region"),
    ("un_region", "un_region"),
)


def statements_json(statements: list[ost.Difference], q: float = ost.FDR_Q) -> dict[str, Any]:
    """All statements of a report adjusted in ONE family, as the report's JSON parts:
    ``differences`` (group vs rest), ``crosstabs`` (by table), ``n_tested`` and
    ``findings`` (the flagged ones, each with its difference and 95 % interval)."""
    adjusted = ost.fdr(statements, q)
    return {
        "differences": [dataclasses.asdict(x) for x in adjusted if x.family != "crosstab"],
        "crosstabs": {
            f"{rb}x{ab}": [dataclasses.asdict(x) for x in adjusted if x.grouping == f"{rb}x{ab}"]
            for rb, ab in CROSSTABS
        },
        "n_tested": sum(1 for x in adjusted if x.status == "tested"),
        "findings": [dataclasses.asdict(x) for x in adjusted if x.flagged],
    }


def report(
    session: Session,
    call: Call,
    *,
    q: float = ost.FDR_Q,
    seed: int = 0,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The whole outcomes report of a call as plain data (JSON-ready), its after-award
    section as of ``today`` (None: today in UTC).

    Every tested statement (group differences and cross-table cells) is in one
    Benjamini-Hochberg family at level ``q``; ``findings`` lists the flagged
    ones, each with its difference and interval."""
    rs = review_settings(call.review_settings)
    higher = not rs.lower_is_better
    records = applicant_records(session, call)
    # each earlier cycle's records are read once, for the trend and the after-award
    # section, and all of them at once (one set of queries, not one set per cycle)
    seen: dict[int, list[od.ApplicantRecord]] = {call.id: records}
    earlier = [c for c in after_award_data.facility_cycles(session, call) if c.id != call.id]
    seen.update(applicant_records_by_call(session, earlier))

    def records_of(s: Session, c: Call) -> list[od.ApplicantRecord]:
        if c.id not in seen:
            seen[c.id] = applicant_records(s, c)
        return seen[c.id]

    # a continuous call's report is its batches' too (each batch a call of its own)
    batches = batches_of(session, call) if call.mode == "continuous" else []
    per_batch = {b.id: applicant_records(session, b) for b in batches}
    for b in batches:
        records += per_batch[b.id]
    year = call.closes_at.year
    stages = od.funnel_for(records)
    dropped = od.informative_stages(records, stages)
    # money is paid, not scheduled (trialop20): a call awarding money alone has nothing
    # to schedule, and its "Scheduled" stage would read 0 for everyone
    money_units = sorted(
        {cp.pool.unit for cp in call.pools if money_unit(cp.pool.unit, cp.pool.period_start)}
    )
    if dropped.get("scheduled", "") is None and od.nothing_to_schedule(records, money_units):
        dropped["scheduled"] = "nothing to schedule"
    shown = [st.key for st in stages if dropped[st.key] is None]
    units = sorted({u for r in records for u in r.unit_amounts() if u})
    # the words of units the call's resources name themselves (none for the presets)
    own_units = unit_words(call)
    out: dict[str, Any] = {
        "call": {
            "id": call.id,
            "code": call.code,
            "title": call.title,
            "status": call.status,
            "facility": call.facility.name,
            "cycle": call.cycle,
            "units": units,
            # the units that are money (facilities.domain.money_unit): paid, not scheduled
            **({"money_units": money_units} if money_units else {}),
            "higher_is_better": higher,
            **({"unit_labels": own_units} if own_units else {}),
            # a continuous call: its batches; a batch: its number (absent otherwise)
            **(
                {
                    "batches": [
                        {
                            "number": b.batch_number,
                            "slug": b.slug,
                            "cutoff": b.closes_at.isoformat(),
                            "status": b.status,
                            "n_applications": len(per_batch[b.id]),
                        }
                        for b in batches
                    ]
                }
                if call.mode == "continuous"
                else {}
            ),
            **({"batch_number": call.batch_number} if call.batch_number is not None else {}),
        },
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_applications": len(records),
        "attribution": loader.ATTRIBUTION,
        "method": {
            "min_test_n": ost.MIN_TEST_N,
            "n_bootstrap": ost.N_BOOTSTRAP,
            "fdr_q": q,
            "seed": seed,
            "bootstrap": "two-way (proposals x reviewers), percentile 95 % interval",
            "consensus": "leave-one-out, others adjusted for their cell effect",
        },
        "stages": [
            {
                "key": st.key,
                "label": st.label,
                "base": st.base,
                "side": st.side,
                "amount_kind": st.amount,
                "dropped": dropped[st.key],
            }
            for st in stages
        ],
        "funnels": {},
        "suppressed": {},
    }
    for by in GROUPINGS:
        out["funnels"][by] = [
            dataclasses.asdict(r)
            for r in od.funnel(records, by, include_total=True, stages=stages)
            if r.stage in shown
        ]
        sup = od.suppressed_funnel_counts(records, by, stages=stages)
        out["suppressed"][by] = {
            g: {k: v for k, v in row.items() if k in shown or k == stages[0].key}
            for g, row in sup.items()
        }
    # who benefits at each resource the requests name, in the call's order of resources
    named = {name for r in records for name in r.resources}
    resource_units = {cp.pool.name: cp.pool.unit for cp in call.pools if cp.pool.name in named}
    out["resources"] = [
        dataclasses.asdict(row)
        for by in GROUPINGS
        for row in od.resource_rows(records, by, resource_units)
    ]
    # the submitted grades, read once for the cross-tables and the reviewer effects
    grades = rq.submitted_grades(session, call)
    reviewers = reviewer_countries(session, grades)
    reviews = _reviews(session, call, records, higher, grades, reviewers)
    boot = ost.TwoWayBootstrap(
        [r.proposal_id for r in records],
        ost.reviewers_by_proposal([(r.proposal_id, r.reviewer_id) for r in reviews]),
        seed=seed,
    )
    statements = ost.group_differences(records, GROUPINGS, boot, higher_is_better=higher)
    for rb, ab in CROSSTABS:
        statements += ost.crosstab(reviews, rb, ab, boot)
    out.update(statements_json(statements, q))
    out["context"] = context(year, CONTEXT_GROUPINGS)
    out["trend"] = trend(session, call, divide("income_group", year), records, records_of)
    # the PIs' and reviewers' countries as the records and the cross-tables read them
    out["reviewer_effects"] = reviewer_effects(
        session,
        call,
        q=q,
        grades=grades,
        pi_countries={int(r.proposal_id): r.country_iso3 or None for r in records},
        reviewer_countries=reviewers,
    )
    out["after_award"] = after_award_data.section(session, call, records, records_of, today=today)
    declined = {
        str(pid): reason
        for pid, reason in session.execute(
            select(AwardDecline.proposal_id, AwardDecline.reason).where(
                AwardDecline.call_id == call.id
            )
        )
    }
    if declined:  # (a call with none has no such section: its report is as it was)
        out["declines"] = {
            "count": len(declined),
            "reasons": list(DECLINE_REASONS),
            "by": {
                by: od.declines_by_group(records, declined, by, DECLINE_REASONS)
                for by in after_award_data.BYS
            },
        }
    clean: dict[str, Any] = _finite(out)
    return clean


#: the reports computed in this process, each kept while every row it read is unchanged
REPORTS: ReadCache[dict[str, Any]] = ReadCache(size=8)


def cached_report(
    session: Session, call: Call, *, q: float = ost.FDR_Q, seed: int = 0
) -> dict[str, Any]:
    """:func:`report` (seconds of computing at scale) for the report page, its downloads
    and the API: computed again only when a row it read has changed (or the day, which
    the after-award section counts from); see :mod:`opencall.readcache`."""
    call_id = call.id

    def compute(reader: Session) -> dict[str, Any]:
        fresh = reader.get(Call, call_id)
        assert fresh is not None
        return report(reader, fresh, q=q, seed=seed)

    key = ("outcomes.report", call_id, q, seed, dt.datetime.now(dt.UTC).date())
    return REPORTS.get(session, key, compute)


PUBLIC_AFTER_AWARD: ReadCache[dict[str, Any]] = ReadCache(size=16)
#: Public after-award counts under this are hidden (``after_award.public_funnel``).
PUBLIC_MIN_CELL = 5
#: The groupings of the public after-award page, each a table of the same awards.
#: the public page's groupings, suppressed together (LDC status since outcomes16: the
#: releases kept before it are audited by their income group x region atoms)
PUBLIC_BYS = ("income_group", "un_region", "ldc")
LOW_INCOME = ("low", "lower-middle")
#: the groupings whose shares of awards and results the page compares across cycles
CHANGE_BYS = ("income_group", "ldc")


def public_change(
    call: Any, data: dict[str, Any], public: set[int]
) -> dict[str, list[dict[str, Any]]]:
    """Each group's share of the call's awards and awards with results against the
    facility's earlier cycles pooled (``after_award.share_changes``), by income group and
    LDC status, from the published counts of the cycles whose results are public, up to
    this call (``public``: their ids): no share from a hidden count or one under
    ``PUBLIC_MIN_CELL`` (either side). The earlier cycles pooled count a programme
    renewed among them once (outcomes19b, as the office's report does): its earlier
    awards are taken off the pooled awards (the public lists of awarded programmes name
    each renewal and its PI's country, so the pool is worked out from published
    figures); the pooled awards with results are then unknown (a programme's results
    once would need single awards' results, which no page publishes)."""
    upto: list[dict[str, Any]] = []
    for c in data["cycles"]:
        if c["call_id"] in public:
            upto.append(c)
        if c["call_id"] == call.id:
            break
    if not upto or upto[-1]["call_id"] != call.id:
        return {}
    superseded = _superseded(upto[:-1])
    return {
        by: aa.share_changes(
            [
                _once_a_programme(
                    _pooled_as_published(c["groups"][by], c is not upto[-1]),
                    [g[by] for g in superseded[i]],
                    bool(any(superseded)),
                )
                if c is not upto[-1]
                else _pooled_as_published(c["groups"][by], False)
                for i, c in enumerate(upto)
            ],
            min_cell=PUBLIC_MIN_CELL,
        )
        for by in CHANGE_BYS
    }


def _superseded(cycles: Sequence[dict[str, Any]]) -> list[list[dict[str, str]]]:
    """For each of ``cycles`` (oldest first, :func:`public_after_award`'s), the groups of
    its awards whose programme a later one of ``cycles`` renews (outcomes19b): the pool
    counts the programme at its latest award, as ``after_award.programme_heads`` does."""
    latest: dict[int, tuple[int, int]] = {}
    for i, c in enumerate(cycles):
        for j, (root, _groups) in enumerate(c.get("programmes", [])):
            latest[root] = (i, j)
    return [
        [
            groups
            for j, (root, groups) in enumerate(c.get("programmes", []))
            if latest[root] != (i, j)
        ]
        for i, c in enumerate(cycles)
    ]


def _once_a_programme(
    counts: dict[str, tuple[int | None, int | None]], gone: Sequence[str], renewed: bool
) -> dict[str, tuple[int | None, int | None]]:
    """An earlier cycle's (awards, awards with results) per group with the awards in
    ``gone`` (their groups) taken off, counted at their programme's later award; the
    awards with results unknown where the pool holds a ``renewed`` programme."""
    out = {g: (a, None if renewed else r) for g, (a, r) in counts.items()}
    for g in [*gone, *(["all"] * len(gone))]:
        a, r = out.get(g, (0, None))
        out[g] = (None if a is None else a - 1, r)
    return out


def _pooled_as_published(
    groups: dict[str, Any], earlier: bool
) -> dict[str, tuple[int | None, int | None]]:
    """A cycle's (awards, awards with results) per group as the change table may pool
    them. An earlier cycle's count of awards with results that its own page gives as
    "<5" (1 to 4, or a total less such a count) is unknown to the pool: pooled over
    cycles 1..N on one call's page and over 1..N-1 on the last one's, the two pages'
    difference was cycle N's hidden count. Award counts pool as they are: the awarded
    list names each PI's country."""
    total = groups.get("all", (0, 0))[1]

    def small(k: int | None) -> bool:
        return k is not None and (0 < k < PUBLIC_MIN_CELL or 0 < (total or 0) - k < PUBLIC_MIN_CELL)

    hidden = earlier and any(small(v[1]) for g, v in groups.items() if g != "all")
    return {g: (v[0], None if hidden else v[1]) for g, v in groups.items()}


def public_after_award(session: Session, call: Call) -> dict[str, Any]:
    """The figures of the public after-award page, as plain data (group keys, counts and
    intervals; the page labels them): the call's funnel after the award by income group
    and UN region with small cells hidden (``after_award.public_funnels``, the two tables
    together: a count is None where hidden), the time to a first result by income group, and for each cycle of the
    facility with awards (``call_id``) the awards and those with results, overall and for
    low and lower-middle income. Anyone may ask for the page, and a facility's ten
    cycles are seconds of reading: kept while the rows it read are unchanged (and for
    the day, which the follow-up counts from), like :func:`cached_report`."""
    call_id = call.id
    today = dt.datetime.now(dt.UTC).date()

    def compute(reader: Session) -> dict[str, Any]:
        fresh = reader.get(Call, call_id)
        assert fresh is not None
        order = after_award_data.ORDER
        # every cycle's records and rows read at once (the statements of one cycle)
        calls = after_award_data.facility_cycles(reader, fresh)
        # the awards' groups are all the page reads of an application
        records = lead_records_by_call(reader, calls)
        # the stages only: the page shows no use, follow-up or results by kind
        rows_of = after_award_data.rows_by_call(
            reader, [(c, records[c.id]) for c in calls], today, figures=False
        )
        rows = rows_of[call_id]
        earlier = releases(reader, [c.id for c in calls], AFTER_AWARD_PAGE)
        new: dict[int, dict[str, Any]] = {}

        def funnels_of(c: Call) -> dict[str, list[dict[str, Any]]]:
            # the page shows both tables: suppressed together, so that neither gives away
            # what the other hides, and with the page's earlier releases, which stand
            kept = earlier.get(c.id, [])
            release = aa.public_release(
                rows_of[c.id], PUBLIC_BYS, order, PUBLIC_MIN_CELL, [r for _n, r in kept]
            )
            if not kept or kept[-1][1] != release:
                new[c.id] = {"number": len(kept) + 1, "body": release.to_data()}
            return aa.funnel_rows(rows_of[c.id], PUBLIC_BYS, release, order)

        funnels = funnels_of(fresh)
        produced = {
            r["group"]: r["count"]
            for r in funnels["income_group"]
            if r["stage"] == "produced_results"
        }
        times = [
            {
                **dataclasses.asdict(t),
                # a median is shown only beside a published count of five or more results
                "shown": (produced.get(t.group) or 0) >= PUBLIC_MIN_CELL
                and t.median_days is not None,
            }
            for t in aa.time_to_first_result(rows, "income_group", order["income_group"])
        ]
        # each award's programme (its chain's first award, outcomes19): the change across
        # cycles pools the earlier cycles with a renewed programme once (outcomes19b)
        roots = results_queries.programme_of(
            reader, [int(r.proposal_id) for c in calls for r in rows_of[c.id]]
        )
        cycles = []
        for c in calls:
            c_rows = rows_of[c.id]
            # the cycle's figures as its own public page has them (the same cells hidden)
            both = funnels if c.id == call_id else funnels_of(c)
            funnel = both["income_group"]
            made = {r["group"]: r["count"] for r in funnel if r["stage"] == "produced_results"}
            low = [r for r in c_rows if r.groups.get("income_group") in LOW_INCOME]
            low_made = [made[g] for g in LOW_INCOME if g in made]
            cycles.append(
                {
                    "call_id": c.id,
                    "cycle": f"{c.code} ({c.cycle})",
                    "awarded": len(c_rows),
                    "produced": made.get("all", 0),
                    "low_awarded": len(low),
                    "low_produced": None
                    if any(v is None for v in low_made)
                    else sum(v or 0 for v in low_made),
                    # each group's awards and awards with results (None: hidden), for
                    # the change across cycles (outcomes16)
                    "groups": {
                        by: {
                            r["group"]: [r["awarded"], r["count"]]
                            for r in both[by]
                            if r["stage"] == "produced_results"
                        }
                        for by in CHANGE_BYS
                    },
                    # each award's programme and groups (never shown: the public list
                    # of awarded programmes names each renewal and its PI's country)
                    "programmes": [
                        [
                            roots.get(int(r.proposal_id), int(r.proposal_id)),
                            {by: r.groups.get(by, "unknown") for by in CHANGE_BYS},
                        ]
                        for r in c_rows
                    ],
                }
            )
        # first and repeat access (the office report's table), its small counts hidden
        firsts = after_award_data.first_access(reader, calls)[call_id]
        access = aa.public_access(rows, firsts, PUBLIC_BYS, order, PUBLIC_MIN_CELL)
        # the course follow-up waves' response (outcomes18), its small counts hidden
        # each wave's tables kept as releases of their own page and audited with them
        waves = results_queries.wave_responses(reader, [call_id], today)
        wave_rows = [
            dataclasses.replace(r, follow_up_waves=waves.get(int(r.proposal_id), {})) for r in rows
        ]
        wave_releases: dict[int, od.Release] = {}
        new_waves: dict[str, dict[int, dict[str, Any]]] = {}
        for months in aa.wave_months(wave_rows):
            page = wave_page(months)
            kept_w = releases(reader, [call_id], page).get(call_id, [])
            rel = aa.wave_release(
                wave_rows, months, PUBLIC_BYS, order, PUBLIC_MIN_CELL, [r for _n, r in kept_w]
            )
            if rel is None:
                continue
            wave_releases[months] = rel
            if not kept_w or kept_w[-1][1] != rel:
                new_waves[page] = {call_id: {"number": len(kept_w) + 1, "body": rel.to_data()}}
        follow = aa.public_follow_up_response(
            wave_rows, PUBLIC_BYS, order, PUBLIC_MIN_CELL, wave_releases
        )
        # the people trained after a course by their own country (outcomes22)
        awarded = {r.proposal_id for r in rows}
        trained = {
            str(pid): where
            for pid, where in results_queries.trained_countries(reader, [call_id]).items()
            if str(pid) in awarded
        }
        codes = {c for where in trained.values() for c in where if c}
        # kept as releases of their own page, hidden cells staying hidden (outcomes22b)
        kept_t = releases(reader, [call_id], TRAINED_PAGE).get(call_id, [])
        rel_t = aa.trained_release(
            trained,
            after_award_data.country_groups(codes),
            PUBLIC_BYS,
            order,
            PUBLIC_MIN_CELL,
            [r for _n, r in kept_t],
        )
        if rel_t is not None and (not kept_t or kept_t[-1][1] != rel_t):
            new_waves[TRAINED_PAGE] = {
                call_id: {"number": len(kept_t) + 1, "body": rel_t.to_data()}
            }
        trained_from = aa.trained_rows(rel_t)
        return {
            "funnels": funnels,
            "times": times,
            "cycles": cycles,
            "access": access,
            "trained_from": trained_from,
            "follow_up_response": follow,
            "new_wave_releases": new_waves,
            "new_releases": new,
        }

    key = ("outcomes.after_award.public", call_id, today)
    return PUBLIC_AFTER_AWARD.get(session, key, compute)


#: the public page whose releases ``public_releases`` keeps (``outcomes.models``)
AFTER_AWARD_PAGE = "after_award"

#: the page under which the after-award page's tables of the people trained by their
#: own country are kept as releases (outcomes22b)
TRAINED_PAGE = "trained_from"


def wave_page(months: int) -> str:
    """The page under which the public after-award page's tables of one course follow-up
    wave are kept as releases (outcomes18): ``follow_up_6``, ``follow_up_12``."""
    return f"follow_up_{months}"


#: the public figures page's declines table split by reason (``outcomes.figures``)
FIGURES_DECLINES_PAGE = "figures_declines"


def releases(
    session: Session, call_ids: Sequence[int], page: str
) -> dict[int, list[tuple[int, od.Release]]]:
    """Each call's releases of ``page`` so far, oldest first, with their numbers (one
    statement for all the calls)."""
    out: dict[int, list[tuple[int, od.Release]]] = {}
    if not call_ids:
        return out
    for row in session.scalars(
        select(PublicRelease)
        .where(PublicRelease.call_id.in_(call_ids), PublicRelease.page == page)
        .order_by(PublicRelease.call_id, PublicRelease.number)
    ):
        out.setdefault(row.call_id, []).append((row.number, od.Release.from_data(row.body)))
    return out


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities (an undefined estimate) become None, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def trend(
    session: Session,
    call: Call,
    ctx: od.DivideContext | None = None,
    records: list[od.ApplicantRecord] | None = None,
    records_of: Callable[[Session, Call], list[od.ApplicantRecord]] | None = None,
) -> list[dict[str, Any]]:
    """Access ratios by income group across the cycles (calls) of the same facility that
    have released their decisions, and this call (``after_award_data.facility_cycles``): a
    call still open, or a draft, has awarded nothing yet, and its zero ratios are no figure
    (a general call open beside a decided rapid-access round, the next round's draft).
    Shares are of one unit: a cycle gives one entry per unit (``unit``; ``""`` for a call
    without named units), never amounts of two units added together."""
    calls = after_award_data.facility_cycles(session, call)
    ctx = ctx or divide("income_group", call.closes_at.year)
    out = []
    for c in calls:
        recs = (
            records
            if c.id == call.id and records is not None
            else (records_of or applicant_records)(session, c)
        )
        # one entry per unit of the cycle: a vessel's berths and dives are shared out
        # each alone (a cycle that awarded nothing has one entry of zero shares)
        by_unit = od.awarded_by_unit(recs, "income_group") or {"": {}}
        for unit, amounts in by_unit.items():
            (t,) = od.access_ratio_trend([(c.cycle, amounts)], ctx.researcher_share)
            out.append(
                {
                    "cycle": t.cycle,
                    "unit": unit,
                    "ratios": [dataclasses.asdict(a) for a in t.ratios],
                }
            )
    return out


def report_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)


def report_csv(data: dict[str, Any]) -> str:
    """The funnel tables as one CSV (grouping, group, stage, counts, rates, amounts),
    then the after-award section (:func:`after_award_csv_rows`).

    The ``amount_*`` columns hold the amounts in the call's one unit, and are empty for a
    call with resources in several units (berths and dives are never added together): it
    gets one ``amount:<unit>`` column per unit instead, the stage's amount (requested,
    awarded or scheduled) in that unit alone."""
    units = [u for u in data["call"]["units"] if u] if len(data["call"]["units"]) > 1 else []
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "grouping",
            "group",
            "stage",
            "count",
            "applied",
            "rate",
            "rate_low",
            "rate_high",
            "mean_grade",
            "mean_rank",
            "amount_requested",
            "amount_awarded",
            "amount_scheduled",
            *(f"amount:{u}" for u in units),
        ]
    )
    for by, rows in data["funnels"].items():
        for r in rows:
            w.writerow(
                [
                    by,
                    r["group"],
                    r["stage"],
                    r["count"],
                    r["applied"],
                    r["rate"],
                    r["rate_low"],
                    r["rate_high"],
                    r["mean_grade"],
                    r["mean_rank"],
                    r["amount_requested"],
                    r["amount_awarded"],
                    r["amount_scheduled"],
                    *(r["amounts"].get(u, 0.0) for u in units),
                ]
            )
    for row in after_award_csv_rows(data.get("after_award") or {}):
        w.writerow(row + [""] * (6 + len(units)))
    # results listed by several awards of the facility (outcomes18): the identifier in
    # ``group``, the number of awards in ``count``, their codes in ``applied``
    for x in (data.get("after_award") or {}).get("shared_results", []):
        codes = " ".join(a["award"] for a in x["awards"])
        w.writerow(["", x["id"], f"shared_result:{x['kind']}", len(x["awards"]), codes]
                   + [""] * (8 + len(units)))  # fmt: skip
    # awards declined by their applicants: stage ``declined:<reason>`` (and ``declined``),
    # the count of the group's awarded in ``applied``
    for by, rows in (data.get("declines") or {}).get("by", {}).items():
        for r in rows:
            w.writerow([by, r["group"], "declined", r["declined"], r["awarded"]]
                       + [""] * (8 + len(units)))  # fmt: skip
            for reason, n in r["reasons"].items():
                w.writerow([by, r["group"], f"declined:{reason}", n, r["awarded"]]
                           + [""] * (8 + len(units)))  # fmt: skip
    return buf.getvalue()


def renews_in_trend(aa: dict[str, Any]) -> bool:
    """Whether an award of the report's trend over the cycles renews a programme begun in
    an earlier cycle (outcomes20): only then do the page, the PDF and the CSV show the
    programmes begun beside the awards (the API's rows always have them)."""
    return any(r.get("programmes", r["awarded"]) != r["awarded"] for r in aa.get("trend") or [])


def after_award_csv_rows(aa: dict[str, Any]) -> list[list[Any]]:
    """The report's after-award section as CSV rows (grouping, group, stage, count,
    applied, rate, rate_low, rate_high), the figures of the JSON and the page: stage
    ``after_award:<stage>`` (count of the awarded in ``applied``, share and interval),
    ``use:<figure>`` (``results.domain.use_figures`` summed: awarded and used by unit,
    hours lost, loans, samples, participants), ``results:<kind>``, and
    ``follow_up:<figure>`` (people trained, women among them and the people trained
    in the reports that counted women, ``people_trained_gender_counted``, sites set up and
    running, the participants reporting then, the median yield ratio), each group's total
    in ``count``; ``follow_up_response:<months>`` (a course's participants who answered
    that follow-up wave in ``count``, those due by the report's day in ``applied``, the
    rate and its Wilson interval); ``time_to_first_result:median_days`` (its interval in ``rate_low`` and
    ``rate_high``) and ``time_to_first_result:with_result``; the cycle trend by income
    group, ``trend:<cycle>:awarded`` (of ``applied``), ``trend:<cycle>:produced_results``
    (of the awarded), ``trend:<cycle>:awarded_share`` and ``:researcher_share``, and
    where an award of the cycles renews a programme ``trend:<cycle>:programmes`` (the
    programmes begun in the cycle, of its awards in ``applied``; outcomes20);
    ``result_share`` (the group's results in
    ``count``, its awards in ``applied``, its share of the results and interval) and
    ``result_share:difference`` (``count``: whether it is judged; the share of results
    minus the share of awards and its interval); ``access:first_time`` (awards to a PI
    with no award in an earlier cycle of the facility, of the awarded, share and
    interval), ``access:repeat`` and ``access:institution_first_time`` (of the awards
    whose PI's institution is recorded, in ``applied``); ``change:awards`` and
    ``change:results`` by income group and LDC status (the group's awards, or awards with
    results, of the cycle's in ``count`` and ``applied``, the share in ``rate``), their
    ``:earlier`` (the facility's earlier cycles pooled) and ``:difference`` (the share
    now minus the earlier one, Newcombe 95 % interval in ``rate_low``, ``rate_high``;
    the earlier cycles count a renewed programme once); ``programmes`` (outcomes19: over
    the facility's cycles up to this one, the programmes in ``count``, a renewal counted
    once, each cycle's awards in ``applied``) and ``programmes:continuing`` (the awards
    that continue an earlier one)."""
    out: list[list[Any]] = []
    for by, stage_rows in (aa.get("funnels") or {}).items():
        for r in stage_rows:
            out.append(
                [by, r["group"], f"after_award:{r['stage']}", r["count"], r["awarded"],
                 r["rate"], r["rate_low"], r["rate_high"]]
            )  # fmt: skip
        for u in (aa.get("use") or {}).get(by, []):
            figures = {**u["figures"], "publications_per_award": u["publications_per_award"]}
            for key, value in figures.items():
                out.append([by, u["group"], f"use:{key}", value, u["awarded"], "", "", ""])
        for x in (aa.get("results") or {}).get(by, []):
            for key in ("with_results", "publications", "datasets", "software", "patents"):
                value = x.get(key, 0)  # a report kept from before patents were counted
                out.append([by, x["group"], f"results:{key}", value, x["awarded"], "", "", ""])
        for x in (aa.get("result_shares") or {}).get(by, []):
            out.append(
                [by, x["group"], "result_share", x["results"], x["awards"], x["result_share"],
                 x["result_share_low"], x["result_share_high"]]
            )  # fmt: skip
            out.append(
                [by, x["group"], "result_share:difference", x["judged"], x["awards"],
                 x["difference"], x["difference_low"], x["difference_high"]]
            )  # fmt: skip
        for x in (aa.get("results_per_award") or {}).get(by, []):
            out.append(
                [by, x["group"], "results_per_award", x["results"], x["awards"], x["per_award"],
                 x["per_award_low"], x["per_award_high"]]
            )  # fmt: skip
            if x["group"] != "all":
                out.append(
                    [by, x["group"], "results_per_award:difference", x["judged"], x["awards"],
                     x["difference"], x["difference_low"], x["difference_high"]]
                )  # fmt: skip
        for x in (aa.get("access") or {}).get(by, []):
            out += [
                [by, x["group"], "access:first_time", x["first_time"], x["awarded"],
                 x["first_time_rate"], x["first_time_low"], x["first_time_high"]],
                [by, x["group"], "access:repeat", x["repeat"], x["awarded"], "", "", ""],
                [by, x["group"], "access:institution_first_time", x["institution_first_time"],
                 x["institution_known"], "", "", ""],
            ]  # fmt: skip
        for x in (aa.get("programmes") or {}).get(by, []):
            # over the facility's cycles up to this one (outcomes19): each cycle's awards
            # in ``applied``, the programmes (a renewal counted once) in ``count``
            out += [
                [by, x["group"], "programmes", x["programmes"], x["awards"], "", "", ""],
                [by, x["group"], "programmes:continuing", x["continuing"], x["awards"], "", "",
                 ""],
            ]  # fmt: skip
        for f in (aa.get("follow_up") or {}).get(by, []):
            for key in ("reporting", "participants", "people_trained", "people_trained_women",
                        "people_trained_gender_counted", "demo_sites", "sites_running_1y", "reporting_1y", "sites_running_3y",
                        "reporting_3y", "area_ha", "yields", "median_yield_ratio"):  # fmt: skip
                out.append([by, f["group"], f"follow_up:{key}", f[key], f["awarded"], "", "", ""])
        # the people trained by their own countries' group, and the demonstration sites'
        # yields by unit (outcomes22): the sites in ``count``, the mean yield in ``rate``;
        # ``:baseline``, the mean local check, and ``:ratio``, the median ratio, in ``rate``
        for f in (aa.get("trained_from") or {}).get(by, []):
            out.append([by, f["group"], "trained_from:people_trained", f["people_trained"], "",
                        "", "", ""])  # fmt: skip
        for f in (aa.get("site_yields") or {}).get(by, []):
            at = f"site_yield:{f['unit']}"
            out += [
                [by, f["group"], at, f["sites"], "", f["mean_yield"], "", ""],
                [by, f["group"], f"{at}:baseline", f["sites"], "", f["mean_baseline"], "", ""],
                [by, f["group"], f"{at}:ratio", f["sites"], "", f["median_ratio"], "", ""],
            ]
        for f in (aa.get("follow_up_response") or {}).get(by, []):
            out.append(
                [by, f["group"], f"follow_up_response:{f['months']}", f["answered"], f["due"],
                 f["rate"], f["rate_low"], f["rate_high"]]
            )  # fmt: skip
        for t in (aa.get("time_to_first_result") or {}).get(by, []):
            out.append(
                [by, t["group"], "time_to_first_result:median_days", t["median_days"],
                 t["awarded"], "", t["median_low"], t["median_high"]]
            )  # fmt: skip
            out.append(
                [by, t["group"], "time_to_first_result:with_result", t["with_result"],
                 t["awarded"], "", "", ""]
            )  # fmt: skip
    for by, changes in (aa.get("share_change") or {}).items():
        for x in changes:
            at = f"change:{x['measure']}"
            out += [
                [by, x["group"], at, x["count"], x["total"], x["share"], "", ""],
                [by, x["group"], f"{at}:earlier", x["earlier_count"], x["earlier_total"],
                 x["earlier_share"], "", ""],
                [by, x["group"], f"{at}:difference", "", "", x["difference"],
                 x["difference_low"], x["difference_high"]],
            ]  # fmt: skip
    # the programmes begun in each cycle (outcomes20), only where an award of the cycles
    # renews a programme: a report without one is as it was
    begun = renews_in_trend(aa)
    for r in aa.get("trend") or []:
        at = f"trend:{r['cycle']}"
        out += [
            ["income_group", r["group"], f"{at}:awarded", r["awarded"], r["applied"],
             r["award_rate"], r["award_rate_low"], r["award_rate_high"]],
            ["income_group", r["group"], f"{at}:produced_results", r["produced_results"],
             r["awarded"], r["result_rate"], r["result_rate_low"], r["result_rate_high"]],
            ["income_group", r["group"], f"{at}:awarded_share", r["awarded_share"], r["awarded"],
             "", "", ""],
            ["income_group", r["group"], f"{at}:researcher_share", r["researcher_share"], "",
             "", "", ""],
        ]  # fmt: skip
        if begun:
            out.append(["income_group", r["group"], f"{at}:programmes", r["programmes"],
                        r["awarded"], "", "", ""])  # fmt: skip
    return out


# --------------------------------------------------------------------------- reviewer effects


def reviewer_effects(
    session: Session,
    call: Call,
    *,
    q: float = 0.05,
    grades: list[tuple[int, int, float | None]] | None = None,
    pi_countries: dict[int, str | None] | None = None,
    reviewer_countries: dict[int, str | None] | None = None,
) -> dict[str, Any]:
    """Reviewer-group x applicant-group effects (``optim.bias``) with their power statement.

    Each cell: the reviewer-group effect with its 95 % interval and BH-adjusted p-value (one
    family at ``q``), the plain outcome difference between the applicant groups beside it, and
    the minimum detectable bias; ``statement`` is the report's power sentence.  When the call's
    policy corrects for these effects, ``correction`` summarises the latest ranking's
    correction (counts only: which proposals moved is on the ranking page)."""
    from opencall.optim.bias import BiasData, interaction_model

    rs = review_settings(call.review_settings)
    # (proposal id, reviewer id, grade): the columns, not the ORM pairs
    pairs = grades if grades is not None else rq.submitted_grades(session, call)
    out: dict[str, Any] = {
        "alpha": q,
        "power": 0.8,
        "n_reviews": len(pairs),
        "tested": 0,
        "flagged": 0,
        "mdb": {"min": None, "median": None, "max": None},
        "cells": [],
        "method": "",
        "statement": "No reviewer-group effect could be tested: too few reviews.",
        "correction": {"enabled": rs.bias_correction},
        "skipped": [],
    }
    run = rq.latest_run(session, call, "calibration")
    if run is not None and "bias_correction" in run.summary:
        bc = run.summary["bias_correction"]
        out["correction"].update(
            {
                k: bc.get(k)
                for k in ("flagged", "reviews_changed", "ranks_changed", "max_rank_shift")
            }
        )
        out["correction"]["cells"] = [c["sentence"] for c in bc.get("cells", [])]
    if not pairs:
        return out
    prop_ids = sorted({p for p, _r, _g in pairs})
    rev_ids = sorted({r for _p, r, _g in pairs})
    pidx = {p: i for i, p in enumerate(prop_ids)}
    ridx = {r: j for j, r in enumerate(rev_ids)}
    # the records' PI countries serve when every reviewed proposal has a record (a
    # withdrawn proposal's reviews still count here, and its PI is then read)
    known = pi_countries if pi_countries and all(p in pi_countries for p in prop_ids) else None
    rgroups, agroups = rq.bias_groups(
        session, prop_ids, rev_ids, pi_countries=known, reviewer_countries=reviewer_countries
    )
    sign = -1.0 if rs.lower_is_better else 1.0
    model = interaction_model(
        BiasData(
            proposal_idx=np.array([pidx[p] for p, _r, _g in pairs], dtype=np.int64),
            reviewer_idx=np.array([ridx[r] for _p, r, _g in pairs], dtype=np.int64),
            grade=np.array([sign * g for _p, _r, g in pairs], dtype=np.float64),  # type: ignore[operator]
            n_proposals=len(prop_ids),
            n_reviewers=len(rev_ids),
            reviewer_groups=rgroups,
            applicant_groups=agroups,
        ),
        alpha=q,
    )
    mdb = model.mdb_summary()
    out.update(
        {
            # what the model did not test and why (one applicant group, too few
            # reviewers), as messages a page says in the reader's language, as the
            # chair's ranking page does
            "skipped": list(model.skipped_messages),
            "tested": len(model.interactions),
            "flagged": len(model.flagged),
            "mdb": mdb,
            "method": model.method,
            "cells": [
                {
                    **dataclasses.asdict(c),
                    "direction": c.direction,
                    "sentence": c.describe(),
                    "power_sentence": c.power_sentence(),
                }
                for c in model.interactions
            ],
        }
    )
    if mdb["min"] is not None and mdb["median"] is not None:
        out["statement"] = (
            f"With these reviews, a bias of at least {mdb['min']:.2f} points between a reviewer "
            f"group and an applicant group would have been detected with 80 % probability "
            f"(the best-covered of the {len(model.interactions)} pairs tested; "
            f"{mdb['median']:.2f} points for the median pair)."
        )
    return out


def reviewer_effects_pdf(
    data: dict[str, Any],
    lang: str = "en",
    statement: str | None = None,
    findings: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The reviewer-effects part of the PDF: a summary sentence and one table (its
    decimals in ``lang``'s decimal sign); ``statement``: the minimum detectable bias and
    ``findings``: the flagged effects' sentences, as the reader's language says them
    (``outcomes.report.effects_findings``; the English ones kept in ``data`` otherwise)."""

    def d(v: float, signed: bool = True) -> str:
        return local_decimal(v, lang, 2, signed=signed)

    eff = data.get("reviewer_effects")
    if not eff:
        return "", []
    flagged = [c for c in eff["cells"] if c["significant"]]
    text = " " + (
        findings
        if findings is not None
        else " ".join(c["sentence"] for c in flagged)
        if flagged
        else f"No reviewer-group effect is significant among the {eff['tested']} pairs tested."
    )
    text += " " + (statement or eff["statement"])
    rows = [
        [
            c["reviewer_group"],
            f"{c['applicant_group']} vs {c['reference_group']}",
            f"{d(c['estimate'])} ({d(c['ci_low'])} to {d(c['ci_high'])})",
            local_general(c["p_adjusted"], lang),
            d(c["mdb"], signed=False),
            d(c["marginal_difference"]),
        ]
        for c in sorted(eff["cells"], key=lambda c: c["p_value"])[:20]
    ]
    table = {
        "title": "Reviewer-group effects (20 smallest p-values)",
        "columns": [
            "reviewers",
            "applicants",
            "effect (95 % interval)",
            "adj. p",
            "detectable",
            "outcome diff.",
        ],
        "rows": rows,
    }
    return text, [table] if rows else []


# ---------------------------------------------------------------- public figures


def applied_pis(
    session: Session, call_id: int, states: tuple[str, ...]
) -> list[tuple[int, int | None, str, str | None, str | None]]:
    """(proposal id, PI user id, PI e-mail, income group, UN region) of the call's
    proposals in ``states`` (see :mod:`opencall.outcomes.figures`)."""
    rows = session.execute(
        select(
            Proposal.id,
            TeamMember.user_id,
            TeamMember.email,
            Country.income_group,
            Country.un_region,
        )
        .join(TeamMember, (TeamMember.proposal_id == Proposal.id) & (TeamMember.role == "pi"))
        .join(Country, Country.iso3 == TeamMember.country_iso3, isouter=True)
        .where(Proposal.call_id == call_id, Proposal.status.in_(states))
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def awarded_programmes(
    session: Session, call_id: int
) -> dict[int, tuple[str, str, Country | None]]:
    """proposal id -> (code, title, the PI's country) of every proposal of the call
    with an award, in one query (the public list of awarded programmes)."""
    awarded = select(Award.proposal_id).where(Award.call_id == call_id)
    rows = session.execute(
        select(Proposal.id, Proposal.code, Proposal.title, Country)
        .join(
            TeamMember,
            (TeamMember.proposal_id == Proposal.id) & (TeamMember.role == "pi"),
            isouter=True,
        )
        .join(Country, Country.iso3 == TeamMember.country_iso3, isouter=True)
        .where(Proposal.id.in_(awarded))
        .order_by(Proposal.id, TeamMember.id)
    )
    out: dict[int, tuple[str, str, Country | None]] = {}
    for pid, code, title, country in rows:
        out.setdefault(pid, (code, title, country))  # the first PI, as p.members has them
    return out


def awarded_proposal_ids(session: Session, call_id: int) -> set[int]:
    return set(session.scalars(select(Award.proposal_id).where(Award.call_id == call_id)))


def declined_pis(
    session: Session, call_id: int
) -> list[tuple[int, str, str | None, str | None, bool | None]]:
    """(proposal id, reason, income group, UN region, LDC) of the PI of each award of the
    call declined by its applicant (``outcomes.figures.declines_table``)."""
    rows = session.execute(
        select(
            AwardDecline.proposal_id,
            AwardDecline.reason,
            Country.income_group,
            Country.un_region,
            Country.ldc,
        )
        .join(
            TeamMember,
            (TeamMember.proposal_id == AwardDecline.proposal_id) & (TeamMember.role == "pi"),
            isouter=True,
        )
        .join(Country, Country.iso3 == TeamMember.country_iso3, isouter=True)
        .where(AwardDecline.call_id == call_id)
        .order_by(AwardDecline.proposal_id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def continued_awards(session: Session, call_id: int) -> dict[int, tuple[str, str, str] | None]:
    """{proposal id: (the earlier award's code, its call's code, its cycle), or None
    where that call's results are not public} of the call's awarded proposals that
    continue an earlier award (outcomes19; the public list of awarded programmes says so:
    the earlier code is named only where its own list is public). One statement."""
    earlier = aliased(Proposal)
    rows = session.execute(
        select(Proposal.id, earlier.code, Call.code, Call.cycle, Call.status)
        .join(earlier, earlier.id == Proposal.continues_id)
        .join(Call, Call.id == earlier.call_id)
        .where(Proposal.id.in_(select(Award.proposal_id).where(Award.call_id == call_id)))
    )
    return {
        pid: (code, call_code, cycle) if status in RESULTS_STATES else None
        for pid, code, call_code, cycle, status in rows
    }
