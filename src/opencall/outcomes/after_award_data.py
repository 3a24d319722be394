"""Loads the funnel after the award for a call (reads only) and computes it with
``outcomes.after_award``: stages used / completed / produced results by group, the
results by kind (publications, datasets, software) by group,
time from award to first result, and the facility's cycle-over-cycle trend
with the WDI researcher shares beside it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award
from opencall.allocation.services import CYCLE_ORDER
from opencall.calls.models import Call
from opencall.outcomes import after_award as aa
from opencall.outcomes import context as oc
from opencall.outcomes import domain as od
from opencall.proposals.models import Proposal, TeamMember
from opencall.proposals.queries import earlier_in_programme
from opencall.reference import loader
from opencall.results import queries as resq

BYS: tuple[od.GroupBy, ...] = ("income_group", "un_region", "ldc")
ORDER: dict[str, Sequence[str]] = {"income_group": od.INCOME_GROUPS, "ldc": od.LDC_LABELS}


def rows_for_call(
    session: Session, call: Call, records: Sequence[od.ApplicantRecord], today: dt.date
) -> list[aa.AfterAwardRow]:
    return rows_by_call(session, [(call, records)], today)[call.id]


def rows_by_call(
    session: Session,
    calls: Sequence[tuple[Call, Sequence[od.ApplicantRecord]]],
    today: dt.date,
    *,
    figures: bool = True,
) -> dict[int, list[aa.AfterAwardRow]]:
    """{call id: its awards' rows after the award} for (call, its applicant records)
    pairs: the post-award stages of every call read at once (``stages_of_calls``);
    without ``figures``, the stages, days to a first result and results by kind only
    (no follow-up, use or DOIs: the public page and the trend show none)."""
    stages_of = resq.stages_of_calls(session, [c for c, _ in calls], today=today, figures=figures)
    out: dict[int, list[aa.AfterAwardRow]] = {}
    for call, records in calls:
        by_id = {r.proposal_id: r for r in records}
        follow = max(0, (today - resq.awarded_on(call)).days)
        rows = out[call.id] = []
        for pid, st in sorted(stages_of[call.id].items()):
            rec = by_id.get(str(pid))
            if rec is None:
                continue
            rows.append(
                aa.AfterAwardRow(
                    proposal_id=str(pid),
                    groups={by: od.group_of(rec, by) for by in BYS},
                    used=bool(st["used"]),
                    completed=bool(st["completed"]),
                    produced_results=bool(st["produced_results"]),
                    days_to_first_result=st["days_to_first_result"],
                    follow_up_days=follow,
                    follow_up=st.get("follow_up") or {},
                    follow_up_waves=st.get("follow_up_waves") or {},
                    outputs=st.get("outputs") or {},
                    result_dois=st.get("result_dois") or {},
                    use=st.get("use") or {},
                    site_yields=tuple(st.get("site_yields") or ()),
                )
            )
    return out


def country_groups(codes: Collection[str]) -> dict[str, dict[str, str]]:
    """{alpha-3: {grouping: group}} of the reference data in use, for each of ``codes``
    (the countries of the people trained, outcomes22), by the groupings of ``BYS``."""
    known = loader.countries()
    out: dict[str, dict[str, str]] = {}
    for iso3 in codes:
        c = known.get(iso3)
        income = c.income_group if c is not None else ""
        out[iso3] = {
            "income_group": income if income in od.INCOME_GROUPS else od.UNKNOWN,
            "un_region": (c.un_region if c is not None else "") or od.UNKNOWN,
            "ldc": od.LDC_LABELS[0] if c is not None and c.ldc else od.LDC_LABELS[1],
        }
    return out


def facility_cycles(session: Session, call: Call) -> list[Call]:
    """The facility's calls with awards, oldest first in the allocation's
    ``CYCLE_ORDER`` (this call included): the calls before ``call`` are its
    earlier cycles (``earlier_cycle``), as the share rule's group ``first_time`` counts them."""
    return [
        c
        for c in session.scalars(
            select(Call).where(Call.facility_id == call.facility_id).order_by(*CYCLE_ORDER)
        )
        if c.id == call.id or c.decisions_released_at is not None
    ]


def first_access(
    session: Session, calls: Sequence[Call]
) -> dict[int, dict[str, tuple[bool, bool | None]]]:
    """{call id: {proposal id: (first, institution_first)}} for the cycles of a facility
    (``calls``, oldest first, as :func:`facility_cycles` gives them): whether the award's
    PI had no award in an earlier cycle of these, and whether the PI's institution (as
    recorded on the proposal's team; None: not recorded) had none. One query for all the
    cycles; a declined award holds no award, so it is no earlier access. An award that
    continues a programme with an award in an earlier of these cycles (a renewal, a
    programme transferred to a new PI, outcomes19b; or one that went on at a sister
    facility and came back, outcomes20: the chain of awards it continues at any facility,
    ``proposals.queries.earlier_in_programme``) is a repeat access, of the PI and of the
    institution: the programme had access before, and the programmes table counts it
    once, with its earlier award; a programme whose earlier awards were all at other
    facilities is new here."""
    ids = [c.id for c in calls]
    awarded: dict[int, dict[int, tuple[int, int | None]]] = {i: {} for i in ids}
    continues: dict[int, int | None] = {}
    for call_id, pid, pi, inst, earlier in session.execute(
        select(
            Award.call_id,
            Award.proposal_id,
            Proposal.pi_user_id,
            TeamMember.institution_id,
            Proposal.continues_id,
        )
        .join(Proposal, Proposal.id == Award.proposal_id)
        .outerjoin(
            TeamMember,
            and_(TeamMember.proposal_id == Proposal.id, TeamMember.user_id == Proposal.pi_user_id),
        )
        .where(Award.call_id.in_(ids))
    ):
        awarded[call_id][pid] = (pi, inst)
        continues[pid] = earlier
    # each continuing award's programme: the awards it continues, at any facility
    chains = earlier_in_programme(session, [pid for pid, e in continues.items() if e])
    seen_pis: set[int] = set()
    seen_insts: set[int] = set()
    seen_awards: set[int] = set()
    out: dict[int, dict[str, tuple[bool, bool | None]]] = {}
    for i in ids:  # a cycle's awards are each other's equals: compared with earlier ones
        out[i] = {}
        for pid, (pi, inst) in awarded[i].items():
            renewal = bool(chains.get(pid, set()) & seen_awards)
            out[i][str(pid)] = (
                pi not in seen_pis and not renewal,
                None if inst is None else inst not in seen_insts and not renewal,
            )
        seen_awards |= set(awarded[i])
        seen_pis |= {pi for pi, _inst in awarded[i].values()}
        seen_insts |= {inst for _pi, inst in awarded[i].values() if inst is not None}
    return out


#: the groupings whose shares the report compares across cycles (``share_change``)
CHANGE_BYS: tuple[od.GroupBy, ...] = ("income_group", "ldc")


def _cycle_counts(rows: Sequence[aa.AfterAwardRow], by: str) -> dict[str, tuple[int, int]]:
    """{group: (awards, awards with results)} of one cycle, ``"all"`` its total; groups
    in the report's order."""
    out: dict[str, tuple[int, int]] = {}
    for g in aa.groups_in_order((r.groups.get(by, "unknown") for r in rows), ORDER.get(by)):
        mine = [r for r in rows if r.groups.get(by, "unknown") == g]
        out[g] = (len(mine), sum(1 for r in mine if r.produced_results))
    out["all"] = (len(rows), sum(1 for r in rows if r.produced_results))
    return out


def section(
    session: Session,
    call: Call,
    records: Sequence[od.ApplicantRecord],
    records_of: Callable[[Session, Call], list[od.ApplicantRecord]],  # see queries.report
    *,
    today: dt.date | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The report's "after the award" section as plain data. The cycle trend's share of
    the world's researchers is the report's context figure (``queries.context``: each
    country's latest figure within ``context.WINDOW_YEARS`` of the call's closing year,
    missing ones imputed), so the page and the PDF show one share per group."""
    today = today or dt.datetime.now(dt.UTC).date()
    rows = rows_for_call(session, call, records, today)
    # a renewal's results that its programme's earlier awards listed already count for
    # the programme, on the award that listed them first, not again here (outcomes19):
    # ``results.queries.stages_of_calls`` leaves them out of its rows (outcomes19b)
    out: dict[str, Any] = {
        "awarded": len(rows),
        "funnels": {},
        "time_to_first_result": {},
        "follow_up": {},
        "results": {},
        "use": {},
        "result_shares": {},
        "results_per_award": {},
        # results listed by several awards of the facility, this call's among them
        # (outcomes18): for the office to check a claim or a programme's renewal
        "shared_results": [
            x
            for x in resq.shared_results(session, facility_cycles(session, call))
            if any(a["call"] == call.code and a["cycle"] == call.cycle for a in x["awards"])
        ],
    }
    # the people trained by their own countries and the demonstration sites' yields
    # (outcomes22): only where a report gives them, so that a report without is as it was
    trained = {c for r in rows for c in (r.follow_up.get("trained_by_country") or {})}
    where = country_groups(trained)
    for by in BYS:
        if any(r.follow_up for r in rows):
            out["follow_up"][by] = [
                dataclasses.asdict(r) for r in aa.follow_up(rows, by, ORDER.get(by))
            ]
        if trained:
            out.setdefault("trained_from", {})[by] = [
                dataclasses.asdict(r) for r in aa.trained_from(rows, by, where, ORDER.get(by))
            ]
        if any(r.site_yields for r in rows):
            out.setdefault("site_yields", {})[by] = [
                dataclasses.asdict(r) for r in aa.site_yields(rows, by, ORDER.get(by))
            ]
        if any(r.follow_up_waves for r in rows):
            # only where a course has a wave due: a report without one is as it was
            out.setdefault("follow_up_response", {})[by] = [
                dataclasses.asdict(r) for r in aa.follow_up_response(rows, by, ORDER.get(by))
            ]
        out["use"][by] = [dataclasses.asdict(r) for r in aa.use_by_group(rows, by, ORDER.get(by))]
        out["result_shares"][by] = [
            dataclasses.asdict(r) for r in aa.result_shares(rows, by, ORDER.get(by), seed=seed)
        ]
        out["results_per_award"][by] = [
            dataclasses.asdict(r) for r in aa.results_per_award(rows, by, ORDER.get(by), seed=seed)
        ]
        out["results"][by] = [
            dataclasses.asdict(r) for r in aa.results_by_kind(rows, by, ORDER.get(by))
        ]
        out["funnels"][by] = [
            dataclasses.asdict(r) for r in aa.after_award_funnel(rows, by, ORDER.get(by))
        ]
        out["time_to_first_result"][by] = [
            dataclasses.asdict(t)
            for t in aa.time_to_first_result(rows, by, ORDER.get(by), seed=seed)
        ]
    cycles = []
    calls = facility_cycles(session, call)
    recs_of = {c.id: list(records) if c.id == call.id else records_of(session, c) for c in calls}
    # the earlier cycles' rows read at once (not a set of queries per cycle)
    # (their stages only: the trend counts the awards with results)
    rows_of = rows_by_call(
        session, [(c, recs_of[c.id]) for c in calls if c.id != call.id], today, figures=False
    )
    rows_of[call.id] = rows
    # the awards of the facility's cycles against their programmes (outcomes19): a
    # renewal is an award of its cycle (the capacity is given per cycle) and the same
    # programme, its beneficiaries counted once; the trend counts each programme in the
    # cycle it began (outcomes20)
    roots = resq.programme_of(session, [int(r.proposal_id) for c in calls for r in rows_of[c.id]])
    programme = {str(k): str(v) for k, v in roots.items()}
    renewals = aa.renewals_by_cycle([rows_of[c.id] for c in calls], programme)
    for c, renewed in zip(calls, renewals, strict=True):
        recs = recs_of[c.id]
        applied: dict[str, int] = {}
        for r in recs:
            g = od.group_of(r, "income_group")
            applied[g] = applied.get(g, 0) + 1
        c_rows = rows_of[c.id]
        cycles.append(aa.CycleInput(f"{c.code} ({c.cycle})", applied, c_rows, renewed))
    # queries imports this module: its context is read here, at call time
    from opencall.outcomes import queries

    year = call.closes_at.year
    researchers = queries.context(year, queries.CONTEXT_GROUPINGS)["by"]["income_group"]
    share = {g["group"]: g["share"] for g in researchers["researchers"]["groups"]}
    out["trend"] = [
        dataclasses.asdict(r)
        for r in aa.cycle_trend(cycles, "income_group", share, od.INCOME_GROUPS)
    ]
    out["trend_window"] = [year - oc.WINDOW_YEARS, year]
    # first and repeat access: each award against the facility's earlier cycles
    firsts = first_access(session, calls)[call.id]
    out["access"] = {
        by: [dataclasses.asdict(r) for r in aa.access_by_group(rows, firsts, by, ORDER.get(by))]
        for by in BYS
    }
    # each group's share of the awards and of the awards with results against the
    # facility's earlier cycles pooled (outcomes16), every count (the office's report)
    upto = calls[: [c.id for c in calls].index(call.id) + 1]
    out["continuing"] = sum(
        1 for r in rows if programme.get(r.proposal_id, r.proposal_id) != r.proposal_id
    )
    out["programmes"] = {
        by: [
            dataclasses.asdict(r)
            for r in aa.programmes_by_group(
                [rows_of[c.id] for c in upto], programme, by, ORDER.get(by)
            )
        ]
        for by in BYS
    }
    # the earlier cycles pooled count a renewed programme once (outcomes19)
    pooled = aa.programme_heads([rows_of[c.id] for c in upto[:-1]], programme)
    out["share_change"] = {
        by: aa.share_changes([_cycle_counts(r, by) for r in pooled] + [_cycle_counts(rows, by)])
        for by in CHANGE_BYS
    }
    # every cycle counts a country in the income group of the reference data in use
    out["income_classification_fy"] = loader.income_classification_fy()
    return out
