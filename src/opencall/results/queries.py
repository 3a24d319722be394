"""Reads of post-award records and results (no writes)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, case, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from opencall.allocation.models import Award, AwardEnd
from opencall.calls.models import Call
from opencall.db import utc_today
from opencall.facilities.models import CapacityPool, Facility, Provider
from opencall.people.bibliography import normalise_doi
from opencall.people.models import User
from opencall.proposals import queries as pq
from opencall.proposals.models import Proposal, TeamMember
from opencall.results import domain as d
from opencall.results.models import PostAwardRecord, ReportReminder, ResearchOutput
from opencall.scheduling.models import ScheduleEntry
from opencall.scheduling.queries import awards_of as awards_of  # the one read of them

#: a row of a call on one resource (an award, a schedule entry)
R = TypeVar("R", Award, ScheduleEntry)


def record_kinds(session: Session, proposal_id: int) -> list[str]:
    """Kinds of record that fit the proposal's awards (empty without an award)."""
    awards = awards_of(session, proposal_id)
    pools = ((d.pool_kind(p.pool_type, p.unit), p.record_kinds or ()) for _a, p in awards)
    return d.kinds_of_pools(pools) if awards else []


def record_kinds_of_call(session: Session, call: Call) -> dict[int, list[str]]:
    """:func:`record_kinds` of every award of ``call`` at once (proposal id: kinds)."""
    pools: dict[int, list[tuple[str, Sequence[str]]]] = defaultdict(list)
    for pid, pool in session.execute(
        select(Award.proposal_id, CapacityPool)
        .join(CapacityPool, CapacityPool.id == Award.pool_id)
        .where(Award.call_id == call.id)
    ):
        pools[pid].append((d.pool_kind(pool.pool_type, pool.unit), pool.record_kinds or ()))
    return {pid: d.kinds_of_pools(ps) for pid, ps in pools.items()}


def shipment_entries_of_call(session: Session, call: Call) -> dict[int, int]:
    """The schedule entries of ``call`` (a record names a planned shipment by one):
    entry id -> its proposal's id."""
    rows = session.execute(
        select(ScheduleEntry.id, ScheduleEntry.proposal_id).where(ScheduleEntry.call_id == call.id)
    )
    return {entry: pid for entry, pid in rows}


def records_of(session: Session, proposal_id: int) -> list[PostAwardRecord]:
    return list(
        session.scalars(
            select(PostAwardRecord)
            .where(PostAwardRecord.proposal_id == proposal_id)
            .order_by(PostAwardRecord.id)
        )
    )


def outputs_of(session: Session, proposal_id: int) -> list[ResearchOutput]:
    return list(
        session.scalars(
            select(ResearchOutput)
            .where(ResearchOutput.proposal_id == proposal_id)
            .order_by(ResearchOutput.year, ResearchOutput.id)
        )
    )


def counted(outputs: Sequence[ResearchOutput]) -> list[ResearchOutput]:
    """The results that count in the figures: those not retracted (a retracted one stays
    listed on the award's page, marked; ``services.retract_output``)."""
    return [o for o in outputs if o.retracted_on is None]


def awarded_proposals(session: Session, call: Call) -> list[Proposal]:
    return list(session.scalars(awarded_proposals_query(call)))


def awarded_on(call: Call) -> dt.date:
    """The day the awards were made known (decisions released, else the deadline)."""
    when = call.decisions_released_at or call.closes_at
    return when.date()


def acknowledgement_names(proposal: Proposal) -> list[str]:
    """What an acknowledgement may name: the facility, its provider, the call, the award code."""
    call = proposal.call
    return [
        call.facility.name,
        call.provider.name,
        call.code,
        proposal.code,
    ]


def team_orcids(session: Session, proposal: Proposal) -> dict[str, str]:
    """The ORCID iD of each accepted team member's account that has one, to the name
    the team knows them by: a result's author iD found here is linked to that member on
    the award's page. An account off the team is never named, whoever holds the iD."""
    rows = session.execute(
        select(User.orcid, TeamMember.name)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(
            TeamMember.proposal_id == proposal.id,
            TeamMember.status == "accepted",
            User.orcid.is_not(None),
        )
    )
    return {orcid: name for orcid, name in rows if orcid}


def output_dict(o: ResearchOutput) -> dict[str, Any]:
    return {
        "kind": o.kind,
        "doi": o.doi,
        "number": o.number,
        "title": o.title,
        "year": o.year,
        "published_on": o.published_on.isoformat() if o.published_on else None,
        "countries": list(o.countries),
        "orcids": list(o.orcids or []),
        "acknowledges": o.acknowledges,
        "source": o.source,
    }


def summary(session: Session, proposal: Proposal, today: dt.date) -> dict[str, Any]:
    """The per-award outcome summary with its stages, and its ``use`` figures and
    ``follow_up`` as the call's report sums them (:func:`stages_of_call`, one
    computation)."""
    recs = [(r.kind, r.data) for r in records_of(session, proposal.id)]
    outs = counted(outputs_of(session, proposal.id))
    s = d.outcome_summary(recs, [output_dict(o) for o in outs], today)
    s.update(d.proposal_stages(recs, len(outs)))
    s["days_to_first_result"] = d.days_to_first_result(
        awarded_on(proposal.call), [result_date(o) for o in outs]
    )
    st = stages_of_call(session, proposal.call, [proposal.id], today=today).get(proposal.id, {})
    s["use"] = st.get("use", {})
    s["follow_up"] = st.get("follow_up", {})
    return s


def result_date(o: ResearchOutput) -> dt.date:
    """When a result appeared: its date, else the middle of its year."""
    return o.published_on or dt.date(o.year, 7, 1)


def stages_of_call(
    session: Session,
    call: Call,
    proposal_ids: Collection[int] | None = None,
    *,
    today: dt.date | None = None,
) -> dict[int, dict[str, Any]]:
    """Per awarded proposal of a call (of ``proposal_ids`` only, when given): used,
    completed, produced_results, days_to_first_result (None without results), its
    results counted by kind (``outputs``: publication, dataset, software), a
    course's ``follow_up`` figures (``results.domain.follow_up_figures``; empty without a
    follow-up report), the award's ``use`` (``results.domain.use_figures``: awarded
    and used by unit, lost hours, loans, samples, participants; overdue as of ``today``)
    and its report: ``reported`` (a record or a result), ``report_due_on``,
    ``report_overdue`` and the reminders sent (``report_reminders``,
    ``last_report_reminder``).
    The one computation of these figures: the award's page, the user office's overview,
    the API, the report and its downloads all read them from here."""
    return stages_of_calls(session, [call], proposal_ids, today=today)[call.id]


def stages_of_calls(
    session: Session,
    calls: Sequence[Call],
    proposal_ids: Collection[int] | None = None,
    *,
    today: dt.date | None = None,
    figures: bool = True,
) -> dict[int, dict[int, dict[str, Any]]]:
    """{call id: :func:`stages_of_call`} of several calls (a facility's cycles) with the
    statements of one: one query per table, every call in it. Without ``figures`` only
    the stages (used, completed, produced results), the days to a first result and the
    results by kind: no DOIs, follow-up and use figures nor report reminders (the public
    after-award page and the earlier cycles' trend read 5,000 awards for those alone)."""
    today = today or utc_today()
    ids = [c.id for c in calls]
    if not ids:
        return {}
    # columns, not ORM rows: a provider's call has thousands of records (building an
    # object for each was most of the after-award section's time, bench/bench_outcomes.py)
    recs: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    # without figures, the stages alone: from the records' flags, summed up by the
    # database (one row an award), not from every record's JSON (bench/README.md,
    # "Outcomes at a provider's scale")
    flags = {} if figures else record_stages(session, ids, proposal_ids)
    if figures:
        # a record kept against one award (``award_id``: a quarter of a partition) counts
        # its operator-defined use in that award's unit, so an award over two units (CPU
        # and GPU node-hours) counts both (trialfac16: before, such use counted in none)
        rec_cols = (
            select(
                PostAwardRecord.proposal_id,
                PostAwardRecord.kind,
                PostAwardRecord.data,
                CapacityPool.unit,
            )
            .outerjoin(Award, Award.id == PostAwardRecord.award_id)
            .outerjoin(CapacityPool, CapacityPool.id == Award.pool_id)
        )
        for pid, kind, data, unit in session.execute(
            _of(rec_cols, PostAwardRecord, ids, proposal_ids).order_by(PostAwardRecord.id)
        ):
            recs[pid].append((kind, {**data, d.AWARD_UNIT: unit} if unit else data))
    awarded = _awarded_of(session, ids, proposal_ids)
    # a renewal's result that its programme's earlier award listed already is the
    # programme's, counted on that award: not a result of the renewal (outcomes19b)
    earlier = earlier_results(session, [pid for c in awarded.values() for pid in c])
    outs, kinds, dois, listed = _outputs_of(
        session, ids, proposal_ids, dois=figures, earlier=earlier
    )
    slot_hours, occupied = _pool_traits_of(session, ids, proposal_ids) if figures else ({}, {})
    reminders = (
        {
            r.proposal_id: r
            for r in session.scalars(_of(select(ReportReminder), ReportReminder, ids, proposal_ids))
        }
        if figures
        else {}
    )
    # the awards the user office ended after their PI returned them (outcomes22)
    ends = dict(session.execute(_of(select(AwardEnd.proposal_id, AwardEnd.returned), AwardEnd,
                                    ids, proposal_ids)).tuples().all())  # fmt: skip
    result: dict[int, dict[int, dict[str, Any]]] = {}
    for call in calls:
        day0 = awarded_on(call)
        out = result[call.id] = {}
        mine_awarded = awarded.get(call.id, {})
        for pid in sorted(mine_awarded):
            mine = recs.get(pid, [])
            n_outs = len(outs.get(pid, []))
            st: dict[str, Any] = (
                dict(d.proposal_stages(mine, n_outs))
                if figures
                else {"used": False, "completed": False, "produced_results": n_outs > 0}
            )
            if pid in flags:
                st["used"], st["completed"] = flags[pid]
            st["days_to_first_result"] = d.days_to_first_result(day0, outs.get(pid, []))
            st["outputs"] = dict(kinds.get(pid, {}))
            if figures:
                # a record or a result, a retracted one too (as ``reported_clause``)
                reported = bool(mine) or pid in listed
                st.update(
                    _report_figures(
                        mine,
                        mine_awarded[pid],
                        day0,
                        reported,
                        today,
                        dois.get(pid, {}),
                        slot_hours.get(pid),
                        occupied.get(pid, set()),
                    )
                )
                rem = reminders.get(pid)
                st["report_reminders"] = rem.reminders_sent if rem else 0
                st["last_report_reminder"] = rem.last_reminded_on if rem else None
            if pid in ends:
                _ended(st, ends[pid], figures)
            out[pid] = st
    return result


def _ended(st: dict[str, Any], returned: list[dict[str, Any]], figures: bool) -> None:
    """An award the user office ended (outcomes22): never "completed" (it was ended, not
    carried out; its use and results stand), ``ended``; with ``figures``, its use counts
    the award ended (``ended``) and what it returned, by unit (``returned:<unit>``)."""
    st["completed"] = False
    st["ended"] = True
    if figures:
        # owed no report and chased by nobody (the reminders stop: ``unreported_awards``),
        # so never listed as overdue, where the office would chase it (mend23)
        st["report_overdue"] = False
        use = st.setdefault("use", {})
        use["ended"] = use.get("ended", 0.0) + 1.0
        for x in returned:
            key = f"returned:{x.get('unit') or ''}"
            use[key] = use.get(key, 0.0) + float(x["returned"])


def record_stages(
    session: Session, call_ids: Sequence[int], proposal_ids: Collection[int] | None = None
) -> dict[int, tuple[bool, bool]]:
    """{proposal id: (used, completed)} of the calls' awards that have records, summed up
    by the database from each record's kind and flags (``PostAwardRecord.used`` and
    ``.complete``) as ``domain.stages_of_flags`` sums them: used when a record is used;
    completed when used and, for each kind, every record complete (one, for the kinds of
    ``domain.ANY_COMPLETES``). One row an award, whatever its records."""
    r = PostAwardRecord
    used = func.max(case((r.used, 1), else_=0))
    done = case((r.complete, 1), else_=0)
    per_kind = _of(
        select(
            r.proposal_id.label("pid"),
            used.label("used"),
            case((r.kind.in_(sorted(d.ANY_COMPLETES)), func.max(done)), else_=func.min(done)).label(
                "done"
            ),
        ),
        r,
        call_ids,
        proposal_ids,
    ).group_by(r.proposal_id, r.kind)
    k = per_kind.subquery()
    return {
        pid: (bool(u), bool(u) and bool(c))
        for pid, u, c in session.execute(
            select(k.c.pid, func.max(k.c.used), func.min(k.c.done)).group_by(k.c.pid)
        )
    }


def _outputs_of(
    session: Session,
    ids: list[int],
    proposal_ids: Collection[int] | None,
    *,
    dois: bool,
    earlier: dict[int, dict[str, set[str]]] | None = None,
) -> tuple[
    dict[int, list[dt.date]], dict[int, dict[str, int]], dict[int, dict[str, list[str]]], set[int]
]:
    """The research outputs of the calls' proposals: {proposal id: their dates}, {proposal
    id: {kind: count}}, with ``dois`` {proposal id: {kind: DOIs (a patent: its
    publication number)}}, and the proposals that listed a result, a retracted one too
    (their report is in). A result ``earlier`` names for its proposal ({proposal id:
    {kind: identifiers}}, :func:`earlier_results`) is listed but counted nowhere: its
    programme's earlier award has it (outcomes19b)."""
    outs: dict[int, list[dt.date]] = defaultdict(list)
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    named: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    listed: set[int] = set()
    out_cols = select(
        ResearchOutput.proposal_id,
        ResearchOutput.published_on,
        ResearchOutput.year,
        ResearchOutput.kind,
        ResearchOutput.doi,
        ResearchOutput.number,
        ResearchOutput.retracted_on,
    )
    for pid, published_on, year, kind, doi, number, retracted_on in session.execute(
        _of(out_cols, ResearchOutput, ids, proposal_ids)
    ):
        listed.add(pid)
        if retracted_on is not None:
            continue  # a retracted result is counted nowhere (``counted``)
        if earlier and pid in earlier:
            ident = normalise_doi(doi) if doi else number
            if ident and ident in earlier[pid].get(kind, ()):
                continue
        outs[pid].append(published_on or dt.date(year, 7, 1))  # as result_date
        kinds[pid][kind] = kinds[pid].get(kind, 0) + 1
        if not dois:
            continue
        if doi:  # stored normalised; rows written before that are normalised here
            named[pid][kind].append(normalise_doi(doi))
        elif number:  # a patent: its publication number names it as a DOI does a paper
            named[pid][kind].append(number)
    return outs, kinds, named, listed


def _awarded_of(
    session: Session, ids: list[int], proposal_ids: Collection[int] | None
) -> dict[int, dict[int, dict[str, float]]]:
    """{call id: {proposal id: {unit: amount awarded}}}."""
    awarded: dict[int, dict[int, dict[str, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    award_cols = select(Award.call_id, Award.proposal_id, CapacityPool.unit, Award.amount).join(
        CapacityPool, CapacityPool.id == Award.pool_id
    )
    for cid, pid, unit, amount in session.execute(_of(award_cols, Award, ids, proposal_ids)):
        awarded[cid][pid][unit] += float(amount)
    return awarded


def _pool_traits_of(
    session: Session, ids: list[int], proposal_ids: Collection[int] | None
) -> tuple[dict[int, dict[str, float]], dict[int, set[str]]]:
    """({proposal id: {unit: hours of one slot}} of its awards on resources offered in
    slots (a unit whose resources have slots of different lengths is left out: a session's
    hours cannot say how many of its slots they were), {proposal id: the unit keys of its
    awards on resources whose use is occupied, a level held (usage23)}), one statement."""
    seen: dict[int, dict[str, set[float]]] = defaultdict(lambda: defaultdict(set))
    occupied: dict[int, set[str]] = defaultdict(set)
    cols = select(
        Award.proposal_id, CapacityPool.unit, CapacityPool.slot_hours, CapacityPool.usage_kind
    ).join(CapacityPool, CapacityPool.id == Award.pool_id)
    for pid, unit, hours, usage in session.execute(_of(cols, Award, ids, proposal_ids)):
        if hours:
            seen[pid][unit].add(float(hours))
        if usage == "occupied":
            occupied[pid].add(d.unit_key(unit))
    slots = {
        pid: {u: next(iter(h)) for u, h in units.items() if len(h) == 1}
        for pid, units in seen.items()
    }
    return slots, dict(occupied)


def _report_figures(
    records: list[tuple[str, dict[str, Any]]],
    amounts: dict[str, float],
    day0: dt.date,
    reported: bool,
    today: dt.date,
    dois: dict[str, list[str]],
    slot_hours: dict[str, float] | None = None,
    occupied: Collection[str] = (),
) -> dict[str, Any]:
    """An awarded proposal's follow-up figures, its results' DOIs, its use figures and
    its report's state."""
    units = list(amounts)
    return {
        "follow_up": d.follow_up_figures(records, day0),
        "site_yields": d.site_yields(records),
        "follow_up_waves": d.wave_response(records, today),
        "result_dois": {k: tuple(sorted(v)) for k, v in dois.items()},
        "use": d.use_figures(
            records,
            dict(amounts),
            today,
            units[0] if len(units) == 1 else "",
            slot_hours,
            occupied,
        ),
        "reported": reported,
        "report_due_on": d.report_due_on(day0),
        "report_overdue": d.report_overdue(day0, reported, today),
    }


def overdue_loans(session: Session, today: dt.date) -> list[PostAwardRecord]:
    """The loans past their due day and not returned. Read are the open loans alone
    (``complete`` false, kept from each record's data; ``domain.is_overdue`` requires it),
    by the index on (kind, complete): the site's returned loans of all its years are not
    read every day (scale23)."""
    return [
        r
        for r in session.scalars(
            select(PostAwardRecord)
            .where(PostAwardRecord.kind == "loan", PostAwardRecord.complete == false())
            .order_by(PostAwardRecord.id)
        )
        if d.is_overdue(r.kind, r.data, today)
    ]


def follow_ups_to_chase(
    session: Session, today: dt.date
) -> list[tuple[Proposal, list[tuple[PostAwardRecord, int, dt.date]]]]:
    """Each award (not ended) with course participants whose follow-up wave needs a reminder on
    ``today`` (``domain.needs_follow_up_reminder``), with those participants' course
    records, wave months and due days: the course records and follow-up reports read in
    one statement, the proposals in one more."""
    by_proposal: dict[int, list[PostAwardRecord]] = defaultdict(list)
    for r in session.scalars(
        select(PostAwardRecord)
        .where(
            PostAwardRecord.kind.in_(("course", "followup")),
            # an award the office ended is no longer followed up (outcomes22b)
            PostAwardRecord.proposal_id.not_in(select(AwardEnd.proposal_id)),
        )
        .order_by(PostAwardRecord.proposal_id, PostAwardRecord.id)
    ):
        by_proposal[r.proposal_id].append(r)
    due: dict[int, list[tuple[PostAwardRecord, int, dt.date]]] = {}
    for pid, recs in by_proposal.items():
        for i, _, months, on, answered in d.participant_waves([(r.kind, r.data) for r in recs]):
            if d.needs_follow_up_reminder(on, answered, today, recs[i].last_reminded_on):
                due.setdefault(pid, []).append((recs[i], months, on))
    if not due:
        return []
    props = session.scalars(select(Proposal).where(Proposal.id.in_(due)).order_by(Proposal.id))
    return [(p, due[p.id]) for p in props]


def _of(
    stmt: Any, model: Any, call_ids: Sequence[int], proposal_ids: Collection[int] | None
) -> Any:
    """``stmt`` kept to the rows of ``model`` of the calls (and of ``proposal_ids``)."""
    stmt = stmt.where(model.call_id.in_(call_ids))
    return stmt if proposal_ids is None else stmt.where(model.proposal_id.in_(proposal_ids))


def wave_responses(
    session: Session, call_ids: Sequence[int], today: dt.date
) -> dict[int, dict[int, tuple[int, int]]]:
    """{proposal id: ``domain.wave_response``} of the calls' awards with a course
    follow-up wave due by ``today``: their course and follow-up records alone (one
    statement), for the public after-award page, which reads no other figure."""
    recs: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    if not call_ids:
        return {}
    stmt = select(PostAwardRecord.proposal_id, PostAwardRecord.kind, PostAwardRecord.data).where(
        PostAwardRecord.kind.in_(("course", "followup"))
    )
    for pid, kind, data in session.execute(
        _of(stmt, PostAwardRecord, call_ids, None).order_by(PostAwardRecord.id)
    ):
        recs[pid].append((kind, data))
    out = {pid: d.wave_response(mine, today) for pid, mine in recs.items()}
    return {pid: waves for pid, waves in out.items() if waves}


def trained_countries(session: Session, call_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """{proposal id: {alpha-3: people trained from there, "": people trained whose report
    named no country}} of the calls' awards with a course follow-up report, from each
    participant's latest report (``domain.trained_by_country``): their follow-up records
    alone, one statement, for the public after-award page (outcomes22)."""
    recs: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    if not call_ids:
        return {}
    stmt = select(PostAwardRecord.proposal_id, PostAwardRecord.kind, PostAwardRecord.data).where(
        PostAwardRecord.kind == "followup"
    )
    for pid, kind, data in session.execute(
        _of(stmt, PostAwardRecord, call_ids, None).order_by(PostAwardRecord.id)
    ):
        recs[pid].append((kind, data))
    out = {pid: d.trained_by_country(d.latest_follow_ups(mine)) for pid, mine in recs.items()}
    return {pid: where for pid, where in out.items() if where}


def shared_results(session: Session, calls: Sequence[Call]) -> list[dict[str, Any]]:
    """The results (a DOI, a patent's publication number) that more than one award of
    ``calls`` lists (a facility's cycles: a multi-year programme's paper on each year's
    award, or a paper claimed by a team that did not write it), each with its kind, its
    identifier as stored (a DOI normalised) and the awards listing it, oldest cycle first
    (``calls``' order): {"kind", "id", "awards": [{"call", "cycle", "award"}]}. A
    retracted result is left out; one statement (outcomes18)."""
    if not calls:
        return []
    rank = {c.id: i for i, c in enumerate(calls)}
    of_call = {c.id: c for c in calls}
    awarded = select(Award.proposal_id).where(Award.call_id.in_(list(rank)))
    stmt = (
        select(
            ResearchOutput.kind,
            ResearchOutput.doi,
            ResearchOutput.number,
            ResearchOutput.call_id,
            Proposal.code,
            Proposal.id,
        )
        .join(Proposal, Proposal.id == ResearchOutput.proposal_id)
        .where(
            ResearchOutput.call_id.in_(list(rank)),
            ResearchOutput.proposal_id.in_(awarded),
            ResearchOutput.retracted_on.is_(None),
        )
    )
    found: dict[tuple[str, str], dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for kind, doi, number, call_id, code, pid in session.execute(stmt):
        ident = number if kind == "patent" and number else normalise_doi(doi) if doi else ""
        if ident:
            found[(kind, ident)][code] = (rank[call_id], call_id, pid)
    shared = {k: v for k, v in found.items() if len(v) >= 2}
    # the awards of one programme (outcomes19): a renewal's paper, not a claim to check
    roots = programme_of(session, {pid for v in shared.values() for *_x, pid in v.values()})
    out = []
    for (kind, ident), awards in sorted(shared.items()):
        listed = sorted(awards.items(), key=lambda a: (a[1][0], a[0]))
        out.append(
            {
                "kind": kind,
                "id": ident,
                "awards": [
                    {"call": of_call[cid].code, "cycle": of_call[cid].cycle, "award": code}
                    for code, (_r, cid, _p) in listed
                ],
                "programme": len({roots.get(pid, pid) for _r, _c, pid in awards.values()}) == 1,
            }
        )
    return out


def reported_clause() -> Any:
    """A proposal whose team reported after the award: a record of its use, or a result
    (a retracted one too). The one rule of the overview, its filter and the reminders."""
    reported = select(PostAwardRecord.proposal_id).union(select(ResearchOutput.proposal_id))
    return Proposal.id.in_(reported)


def awarded_proposals_query(
    call: Call, *, report: str | None = None, today: dt.date | None = None
) -> Any:
    """The call's awarded proposals, by code (:func:`awarded_proposals` as a statement,
    for paging in the database); with ``report`` (``domain.REPORT_STATES``), those whose
    first report is in that state on ``today`` (UTC today when not given)."""
    ids = select(Award.proposal_id).where(Award.call_id == call.id).distinct()
    stmt = select(Proposal).where(Proposal.id.in_(ids)).order_by(Proposal.code, Proposal.id)
    if report is None:
        return stmt
    if report not in d.REPORT_STATES:
        raise ValueError(f"unknown report state {report!r}")
    if report == "reported":
        return stmt.where(reported_clause())
    # the due day is the call's: its unreported awards are all overdue, or none is
    late = d.report_overdue(awarded_on(call), False, today or utc_today())
    # an ended award is owed no report: neither overdue (as ``_ended`` says it, mend23)
    # nor pending (mend24)
    return stmt.where(
        ~reported_clause(),
        true() if late == (report == "overdue") else false(),
        Proposal.id.not_in(select(AwardEnd.proposal_id)),
    )


def planned_shipments(session: Session, proposal_id: int) -> list[ScheduleEntry]:
    """The logistics plan's shipments for this award not yet recorded as real ones."""
    recorded = {
        r.data.get("schedule_entry_id")
        for r in records_of(session, proposal_id)
        if r.kind == "shipment"
    }
    return [
        e
        for e in session.scalars(
            select(ScheduleEntry)
            .where(ScheduleEntry.proposal_id == proposal_id, ScheduleEntry.kind == "shipment")
            .order_by(ScheduleEntry.id)
        )
        if e.id not in recorded
    ]


def unreported_awards(session: Session, today: dt.date) -> list[tuple[Proposal, dt.date]]:
    """Awarded proposals (not ended) of released calls with no record and no result whose first
    report is overdue on ``today``, with the day the awards were made known."""
    awarded = select(Award.proposal_id)
    out = []
    for p in session.scalars(
        select(Proposal)
        .join(Call, Call.id == Proposal.call_id)
        .where(
            Proposal.id.in_(awarded),
            Proposal.id.not_in(select(AwardEnd.proposal_id)),  # ended: not chased (outcomes22b)
            ~reported_clause(),
            Call.decisions_released_at.is_not(None),
        )
        .order_by(Proposal.id)
    ):
        day0 = awarded_on(p.call)
        if d.report_overdue(day0, False, today):
            out.append((p, day0))
    return out


def report_reminder(session: Session, proposal_id: int) -> ReportReminder | None:
    return session.scalar(select(ReportReminder).where(ReportReminder.proposal_id == proposal_id))


REMINDER_BATCH = 1000  # ids of one IN (under SQLite's and psycopg's parameter limits)


def report_reminders(session: Session, proposal_ids: Collection[int]) -> dict[int, ReportReminder]:
    """{proposal id: its report reminder} of these proposals, in one statement per
    ``REMINDER_BATCH`` ids (the daily run reads the reminders of every unreported award at once,
    not one statement an award: those stopped long ago stay unreported; scale23)."""
    ids = sorted(proposal_ids)
    out: dict[int, ReportReminder] = {}
    for i in range(0, len(ids), REMINDER_BATCH):
        for rem in session.scalars(
            select(ReportReminder).where(
                ReportReminder.proposal_id.in_(ids[i : i + REMINDER_BATCH])
            )
        ):
            out[rem.proposal_id] = rem
    return out


def _at_pools(
    row: type[R], call: Call, pools: frozenset[int] | None
) -> Select[R, Proposal, CapacityPool]:
    """The call's ``row`` entities (awards, schedule entries) on these resources (every
    resource for ``None``), each with its proposal and resource."""
    stmt = (
        select(row, Proposal, CapacityPool)
        .join(Proposal, Proposal.id == row.proposal_id)
        .join(CapacityPool, CapacityPool.id == row.pool_id)
        .where(row.call_id == call.id)
    )
    return stmt if pools is None else stmt.where(row.pool_id.in_(sorted(pools)))


def node_awards_query(
    call: Call, pools: frozenset[int] | None
) -> Select[Award, Proposal, CapacityPool]:
    """The call's awards at these resources (every resource for ``None``), each with its
    proposal and resource: what a node's staff look after."""
    return _at_pools(Award, call, pools)


def node_bookings_query(
    call: Call, pools: frozenset[int] | None
) -> Select[ScheduleEntry, Proposal, CapacityPool]:
    """The call's schedule entries on these resources (every resource for ``None``), each
    with its proposal and resource."""
    return _at_pools(ScheduleEntry, call, pools)


def records_of_awards(
    session: Session, award_ids: Collection[int]
) -> dict[int, list[PostAwardRecord]]:
    """The post-award records linked to each of these awards, oldest first."""
    out: dict[int, list[PostAwardRecord]] = defaultdict(list)
    for r in session.scalars(
        select(PostAwardRecord)
        .where(PostAwardRecord.award_id.in_(sorted(award_ids)))
        .order_by(PostAwardRecord.id)
    ):
        if r.award_id is not None:
            out[r.award_id].append(r)
    return out


def figures_by_pool(
    session: Session, call: Call, pools: frozenset[int] | None
) -> dict[int, dict[str, float]]:
    """Of each resource the call offers (those in ``pools``; every one for ``None``):
    what it offers, what was awarded and in how many awards, the bookings of the
    schedule and the post-award records linked to its awards (``{pool id: figures}``)."""
    ids = [cp.pool_id for cp in call.pools if pools is None or cp.pool_id in pools]
    out: dict[int, dict[str, float]] = {
        cp.pool_id: {"offered": cp.amount, "awarded": 0.0, "awards": 0, "bookings": 0,
                     "records": 0}
        for cp in call.pools
        if cp.pool_id in ids
    }  # fmt: skip
    for pool_id, amount, n in session.execute(
        select(Award.pool_id, func.sum(Award.amount), func.count(Award.id))
        .where(Award.call_id == call.id, Award.pool_id.in_(ids))
        .group_by(Award.pool_id)
    ):
        out[pool_id].update(awarded=float(amount or 0.0), awards=int(n))
    for booked_pool, n in session.execute(
        select(ScheduleEntry.pool_id, func.count(ScheduleEntry.id))
        .where(ScheduleEntry.call_id == call.id, ScheduleEntry.pool_id.in_(ids))
        .group_by(ScheduleEntry.pool_id)
    ):
        if booked_pool is not None:
            out[booked_pool]["bookings"] = int(n)
    for pool_id, n in session.execute(
        select(Award.pool_id, func.count(PostAwardRecord.id))
        .join(Award, Award.id == PostAwardRecord.award_id)
        .where(Award.call_id == call.id, Award.pool_id.in_(ids))
        .group_by(Award.pool_id)
    ):
        out[pool_id]["records"] = int(n)
    return out


def figures_by_provider(
    session: Session, call: Call, pools: frozenset[int] | None
) -> list[tuple[Provider, list[tuple[CapacityPool, dict[str, float]]]]]:
    """:func:`figures_by_pool` by the provider of each resource (a joint call has
    several), in the call's order of its resources: the call's own provider first, then
    the partners by slug."""
    figures = figures_by_pool(session, call, pools)
    by_provider: dict[int, tuple[Provider, list[tuple[CapacityPool, dict[str, float]]]]] = {}
    for cp in call.pools:
        if cp.pool_id in figures:
            prov = cp.pool.facility.provider
            by_provider.setdefault(prov.id, (prov, []))[1].append((cp.pool, figures[cp.pool_id]))
    return sorted(by_provider.values(), key=lambda e: (e[0].id != call.provider_id, e[0].slug))


def item_loans_of_facility(
    session: Session, facility_id: int
) -> dict[str, list[tuple[dict[str, Any], bool, str]]]:
    """:func:`loans_of_item` of every item of the facility at once, by the item's name
    folded to lower case (a records file of many loans reads them once)."""
    out: dict[str, list[tuple[dict[str, Any], bool, str]]] = {}
    for data, done, code in session.execute(_facility_loans(facility_id)):
        item = str((data or {}).get("item") or "")
        if item:
            out.setdefault(item.casefold(), []).append((dict(data), bool(done), code or ""))
    return out


def _facility_loans(facility_id: int) -> Any:
    return (
        select(PostAwardRecord.data, PostAwardRecord.complete, Proposal.code)
        .join(Proposal, Proposal.id == PostAwardRecord.proposal_id)
        .join(Call, Call.id == PostAwardRecord.call_id)
        .where(Call.facility_id == facility_id, PostAwardRecord.kind == "loan")
        .order_by(PostAwardRecord.id)
    )


def loans_of_item(
    session: Session, facility_id: int, item: str, *, exclude: int | None = None
) -> list[tuple[dict[str, Any], bool, str]]:
    """The loan records of the item ``item`` (a serial number, ``LoanData.item``) over every
    call of the facility: each one's data, whether it is closed (``complete``) and its
    proposal's code; ``exclude`` (a record's id) left out. The item is read from the JSON
    in Python: loans of named items are few per facility."""
    q = _facility_loans(facility_id)
    if exclude is not None:
        q = q.where(PostAwardRecord.id != exclude)
    return [
        (dict(data), bool(done), code or "")
        for data, done, code in session.execute(q)
        if str((data or {}).get("item") or "").casefold() == item.casefold()
    ]


#: re-exported: the links live with the proposals (the reviewers' pages read them)
continuation_links = pq.continuation_links


def programme_of(session: Session, proposal_ids: Iterable[int]) -> dict[int, int]:
    """{proposal id: the first award of its programme} (``domain.programme_roots``)."""
    return d.programme_roots(continuation_links(session, proposal_ids))


def continuation_of(session: Session, proposal: Proposal) -> dict[str, Any] | None:
    """What a page says of the earlier award ``proposal`` continues
    (``proposals.queries.continued_award``), with its programme's first award's code
    and cycle; None when it continues none."""
    got = pq.continued_award(session, proposal)
    if got is None:
        return None
    root = session.get(Proposal, programme_of(session, [proposal.id])[proposal.id])
    return {
        **got,
        "programme": root.code if root else got["code"],
        "programme_cycle": root.call.cycle if root else got["cycle"],
    }


def earlier_results(
    session: Session, proposal_ids: Iterable[int]
) -> dict[int, dict[str, set[str]]]:
    """{proposal id: {kind: identifiers}} of the results (a DOI normalised, else a
    patent's number; retracted ones left out) that the earlier awards of each proposal's
    programme listed (outcomes19): a proposal that continues none is not named. One
    statement for the results, after ``continuation_links``'s."""
    links = continuation_links(session, proposal_ids)
    chains: dict[int, list[int]] = {}
    for pid in set(proposal_ids):
        chain: list[int] = []
        at = links.get(pid)
        while at is not None and at != pid and at not in chain:
            chain.append(at)
            at = links.get(at)
        if chain:
            chains[pid] = chain
    wanted = sorted({e for chain in chains.values() for e in chain})
    if not wanted:
        return {}
    of: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for pid, kind, doi, number in session.execute(
        select(
            ResearchOutput.proposal_id,
            ResearchOutput.kind,
            ResearchOutput.doi,
            ResearchOutput.number,
        ).where(ResearchOutput.proposal_id.in_(wanted), ResearchOutput.retracted_on.is_(None))
    ):
        ident = normalise_doi(doi) if doi else number
        if ident:
            of[pid][kind].add(ident)
    out: dict[int, dict[str, set[str]]] = {}
    for pid, chain in chains.items():
        merged: dict[str, set[str]] = defaultdict(set)
        for e in chain:
            for kind, ids in of.get(e, {}).items():
                merged[kind] |= ids
        if merged:
            out[pid] = dict(merged)
    return out


def own_earlier_awards(session: Session, proposal: Proposal, user_id: int) -> list[Proposal]:
    """The awards ``proposal`` may continue as ``user_id`` names them (outcomes19): the
    held awards of the provider's earlier calls (decisions released, another call than
    the proposal's) whose team has ``user_id`` as an accepted member, newest first."""
    provider_id = proposal.call.facility.provider_id
    # the reader's own proposals first (their memberships, by the user index), then
    # those of them awarded (the awards' proposal index): one query with both as
    # ``IN`` subqueries was planned from the provider's proposals and read every award
    # of the site (an ``IN`` of every awarded proposal; scale23)
    mine = sorted(
        session.scalars(
            select(TeamMember.proposal_id).where(
                TeamMember.user_id == user_id, TeamMember.status == "accepted"
            )
        )
    )
    if not mine:
        return []
    rows = session.scalars(
        select(Proposal)
        .join(Call, Call.id == Proposal.call_id)
        .join(Facility, Facility.id == Call.facility_id)
        .where(
            Proposal.id.in_(mine),
            Facility.provider_id == provider_id,
            Proposal.call_id != proposal.call_id,
            or_(  # as ``policies.decisions_out``
                Call.decisions_released_at.is_not(None),
                Call.status.in_(("published", "archived")),
            ),
            select(Award.id).where(Award.proposal_id == Proposal.id).exists(),
        )
        .order_by(Call.decisions_released_at.desc(), Proposal.id.desc())
    )
    return list(rows)


def continued_codes(session: Session, proposal_ids: Collection[int]) -> dict[int, str]:
    """{proposal id: "<earlier award's code> (<its cycle>)"} of the proposals that
    continue an earlier award (outcomes19; the office's post-award CSV), one statement."""
    if not proposal_ids:
        return {}
    earlier = aliased(Proposal)
    return {
        pid: f"{code} ({cycle})"
        for pid, code, cycle in session.execute(
            select(Proposal.id, earlier.code, Call.cycle)
            .join(earlier, earlier.id == Proposal.continues_id)
            .join(Call, Call.id == earlier.call_id)
            .where(Proposal.id.in_(sorted(proposal_ids)))
        )
    }
