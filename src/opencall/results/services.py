"""Recording what happened after an award. Every change is validated before
anything is written (a DomainError leaves the session unchanged) and audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation.models import Award
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import services as facility_services
from opencall.facilities.domain import amount_text
from opencall.facilities.models import CapacityPool, PoolItemOutage, PoolUnavailability
from opencall.inputs import shown
from opencall.people.models import User
from opencall.proposals.models import Proposal, TeamMember
from opencall.proposals.services import lock_for_write
from opencall.results import domain as d
from opencall.results import importers, policies
from opencall.results import queries as q
from opencall.results.models import PostAwardRecord, ReportReminder, ResearchOutput
from opencall.results.schemas import OutputIn, validate_output, validate_record
from opencall.scheduling.models import ScheduleEntry

MAX_IMPORT = 500
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _require_awarded(session: Session, proposal: Proposal) -> None:
    # the proposal's row first: a decline at the same moment either came first (its
    # awards gone: refused here) or waits, and then finds this record (trialcrowd18)
    lock_for_write(session, proposal)
    if not policies.is_awarded(session, proposal):
        raise DomainError("Records can be kept only for an awarded proposal.")


def _require_kind(kind: str, allowed: list[str]) -> None:
    """A record of ``kind`` fits an award whose resources take the ``allowed`` kinds."""
    if kind not in allowed:
        raise DomainError(
            "A %(kind)s record does not fit this award; expected one of %(kinds)s.",
            field="kind",
            kind=kind,
            kinds=", ".join(allowed),
        )


def add_record(
    session: Session,
    proposal: Proposal,
    kind: str,
    data: dict[str, Any],
    *,
    actor_id: int | None,
    award_id: int | None = None,
) -> PostAwardRecord:
    _require_awarded(session, proposal)
    clean = validate_record(kind, data)
    _require_kind(kind, q.record_kinds(session, proposal.id))
    own = _own_code(session, proposal, actor_id)
    _require_item_free(session, proposal.call_id, kind, clean, None, own=own)
    if award_id is None:
        _require_award_named(session, proposal, kind, clean)
    if award_id is not None:
        award = session.get(Award, award_id)
        if award is None or award.proposal_id != proposal.id:
            raise DomainError("That award is not one of this proposal's.", field="award_id")
        _require_use_within_award(session, award, kind, clean, None)
    entry = clean.get("schedule_entry_id")
    if entry is not None:
        e = session.get(ScheduleEntry, entry)
        if e is None or e.proposal_id != proposal.id:
            raise DomainError(
                "That planned shipment is not one of this proposal's.", field="schedule_entry_id"
            )
    rec = PostAwardRecord(
        call_id=proposal.call_id,
        proposal_id=proposal.id,
        award_id=award_id,
        kind=kind,
        data=clean,
        reminders_sent=0,
        created_by=actor_id,
    )
    rec = auditlog.record_new(
        session,
        rec,
        "postaward.record",
        "postaward_record",
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"proposal": proposal.code, "kind": kind, "data": clean},
    )
    _close_lost_item(session, rec, None, actor_id)
    return rec


def _close_lost_item(
    session: Session, rec: PostAwardRecord, before: dict[str, Any] | None, actor_id: int | None
) -> None:
    """A loan of an item recorded lost, with the day (``lost_on``), takes the item's
    resource out of service from that day (``facilities.services.item_lost``): the
    resource of the loan's award, or of the proposal's awards when they are all of one
    resource (otherwise which one lent the item is not known, and nothing is closed).
    Once per day lost: the record changed again, lost on the same day, adds nothing; a
    corrected day moves the period, and a record no longer lost (found, returned after
    all) frees it (``facilities.services.item_found``)."""
    data = rec.data or {}
    day, item = data.get("lost_on"), str(data.get("item") or "")
    lost = rec.kind == "loan" and data.get("condition") == "lost" and bool(day) and bool(item)
    if (
        lost
        and before
        and before.get("condition") == "lost"
        and before.get("lost_on") == day
        and str(before.get("item") or "") == item
    ):
        return
    if before is not None:
        _free_lost_periods(session, rec, actor_id)
    if not lost:
        return
    if rec.award_id is not None:
        award = session.get(Award, rec.award_id)
        pools = {award.pool_id} if award is not None else set()
    else:
        pools = {pool.id for _a, pool in q.awards_of(session, rec.proposal_id)}
    if len(pools) != 1:
        return
    pool = session.get(CapacityPool, pools.pop())
    proposal = session.get(Proposal, rec.proposal_id)
    assert pool is not None and proposal is not None
    facility_services.item_lost(
        session,
        pool,
        item=item,
        day=dt.date.fromisoformat(str(day)),
        loan=proposal.code or "",
        record_id=rec.id,
        actor_id=actor_id,
    )


def _free_lost_periods(session: Session, rec: PostAwardRecord, actor_id: int | None) -> None:
    """The periods that ``rec`` (a loan lost) closed, on any resource, removed and audited
    (``facilities.services.item_found``): the record now says another day, no loss, or is
    removed (trialop20: before, a removed record's period stayed, its foreign key nulled)."""
    for closed in session.scalars(
        select(CapacityPool).where(
            CapacityPool.id.in_(
                select(PoolUnavailability.pool_id).where(
                    PoolUnavailability.lost_record_id == rec.id
                )
            )
            # or an item's share of the places, on a resource lending several (trialop20b)
            | CapacityPool.id.in_(
                select(PoolItemOutage.pool_id).where(PoolItemOutage.lost_record_id == rec.id)
            )
        )
    ):
        facility_services.item_found(session, closed, record_id=rec.id, actor_id=actor_id)


def add_node_record(
    session: Session, award: Award, kind: str, data: dict[str, Any], *, actor_id: int | None
) -> PostAwardRecord:
    """A record of one award kept by its resource's node staff (or the user office):
    linked to the award, of a kind its resource takes, and naming (for a shipment) only a
    planned entry on that resource."""
    pool = session.get(CapacityPool, award.pool_id)
    assert pool is not None
    _require_kind(
        kind, d.kinds_of_pools([(d.pool_kind(pool.pool_type, pool.unit), pool.record_kinds or ())])
    )
    entry_id = validate_record(kind, data).get("schedule_entry_id")
    if entry_id is not None:
        e = session.get(ScheduleEntry, entry_id)
        if e is None or e.proposal_id != award.proposal_id or e.pool_id != award.pool_id:
            raise DomainError(
                "That planned shipment is not one of this proposal's.", field="schedule_entry_id"
            )
    proposal = session.get(Proposal, award.proposal_id)
    assert proposal is not None
    return add_record(session, proposal, kind, data, actor_id=actor_id, award_id=award.id)


def _require_award_named(
    session: Session, proposal: Proposal, kind: str, clean: dict[str, Any]
) -> None:
    """An operator-defined use (``other`` with an amount) of a proposal whose awards count in
    more than one unit (steward hours and enclave seats; CPU and GPU node-hours) names the
    award it is of (``award_id``, listed on the award's page): in which unit the amount
    counts is otherwise unknown, and before usecount17 it was kept and counted in none."""
    if kind != "other" or not float(clean.get("used_amount") or 0):
        return
    rows = q.awards_of(session, proposal.id)
    if len({pool.unit for _, pool in rows}) > 1:
        raise DomainError(
            "This award is counted in more than one unit: say which award the amount used is "
            "of (award_id: %(awards)s).",
            field="award_id",
            awards=", ".join(f"{a.id} for {pool.name}" for a, pool in rows),
        )


def _own_code(session: Session, proposal: Proposal, actor_id: int | None) -> str | None:
    """The code of the award ``proposal`` as its refusals may say it to ``actor_id``: None
    (every award's code may be said) for the call's office, which sees all its awards;
    else its own code, the only one its team (or an unknown actor) may read."""
    actor = session.get(User, actor_id) if actor_id is not None else None
    if policies.may_see_call_records(session, actor, proposal.call):
        return None
    return proposal.code


def _require_item_free(
    session: Session,
    call_id: int,
    kind: str,
    clean: dict[str, Any],
    rec_id: int | None,
    pending: Sequence[tuple[dict[str, Any], bool, str]] = (),
    stored: dict[str, list[tuple[dict[str, Any], bool, str]]] | None = None,
    own: str | None = None,
) -> None:
    """An item (``LoanData.item``: a glider's serial number) is lent to one team at a time:
    a loan of it is refused while another loan of it in a call of the same facility is still
    out (not returned, consumed or lost), or once it was lost (trialfac17). ``pending``: the
    loans not stored yet that count as stored (a file's earlier lines: each loan's data,
    whether it is closed, its award's code); ``stored``: the facility's stored loans by
    item, read once (``queries.item_loans_of_facility``), instead of a query per loan.
    ``own``: the code of the award recorded on, when its team may read the refusal: a
    loan of another award is then said without that award's code (trialcrowd20b), which
    the team may not see; None (the office's file of loans): every code is said."""
    item = str(clean.get("item") or "") if kind == "loan" else ""
    call = session.get(Call, call_id) if item else None
    if call is None:
        return
    same = [p for p in pending if str(p[0].get("item") or "").casefold() == item.casefold()]
    known = (
        stored.get(item.casefold(), [])
        if stored is not None
        else q.loans_of_item(session, call.facility_id, item, exclude=rec_id)
    )
    for data, closed, code in [*known, *same]:
        hidden = own is not None and code != own
        if data.get("condition") == "lost" and hidden:
            raise DomainError(
                "%(item)s was lost on an earlier loan: it cannot be lent again.",
                field="item",
                item=item,
            )
        if data.get("condition") == "lost":
            raise DomainError(
                "%(item)s was lost on the loan of %(award)s: it cannot be lent again.",
                field="item",
                item=item,
                award=code,
            )
        if not closed and clean.get("condition") != "lost" and not clean.get("returned_on"):
            if hidden:
                raise DomainError(
                    "%(item)s is still out on another loan (shipped on %(shipped)s, not "
                    "returned): record its return first.",
                    field="item",
                    item=item,
                    shipped=str(data.get("shipped_on") or "?"),
                )
            raise DomainError(
                "%(item)s is still out on the loan of %(award)s (shipped on %(shipped)s, not "
                "returned): record its return first.",
                field="item",
                item=item,
                award=code,
                shipped=str(data.get("shipped_on") or "?"),
            )


def _require_use_within_award(
    session: Session,
    award: Award,
    kind: str,
    clean: dict[str, Any],
    record_id: int | None,
    pending: Sequence[float] = (),
) -> None:
    """An operator-defined use (``other``) recorded against one award (``award_id``) stays
    inside what that award gave: begun within its resource's period, when it has one (a
    quarter's node-hours not used in the quarter lapse: they cannot be recorded as used
    after it, nor before it), and all the use recorded on the award (``record_id``'s own
    record, being replaced, left out; ``pending``: the use of a file's earlier lines on it)
    no more than its amount (trialfac16): their sum where the resource's use is consumed,
    their peak where it is occupied (a level held, as TB of storage reported each month:
    ``d.award_use``, usage23)."""
    if kind != "other":
        return
    pool = session.get(CapacityPool, award.pool_id)
    assert pool is not None
    day = dt.date.fromisoformat(clean["started_on"]) if clean.get("started_on") else None
    lo, hi = pool.period_start, pool.period_end
    if day is not None and lo is not None and hi is not None and not lo <= day <= hi:
        raise DomainError(
            "%(resource)s is used from %(first)s to %(last)s; use on %(day)s cannot be "
            "recorded against it (what is not used in its period lapses).",
            field="started_on",
            resource=repr(pool.name),
            first=lo.isoformat(),
            last=hi.isoformat(),
            day=day.isoformat(),
        )
    others = session.scalars(
        select(PostAwardRecord).where(
            PostAwardRecord.award_id == award.id, PostAwardRecord.kind == "other"
        )
    )
    total = d.award_use(
        pool.usage_kind,
        [
            *pending,
            float(clean.get("used_amount") or 0),
            *(float(r.data.get("used_amount") or 0) for r in others if r.id != record_id),
        ],
    )
    if total > award.amount + 1e-9:
        raise DomainError(
            "%(resource)s was awarded %(amount)s; the use recorded against it would come to "
            "%(total)s.",
            field="used_amount",
            resource=repr(pool.name),
            amount=amount_text(pool.unit, pool.unit_labels, award.amount),
            total=amount_text(pool.unit, pool.unit_labels, total),
        )


def update_record(
    session: Session, rec: PostAwardRecord, data: dict[str, Any], *, actor_id: int | None
) -> PostAwardRecord:
    """Replace a record's fields (the kind stays)."""
    clean = validate_record(rec.kind, data)
    before = dict(rec.data)
    if clean == before:
        return rec
    own = _own_code(session, session.get_one(Proposal, rec.proposal_id), actor_id)
    _require_item_free(session, rec.call_id, rec.kind, clean, rec.id, own=own)
    award = session.get(Award, rec.award_id) if rec.award_id is not None else None
    if award is not None:
        _require_use_within_award(session, award, rec.kind, clean, rec.id)
    else:  # an amount given later is refused as one given at first (usecount17)
        _require_award_named(session, session.get_one(Proposal, rec.proposal_id), rec.kind, clean)
    rec.data = clean
    rec.updated_at = utcnow()
    session.flush()
    auditlog.record(
        session,
        "postaward.update",
        "postaward_record",
        rec.id,
        actor_id=actor_id,
        call_id=rec.call_id,
        data={"before": before, "after": clean},
    )
    _close_lost_item(session, rec, before, actor_id)
    return rec


def _noted(text: str) -> str:
    """A reason given for a change, stripped; "" where it is empty or too long."""
    text = text.strip()
    return text if len(text) <= MAX_RETRACTION_NOTE else ""


def remove_record(
    session: Session, rec: PostAwardRecord, *, reason: str, actor_id: int | None
) -> None:
    """Remove a record kept in error (on the wrong award, twice): the award's figures no
    longer count it; the audit event keeps its kind and fields and the ``reason``; a lost
    loan's period on its resource goes with it (audited, ``pool.item_lost_removed``).
    Refused without a reason, changing nothing."""
    reason = _noted(reason)
    if not reason:
        raise DomainError(
            "Say why the record is removed (a note of 1 to %(n)s characters).",
            field="reason",
            n=MAX_RETRACTION_NOTE,
        )
    auditlog.record(
        session,
        "postaward.remove",
        "postaward_record",
        rec.id,
        actor_id=actor_id,
        call_id=rec.call_id,
        reason=reason,
        data={"proposal_id": rec.proposal_id, "award_id": rec.award_id, "kind": rec.kind,
              "data": dict(rec.data), "created_by": rec.created_by},
    )  # fmt: skip
    _free_lost_periods(session, rec, actor_id)
    session.delete(rec)
    session.flush()


def _key(doi: str, title: str, year: int, number: str = "") -> tuple[str, ...]:
    """What makes two results the same: a patent's publication number, else the DOI,
    else the title (any case) and year."""
    if number:
        return ("patent", number)
    return ("doi", doi) if doi else ("title", title.casefold(), str(year))


def _is_duplicate(existing: list[ResearchOutput], item: OutputIn) -> bool:
    mine = _key(item.doi, item.title, item.year, item.number)
    return mine in {_key(o.doi, o.title, o.year, o.number) for o in existing}


def before_award(item: OutputIn, awarded_on: dt.date) -> DomainError | None:
    """A result dated before the award (its day, else its year) cannot have come from it:
    the error to give, or None. The award's day, and its year without a day, are the
    award's."""
    if item.published_on is not None and item.published_on < awarded_on:
        return DomainError(
            "This result is dated %(date)s, before the award (%(awarded)s): it cannot have "
            "come from it.",
            field="published_on",
            date=item.published_on.isoformat(),
            awarded=awarded_on.isoformat(),
        )
    if item.published_on is None and item.year < awarded_on.year:
        return DomainError(
            "This result is of %(year)s, before the award (%(awarded)s): it cannot have "
            "come from it.",
            field="year",
            year=str(item.year),
            awarded=awarded_on.isoformat(),
        )
    return None


def _refuse_before_award(
    items: list[tuple[str, str, OutputIn]], awarded_on: dt.date, errors: list[DomainError]
) -> None:
    """Add to ``errors`` each entry of a file dated before the award, named by entry."""
    for where, _award, item in items:
        problem = before_award(item, awarded_on)
        if problem is not None:
            errors.append(
                DomainError(
                    "%(where)s (%(title)s): %(message)s",
                    where=shown(where),
                    title=shown(item.title[:60]),
                    message=problem,
                )
            )


def _new_output(
    proposal: Proposal, item: OutputIn, source: str, actor_id: int | None
) -> ResearchOutput:
    text = " ".join((item.acknowledgement, item.abstract))
    return ResearchOutput(
        **item.model_dump(),
        call_id=proposal.call_id,
        proposal_id=proposal.id,
        acknowledges=bool(d.acknowledges(text, q.acknowledgement_names(proposal))),
        source=source,
        created_by=actor_id,
    )


def add_output(
    session: Session, proposal: Proposal, data: dict[str, Any], *, actor_id: int | None
) -> ResearchOutput:
    """A publication or dataset typed in."""
    _require_awarded(session, proposal)
    item = validate_output(data)
    problem = before_award(item, q.awarded_on(proposal.call))
    if problem is not None:
        raise problem
    if _is_duplicate(q.outputs_of(session, proposal.id), item):
        raise DomainError("This result is already linked to the award.", field="doi")
    o = _new_output(proposal, item, "typed", actor_id)
    return auditlog.record_new(
        session,
        o,
        "postaward.output",
        "research_output",
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"proposal": proposal.code, **q.output_dict(o)},
    )


def update_output(
    session: Session, output: ResearchOutput, data: dict[str, Any], *, actor_id: int | None
) -> ResearchOutput:
    """Correct a result as its team typed or imported it (a DOI mistyped, a title, the
    year): its fields replaced by ``data``, checked as a new one is (the DOI's syntax, a
    patent's number, the ORCID iDs, not dated before the award, not another result of
    the award's own), and the acknowledgement read again. Its source and any retraction
    stay. Audited with the fields before and after; a correction that changes nothing
    writes nothing. A refusal changes nothing."""
    proposal = session.get(Proposal, output.proposal_id)
    assert proposal is not None
    item = validate_output(data)
    problem = before_award(item, q.awarded_on(proposal.call))
    if problem is not None:
        raise problem
    others = [o for o in q.outputs_of(session, proposal.id) if o.id != output.id]
    if _is_duplicate(others, item):
        raise DomainError("This result is already linked to the award.", field="doi")
    before = q.output_dict(output)
    fields = item.model_dump()
    text = " ".join((item.acknowledgement, item.abstract))
    fields["acknowledges"] = bool(d.acknowledges(text, q.acknowledgement_names(proposal)))
    if all(getattr(output, k) == v for k, v in fields.items()):
        return output
    for k, v in fields.items():
        setattr(output, k, v)
    session.flush()
    auditlog.record(
        session,
        "postaward.output_update",
        "research_output",
        output.id,
        actor_id=actor_id,
        call_id=output.call_id,
        data={"proposal": proposal.code, "before": before, "after": q.output_dict(output)},
    )
    return output


def remove_output(
    session: Session, output: ResearchOutput, *, reason: str, actor_id: int | None
) -> None:
    """Withdraw a result linked in error (to the wrong award, not the team's paper): no
    figure counts it any more, the public figures included; the audit event keeps its
    fields and the ``reason``. A result that appeared and was later retracted is
    marked so instead (:func:`retract_output`). Refused without a reason, changing
    nothing."""
    reason = _noted(reason)
    if not reason:
        raise DomainError(
            "Say why the result is withdrawn (a note of 1 to %(n)s characters).",
            field="reason",
            n=MAX_RETRACTION_NOTE,
        )
    auditlog.record(
        session,
        "postaward.output_remove",
        "research_output",
        output.id,
        actor_id=actor_id,
        call_id=output.call_id,
        reason=reason,
        data={"proposal_id": output.proposal_id, **q.output_dict(output),
              "authors": list(output.authors), "created_by": output.created_by},
    )  # fmt: skip
    session.delete(output)
    session.flush()


MAX_RETRACTION_NOTE = 1000


def retract_output(
    session: Session, output: ResearchOutput, *, on: dt.date, note: str, actor_id: int | None
) -> ResearchOutput:
    """A result retracted or withdrawn ``on`` a day (a paper retracted by its journal, a
    dataset withdrawn), for the reason in ``note``: kept on the award's page, marked, and
    counted in no figure (``queries.counted``); audited. Refused, changing nothing, when
    it is already retracted, without a note, or dated before the result appeared."""
    if output.retracted_on is not None:
        raise DomainError(
            "This result was already retracted on %(date)s.",
            date=output.retracted_on.isoformat(),
        )
    note = _noted(note)
    if not note:
        raise DomainError(
            "Say why the result was retracted (a note of 1 to %(n)s characters).",
            field="note",
            n=MAX_RETRACTION_NOTE,
        )
    appeared = output.published_on or dt.date(output.year, 1, 1)
    if on < appeared:
        raise DomainError(
            "A result cannot be retracted before it appeared (%(date)s).",
            field="retracted_on",
            date=appeared.isoformat(),
        )
    output.retracted_on = on
    output.retraction_note = note
    session.flush()
    auditlog.record(
        session,
        "postaward.retract",
        "research_output",
        output.id,
        actor_id=actor_id,
        call_id=output.call_id,
        data={**q.output_dict(output), "retracted_on": on.isoformat(), "note": note},
    )
    return output


def restore_output(
    session: Session, output: ResearchOutput, *, actor_id: int | None
) -> ResearchOutput:
    """Undo a retraction entered by mistake: the result counts again; audited with the
    retraction it undoes."""
    if output.retracted_on is None:
        raise DomainError("This result is not retracted.")
    before = {"retracted_on": output.retracted_on.isoformat(), "note": output.retraction_note}
    output.retracted_on = None
    output.retraction_note = ""
    session.flush()
    auditlog.record(
        session,
        "postaward.unretract",
        "research_output",
        output.id,
        actor_id=actor_id,
        call_id=output.call_id,
        data={**q.output_dict(output), **before},
    )
    return output


def _validated(
    fmt: str, text: str, limit: int
) -> tuple[list[tuple[str, str, OutputIn]], list[DomainError]]:
    """(where, award code, result) of each entry of the file that is a valid result,
    and the refusals of the others (each naming its entry and line), in file order."""
    errors: list[DomainError] = []
    items = []
    for where, entry in importers.parse_located(fmt, text, limit=limit, errors=errors):
        award = str(entry.pop("award", "") or "")
        try:
            items.append((where, award, validate_output(entry)))
        except DomainError as exc:
            errors.append(
                DomainError(
                    "%(where)s (%(title)s): %(message)s",
                    where=shown(where),
                    title=shown(str(entry.get("title", ""))[:60]),
                    message=exc,
                )
            )
    return items, errors


def import_outputs(
    session: Session,
    proposal: Proposal,
    filename: str,
    text: str,
    *,
    actor_id: int | None,
    fmt: str | None = None,
) -> tuple[list[ResearchOutput], int]:
    """Every entry of a BibTeX / RIS / CSL-JSON file, all or nothing: an unreadable
    file or one invalid entry stores none (every invalid entry is named). Entries
    already linked are skipped. Returns the new results and the number skipped."""
    _require_awarded(session, proposal)
    fmt = fmt or importers.detect(filename, text)
    items, errors = _validated(fmt, text, MAX_IMPORT)
    _refuse_before_award(items, q.awarded_on(proposal.call), errors)
    importers.refuse_entries(errors)
    seen = {_key(o.doi, o.title, o.year, o.number) for o in q.outputs_of(session, proposal.id)}
    new: list[ResearchOutput] = []
    skipped = 0
    for _where, _award, item in items:  # one set of keys: not 250,000 comparisons
        key = _key(item.doi, item.title, item.year, item.number)
        if key in seen:
            skipped += 1
            continue
        seen.add(key)
        new.append(_new_output(proposal, item, fmt, actor_id))
    session.add_all(new)
    session.flush()
    auditlog.record(
        session,
        "postaward.import",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={
            "proposal": proposal.code,
            "format": fmt,
            "file": filename[:200],
            "added": [o.id for o in new],
            "skipped": skipped,
        },
    )
    return new, skipped


#: Entries of one call-wide results file (``import_call_outputs``): a facility's
#: publication list for a cycle; the service reads it whole, so it is bounded.
MAX_CALL_IMPORT = 20_000
MAX_CALL_IMPORT_BYTES = 16 * 1024 * 1024


def _importable_awards(
    session: Session, call: Call, user: User, codes: set[str]
) -> tuple[dict[str, Proposal], set[str]]:
    """The awards of ``call`` that a file names (``codes``), by code, and the codes of
    those ``user`` may record for: the user office every award once the decisions are
    out; anyone else the awards whose team they are in (one query for the teams, then
    the policy)."""
    awarded = {p.code: p for p in q.awarded_proposals(session, call) if p.code in codes}
    if policies.may_see_call_records(session, user, call):
        return awarded, set(awarded) if policies.decisions_out(call) else set()
    mine = set(
        session.scalars(
            select(TeamMember.proposal_id).where(
                TeamMember.user_id == user.id,
                TeamMember.proposal_id.in_([p.id for p in awarded.values()]),
            )
        )
    )
    allowed = {
        code
        for code, p in awarded.items()
        if p.id in mine and policies.may_record(session, user, p)
    }
    return awarded, allowed


def _refuse_unknown_awards(
    named: list[tuple[str, str]], allowed: set[str], errors: list[DomainError]
) -> None:
    """A refusal for each (where, award code) of a file without a code, or with one that
    is not an award ``allowed``: unknown and not yours read alike, revealing nothing."""
    for where, award in named:
        if not award:
            errors.append(
                DomainError("%(where)s: no award code (field award).", where=shown(where))
            )
        elif award not in allowed:
            errors.append(
                DomainError(
                    "%(where)s: %(award)s is not an award of this call whose results you "
                    "may record.",
                    where=shown(where),
                    award=shown(award[:40]),
                )
            )


def import_call_outputs(
    session: Session,
    call: Call,
    user: User,
    filename: str,
    text: str,
    *,
    fmt: str | None = None,
) -> tuple[list[ResearchOutput], int]:
    """A results file for many awards of ``call`` at once, each entry naming its award
    by code (BibTeX ``award``, RIS ``C2``, CSL-JSON ``award``), all or nothing: every
    entry that is invalid, names no award, or names one that is not an award of this
    call that ``user`` may record results for (``policies.may_record``) is refused by
    entry and line in one answer, and nothing is stored. A DOI already linked to the
    same award (in any spelling: it is normalised) is skipped; the same DOI on two
    awards is linked to both (a paper of two awards, counted once in the report).
    Returns the new results and the number skipped."""
    if len(text.encode()) > MAX_CALL_IMPORT_BYTES:
        raise DomainError("The file is larger than %(n)s MiB.", n=MAX_CALL_IMPORT_BYTES // 2**20)
    fmt = fmt or importers.detect(filename, text)
    items, errors = _validated(fmt, text, MAX_CALL_IMPORT)
    # the awards the file names, read at once; who may record each is asked once per award
    awarded, allowed = _importable_awards(
        session, call, user, {award for _w, award, _i in items if award}
    )
    _refuse_unknown_awards([(where, award) for where, award, _i in items], allowed, errors)
    _refuse_before_award(items, q.awarded_on(call), errors)
    importers.refuse_entries(errors)
    ids = [awarded[c].id for c in allowed]
    seen = {
        (o.proposal_id, _key(o.doi, o.title, o.year, o.number))
        for o in session.scalars(select(ResearchOutput).where(ResearchOutput.proposal_id.in_(ids)))
    }
    new: list[ResearchOutput] = []
    skipped = 0
    for _where, award, item in items:
        p = awarded[award]
        key = (p.id, _key(item.doi, item.title, item.year, item.number))
        if key in seen:
            skipped += 1
            continue
        seen.add(key)
        new.append(_new_output(p, item, fmt, user.id))
    session.add_all(new)
    session.flush()
    code_of = {p.id: code for code, p in awarded.items()}
    by_award: dict[str, list[int]] = {}
    for o in new:
        by_award.setdefault(code_of[o.proposal_id], []).append(o.id)
    auditlog.record(
        session,
        "postaward.import",
        "call",
        call.id,
        actor_id=user.id,
        call_id=call.id,
        data={"format": fmt, "file": filename[:200], "added": by_award, "skipped": skipped},
    )
    return new, skipped


MAX_RECORD_IMPORT = 20_000
MAX_RECORD_IMPORT_BYTES = 8 * 1024 * 1024


def import_call_records(
    session: Session, call: Call, user: User, filename: str, text: str
) -> list[PostAwardRecord]:
    """Post-award records of many awards of ``call`` from one CSV file, all or nothing.
    The header names the columns: ``award`` (the award's code), ``kind`` (loan,
    shipment, berth, session, course, followup, package, other) and any field of the
    kinds (``results.schemas``); a row's empty cells are left out, so defaults apply.
    Every row without a code, naming an award ``user`` may not record for (the rule of
    :func:`import_call_outputs`), of a kind its award does not take, with an invalid
    field or a planned shipment of another award is refused by line in one answer, and
    nothing is stored; else every row is stored in this transaction and one
    ``postaward.import_records`` event names the new records by award. Returns them."""
    if len(text.encode()) > MAX_RECORD_IMPORT_BYTES:
        raise DomainError("The file is larger than %(n)s MiB.", n=MAX_RECORD_IMPORT_BYTES // 2**20)
    rows = importers.csv_rows(text, ("award", "kind"), MAX_RECORD_IMPORT)
    awarded, allowed = _importable_awards(session, call, user, {r["award"] for _w, r in rows})
    errors: list[DomainError] = []
    _refuse_unknown_awards([(where, r["award"]) for where, r in rows], allowed, errors)
    kinds = q.record_kinds_of_call(session, call)
    entries = q.shipment_entries_of_call(session, call)
    clean: list[tuple[Proposal, str, dict[str, Any], Award | None]] = []
    # the file's loans of items so far: a later line's loan of the same item waits for them
    lent: dict[str, list[tuple[dict[str, Any], bool, str]]] = {}
    stored = q.item_loans_of_facility(session, call.facility_id)
    for where, row in rows:
        if row["award"] not in allowed:
            continue  # refused above
        p = awarded[row["award"]]
        kind = row["kind"]
        data = {k: v for k, v in row.items() if k not in ("award", "kind") and v != ""}
        try:
            award = _award_of_row(session, p, data.pop("award_id", None))
            fields = validate_record(kind, data)
            _require_kind(kind, kinds.get(p.id, []))
            entry = fields.get("schedule_entry_id")
            if entry is not None and entries.get(entry) != p.id:
                raise DomainError(
                    "That planned shipment is not one of this proposal's.",
                    field="schedule_entry_id",
                )
            # the rules a record added by hand keeps (``add_record``)
            earlier = lent.get(str(fields.get("item") or "").casefold(), [])
            _require_item_free(session, call.id, kind, fields, None, earlier, stored)
            if award is None:
                _require_award_named(session, p, kind, fields)
            else:  # the use of the file's earlier lines on the award counts too
                earlier_use = [
                    float(f.get("used_amount") or 0)
                    for _p, k, f, a in clean
                    if a is not None and a.id == award.id and k == "other"
                ]
                _require_use_within_award(session, award, kind, fields, None, earlier_use)
        except DomainError as exc:
            errors.append(DomainError("%(where)s: %(message)s", where=shown(where), message=exc))
            continue
        clean.append((p, kind, fields, award))
        if kind == "loan" and fields.get("item"):
            lent.setdefault(str(fields["item"]).casefold(), []).append(
                (fields, d.is_complete(kind, fields), p.code or "")
            )
    importers.refuse_entries(errors)
    new = [
        PostAwardRecord(call_id=call.id, proposal_id=p.id, kind=kind, data=fields,
                        award_id=None if award is None else award.id,
                        reminders_sent=0, created_by=user.id)
        for p, kind, fields, award in clean
    ]  # fmt: skip
    session.add_all(new)
    session.flush()
    for rec in new:  # a lost item's resource out of service, as a record added by hand
        _close_lost_item(session, rec, None, user.id)
    by_award: dict[str, list[int]] = {}
    for (p, _kind, _fields, _award), rec in zip(clean, new, strict=True):
        by_award.setdefault(p.code, []).append(rec.id)
    auditlog.record(
        session,
        "postaward.import_records",
        "call",
        call.id,
        actor_id=user.id,
        call_id=call.id,
        data={"file": filename[:200], "added": by_award},
    )
    return new


def _award_of_row(session: Session, proposal: Proposal, raw: str | None) -> Award | None:
    """The award a records file's line names in its ``award_id`` column (the id the
    node's and the award's pages list), one of ``proposal``'s; None when the cell is
    empty (trialfac23: before, the column was refused as an unknown field, so the use
    of an award counted in more than one unit could not be imported at all)."""
    if raw is None:
        return None
    text = str(raw).strip()
    award = session.get(Award, int(text)) if text.isdecimal() and len(text) < 10 else None
    if award is None or award.proposal_id != proposal.id:
        raise DomainError("That award is not one of this proposal's.", field="award_id")
    return award


def claim_reminder(session: Session, rec: PostAwardRecord, today: dt.date) -> bool:
    """Count a reminder about the overdue loan ``rec`` as sent ``today``, in one statement
    that only matches while none was sent within ``REMIND_EVERY_DAYS`` days: True when this
    run claimed it (it then sends it), False when another run did meanwhile. Two runs at
    once cannot both claim it: PostgreSQL makes the second wait on the row and re-checks
    the condition once the first commits; SQLite has one writer at a time."""
    return _claim_record(session, rec, today - dt.timedelta(days=d.REMIND_EVERY_DAYS), today)


def claim_follow_up_reminder(
    session: Session, rec: PostAwardRecord, due: dt.date, today: dt.date
) -> bool:
    """Count a reminder about the follow-up wave due on ``due`` of the course record
    ``rec``'s participant as sent ``today``, as :func:`claim_reminder` does: the
    statement only matches while no reminder was sent since that wave fell due, or none
    within ``REPORT_REMIND_EVERY_DAYS`` days (``domain.follow_up_cutoff``)."""
    return _claim_record(session, rec, d.follow_up_cutoff(due, today), today)


def _claim_record(session: Session, rec: PostAwardRecord, cutoff: dt.date, today: dt.date) -> bool:
    """Claim a reminder about ``rec`` on ``today`` while its last one is on or before
    ``cutoff`` (or none was sent): one statement (see :func:`claim_reminder`)."""
    done = session.execute(
        update(PostAwardRecord)
        .where(
            PostAwardRecord.id == rec.id,
            or_(
                PostAwardRecord.last_reminded_on.is_(None),
                PostAwardRecord.last_reminded_on <= cutoff,
            ),
        )
        .values(reminders_sent=PostAwardRecord.reminders_sent + 1, last_reminded_on=today)
        .execution_options(synchronize_session=False)
    )
    session.expire(rec, ["reminders_sent", "last_reminded_on"])
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def mark_follow_up_reminded(
    session: Session,
    proposal: Proposal,
    waves: list[tuple[PostAwardRecord, int, dt.date]],
    *,
    to_user_id: int | None,
) -> None:
    """Audit the reminder to the PI of ``proposal`` about its participants' follow-up
    ``waves`` (course record, months, due day) claimed by :func:`claim_follow_up_reminder`."""
    auditlog.record(
        session,
        "postaward.follow_up_reminder",
        "proposal",
        proposal.id,
        call_id=proposal.call_id,
        data={
            "to": to_user_id,
            "records": [r.id for r, _, _ in waves],
            "waves": sorted({m for _, m, _ in waves}),
        },
    )


def claim_report_reminder(
    session: Session,
    proposal: Proposal,
    today: dt.date,
    max_reminders: int = d.REPORT_REMINDERS_MAX,
) -> bool:
    """Count a reminder to the PI of ``proposal`` (its first report overdue) as sent
    ``today``, as :func:`claim_reminder` does: the first one inserts the award's
    ``ReportReminder`` row (one per proposal: a second insert does nothing), a later one
    moves its day on only while none was sent within ``REPORT_REMIND_EVERY_DAYS`` days
    and fewer than ``max_reminders`` were sent (mail20b: then they stop)."""
    cutoff = today - dt.timedelta(days=d.REPORT_REMIND_EVERY_DAYS)
    moved = session.execute(
        update(ReportReminder)
        .where(
            ReportReminder.proposal_id == proposal.id,
            ReportReminder.last_reminded_on <= cutoff,
            ReportReminder.reminders_sent < max_reminders,
        )
        .values(reminders_sent=ReportReminder.reminders_sent + 1, last_reminded_on=today)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 1:  # type: ignore[attr-defined]
        claimed = True
    else:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        claimed = (
            session.scalar(
                insert(ReportReminder)
                .values(
                    call_id=proposal.call_id,
                    proposal_id=proposal.id,
                    reminders_sent=1,
                    first_reminded_on=today,
                    last_reminded_on=today,
                )
                .on_conflict_do_nothing(index_elements=["proposal_id"])
                .returning(ReportReminder.id)
            )
            is not None
        )
    rem = q.report_reminder(session, proposal.id)
    if rem is not None:
        session.refresh(rem)
    return claimed


def mark_reminded(
    session: Session, rec: PostAwardRecord, today: dt.date, *, to_user_id: int | None
) -> None:
    """Audit the reminder about ``rec`` claimed by :func:`claim_reminder`."""
    auditlog.record(
        session,
        "postaward.reminder",
        "postaward_record",
        rec.id,
        call_id=rec.call_id,
        data={"to": to_user_id, "days_overdue": d.days_overdue(rec.data, today)},
    )


def mark_report_reminded(
    session: Session, proposal: Proposal, today: dt.date, *, to_user_id: int | None
) -> None:
    """Audit the reminder to the PI of ``proposal`` claimed by :func:`claim_report_reminder`."""
    auditlog.record(
        session,
        "postaward.report_reminder",
        "proposal",
        proposal.id,
        call_id=proposal.call_id,
        data={"to": to_user_id, "due_on": d.report_due_on(q.awarded_on(proposal.call)).isoformat()},
    )


#: the states in which an applicant may still say which award a proposal continues
CONTINUATION_EDITABLE = ("draft", "submitted")


def set_continuation(
    session: Session,
    proposal: Proposal,
    earlier_id: int | None,
    *,
    actor: User,
    office: bool,
) -> Proposal:
    """Mark ``proposal`` as continuing the earlier award ``earlier_id`` (a multi-cycle
    programme's renewal, a trainee's second season, a loan extended; None: it continues
    none), audited ``proposal.continuation_set`` (outcomes19). ``office``: the actor is the
    call's user office, who may name any award of the provider (an award transferred to a
    new PI) at any time; an applicant names an award of their own (on its team) while the
    proposal may be edited. The earlier award must be of an earlier cycle of the same
    provider, held (not declined), not already continued by another proposal of this call,
    and must not lead back to this proposal. Refused with nothing changed."""
    lock_for_write(session, proposal)
    if not office and proposal.status not in CONTINUATION_EDITABLE:
        raise DomainError(
            "This proposal is %(status)s and can no longer be edited.",
            code="locked",
            status=proposal.status,
        )
    before = proposal.continues_id
    earlier: Proposal | None = None
    if earlier_id is not None:
        earlier = session.get(Proposal, earlier_id)
        # one message for an award that does not exist, is someone else's or is not
        # held: an applicant learns nothing of other people's proposals
        mine = earlier is not None and (
            office or (earlier.pi_user_id == actor.id or _on_team(session, earlier, actor.id))
        )
        same_provider = (
            earlier is not None
            and earlier.call.facility.provider_id == proposal.call.facility.provider_id
        )
        if earlier is None or not mine or not same_provider:
            raise DomainError("Name an award of your own at this provider.", field="continues")
        if earlier.id == proposal.id or earlier.call_id == proposal.call_id:
            raise DomainError(
                "A proposal continues an award of an earlier cycle, not one of this call.",
                field="continues",
            )
        if not policies.is_awarded(session, earlier):
            raise DomainError("Name an award of your own at this provider.", field="continues")
        if proposal.id in q.continuation_links(session, [earlier.id]):
            raise DomainError("That award already continues this proposal.", field="continues")
        other = session.scalar(
            select(Proposal.id).where(
                Proposal.call_id == proposal.call_id,
                Proposal.continues_id == earlier.id,
                Proposal.id != proposal.id,
                Proposal.status != "withdrawn",
            )
        )
        if other is not None:
            raise DomainError(
                "Another proposal of this call already continues that award.",
                field="continues",
            )
    proposal.continues_id = earlier.id if earlier is not None else None
    if before != proposal.continues_id:
        auditlog.record(
            session,
            "proposal.continuation_set",
            "proposal",
            proposal.id,
            actor_id=actor.id,
            call_id=proposal.call_id,
            data={
                "proposal": proposal.code,
                "continues": earlier.code if earlier is not None else None,
                "continues_call": earlier.call.code if earlier is not None else None,
                "by_office": office,
            },
        )
    session.flush()
    return proposal


def _on_team(session: Session, proposal: Proposal, user_id: int) -> bool:
    """``user_id`` is an accepted member of ``proposal``'s team."""
    return (
        session.scalar(
            select(TeamMember.id).where(
                TeamMember.proposal_id == proposal.id,
                TeamMember.user_id == user_id,
                TeamMember.status == "accepted",
            )
        )
        is not None
    )
