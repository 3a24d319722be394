"""``/api/v1/awards/{proposal_id}``: an award's post-award records and results
(its team and the provider's user office), ``/api/v1/calls/{slug}/postaward``
(the user office's overview), and ``/api/v1/calls/{slug}/node/...``: the awards,
bookings and records of the resources a node's staff look after (the user office: all)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from opencall.allocation import later_parts
from opencall.allocation.models import DECLINE_REASONS, Award, AwardLaterPart
from opencall.calls.access import CallListRequest, call_list, signed_in_call_api
from opencall.calls.models import Call
from opencall.calls.policies import may_administer
from opencall.db import utc_today
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.inputs import BoundedDate
from opencall.proposals.models import Proposal
from opencall.proposals.policies import membership
from opencall.results import declines, ends, policies, services
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.results.models import PostAwardRecord, ResearchOutput
from opencall.results.schemas import OutputIn
from opencall.scheduling.models import ScheduleEntry
from opencall.web.api import (
    APPLY_OR_MANAGE,
    ERRORS,
    MANAGE,
    MAX_ID,
    NOT_FOUND,
    SLUG,
    Api,
    Paged,
    PageRequest,
    from_row,
    get_api,
    id_param,
    keyset_page,
    paging,
)

router = APIRouter(prefix="/api/v1", tags=["results"])
# a write of what an award produced: the apply or manage scope, refusals documented
RECORDS: dict[str, Any] = {"responses": ERRORS, "dependencies": [APPLY_OR_MANAGE]}


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["loan", "shipment", "berth", "session", "course", "followup", "package", "other"]
    data: dict[str, Any]
    award_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class RecordUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any]


class RecordOut(BaseModel):
    id: int
    kind: str
    award_id: int | None
    data: dict[str, Any]
    used: bool
    complete: bool
    overdue: bool
    reminders_sent: int


class OutputOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the ResearchOutput row

    id: int
    kind: str
    doi: str
    #: a patent's publication number ("CN112345678A"); "" for other kinds
    number: str = ""
    title: str
    year: int
    published_on: dt.date | None
    countries: list[str]
    #: the authors' ORCID iDs that were given (canonical)
    orcids: list[str] = []
    acknowledges: bool
    source: str
    #: the day it was retracted or withdrawn (then counted in no figure), else None
    retracted_on: dt.date | None = None
    retraction_note: str = ""


class RetractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retracted_on: BoundedDate
    note: str = Field(min_length=1, max_length=services.MAX_RETRACTION_NOTE)


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["bibtex", "ris", "csl-json"]
    content: str = Field(min_length=1, max_length=services.MAX_IMPORT_BYTES)
    filename: str = Field(default="upload", max_length=200)


class ImportOut(BaseModel):
    added: list[OutputOut]
    skipped: int


class AwardedOut(BaseModel):
    """One award of the proposal: what a use is recorded against (``award_id``)."""

    id: int
    pool: str
    unit: str
    amount: float


class LaterPartOut(BaseModel):
    """A later period's part of a multi-period award (outcomes23, shown since outcomes24)."""

    id: int
    later_call: str = Field(description="the later period's call (its slug)")
    later_call_title: str
    resource_id: int
    resource: str
    unit: str
    amount: float
    status: Literal["held", "released", "returned"] = Field(
        description="held against the later call's offer until the progress report is "
        "answered: released to the programme (accepted) or returned (not accepted, or the "
        "award ended or was declined)"
    )
    note: str = Field(description="the user office's word on the progress report")
    decided_at: dt.datetime | None


class LaterPartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    later_call: str = Field(min_length=1, max_length=200, description="the later call's slug")
    resource_id: int = Field(ge=1, le=MAX_ID, description="a resource the later call offers")
    amount: float = Field(description="the later period's part, in the resource's unit")


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool = Field(description="true: release the part; false: return it")
    note: str = Field(
        max_length=later_parts.MAX_NOTE, description="required: what the report showed"
    )


def _later_parts_out(api: Api, proposal_id: int) -> list[LaterPartOut]:
    return [
        _later_part_out(part, call, pool)
        for part, call, pool in later_parts.parts_shown(api.db, proposal_id)
    ]


def _later_part_out(part: AwardLaterPart, call: Call, pool: CapacityPool) -> LaterPartOut:
    return LaterPartOut(
        id=part.id,
        later_call=call.slug,
        later_call_title=call.title,
        resource_id=pool.id,
        resource=pool.name,
        unit=pool.unit,
        amount=part.amount,
        status=part.status,  # type: ignore[arg-type]
        note=part.note,
        decided_at=part.decided_at,
    )


def _held_part_out(api: Api, part: AwardLaterPart) -> LaterPartOut:
    """A part just held or answered, with its later call and resource read."""
    call = api.db.get_one(Call, part.later_call_id)
    return _later_part_out(part, call, api.db.get_one(CapacityPool, part.pool_id))


class AwardOut(BaseModel):
    proposal_code: str
    kinds: list[str]
    #: the proposal's awards; a use on awards in more than one unit names one (award_id)
    awards: list[AwardedOut] = []
    records: list[RecordOut]
    outputs: list[OutputOut]
    summary: dict[str, Any]
    #: the later periods' parts of a multi-period award (outcomes24)
    later_parts: list[LaterPartOut] = []


class StageOut(BaseModel):
    proposal_code: str
    used: bool
    completed: bool
    produced_results: bool
    days_to_first_result: int | None
    report_due_on: dt.date | None = Field(
        default=None, description="the day the award's first report (a record or result) is due"
    )
    report_overdue: bool = Field(
        default=False,
        description="nothing reported by that day (never for an award the office ended)",
    )
    report_reminders: int = Field(default=0, description="reminders sent to the PI")
    last_report_reminder: dt.date | None = None
    use: dict[str, float] = Field(
        default_factory=dict,
        description="what the award was given and used (results.domain.use_figures): "
        "awarded:<unit>, used:<unit>, lost_hours:<reason>, loans, loans_returned_on_time, "
        "loans_returned_late, loans_overdue, loans_consumed, loans_lost, lost_weeks:outage "
        "(a lost item's weeks from lost_on to its due day), samples_taken, participants...",
    )


class StageList(Paged[StageOut]):
    pass


def _record_out(r: PostAwardRecord) -> RecordOut:
    return from_row(
        RecordOut,
        r,
        used=d.is_used(r.kind, r.data),
        complete=d.is_complete(r.kind, r.data),
        overdue=d.is_overdue(r.kind, r.data, utc_today()),
    )


def _award(api: Api, proposal_id: int, *, record: bool = False) -> Proposal:
    user = api.require_user()
    allowed = policies.may_record if record else policies.may_see_records
    return api.get_visible(Proposal, proposal_id, lambda p: allowed(api.db, user, p))


@router.get("/awards/{proposal_id}", response_model=AwardOut, responses=NOT_FOUND)
def award(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> AwardOut:
    p = _award(api, proposal_id)
    return AwardOut(
        proposal_code=p.code,
        kinds=q.record_kinds(api.db, p.id),
        awards=[
            AwardedOut(id=a.id, pool=pool.name, unit=pool.unit, amount=float(a.amount))
            for a, pool in q.awards_of(api.db, p.id)
        ],
        records=[_record_out(r) for r in q.records_of(api.db, p.id)],
        outputs=[OutputOut.model_validate(o) for o in q.outputs_of(api.db, p.id)],
        summary=q.summary(api.db, p, utc_today()),
        later_parts=_later_parts_out(api, p.id),
    )


@router.post("/awards/{proposal_id}/records", response_model=RecordOut, status_code=201, **RECORDS)
def add_record(
    body: RecordIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> RecordOut:
    p = _award(api, proposal_id, record=True)
    with api.saving():
        rec = services.add_record(
            api.db,
            p,
            body.kind,
            body.data,
            actor_id=api.actor_id,
            award_id=body.award_id,
        )
    return _record_out(rec)


@router.put("/awards/{proposal_id}/records/{record_id}", response_model=RecordOut, **RECORDS)
def update_record(
    body: RecordUpdate,
    proposal_id: int = id_param(),
    record_id: int = id_param(),
    api: Api = Depends(get_api),
) -> RecordOut:
    p = _award(api, proposal_id, record=True)
    rec = api.get_visible(PostAwardRecord, record_id, lambda r: r.proposal_id == p.id)
    with api.saving():
        services.update_record(api.db, rec, body.data, actor_id=api.actor_id)
    return _record_out(rec)


@router.delete("/awards/{proposal_id}/records/{record_id}", status_code=204, **RECORDS)
def remove_record(
    proposal_id: int = id_param(),
    record_id: int = id_param(),
    reason: str = Query(default="", max_length=services.MAX_RETRACTION_NOTE),
    api: Api = Depends(get_api),
) -> Response:
    """Remove a record kept in error (``reason``, required, says why): no figure counts
    it any more; the audit log keeps what it held."""
    p = _award(api, proposal_id, record=True)
    rec = api.get_visible(PostAwardRecord, record_id, lambda r: r.proposal_id == p.id)
    with api.saving():
        services.remove_record(api.db, rec, reason=reason, actor_id=api.actor_id)
    return Response(status_code=204)


@router.post("/awards/{proposal_id}/outputs", response_model=OutputOut, status_code=201, **RECORDS)
def add_output(
    body: OutputIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> OutputOut:
    p = _award(api, proposal_id, record=True)
    with api.saving():
        o = services.add_output(api.db, p, body.model_dump(mode="json"), actor_id=api.actor_id)
    return OutputOut.model_validate(o)


def _output(api: Api, proposal_id: int, output_id: int) -> ResearchOutput:
    p = _award(api, proposal_id, record=True)
    return api.get_visible(ResearchOutput, output_id, lambda o: o.proposal_id == p.id)


@router.put("/awards/{proposal_id}/outputs/{output_id}", response_model=OutputOut, **RECORDS)
def update_output(
    body: OutputIn,
    proposal_id: int = id_param(),
    output_id: int = id_param(),
    api: Api = Depends(get_api),
) -> OutputOut:
    """Correct a result (every field given again, checked as a new result's): every
    figure follows; audited with the fields before and after."""
    o = _output(api, proposal_id, output_id)
    with api.saving():
        services.update_output(api.db, o, body.model_dump(mode="json"), actor_id=api.actor_id)
    return OutputOut.model_validate(o)


@router.delete("/awards/{proposal_id}/outputs/{output_id}", status_code=204, **RECORDS)
def remove_output(
    proposal_id: int = id_param(),
    output_id: int = id_param(),
    reason: str = Query(default="", max_length=services.MAX_RETRACTION_NOTE),
    api: Api = Depends(get_api),
) -> Response:
    """Withdraw a result linked in error (``reason``, required, says why): no figure
    counts it any more; the audit log keeps what it held. A result retracted by its
    journal is marked so instead (``PUT .../retraction``)."""
    o = _output(api, proposal_id, output_id)
    with api.saving():
        services.remove_output(api.db, o, reason=reason, actor_id=api.actor_id)
    return Response(status_code=204)


@router.put("/awards/{proposal_id}/outputs/{output_id}/retraction", response_model=OutputOut,
            **RECORDS)  # fmt: skip
def retract_output(
    body: RetractIn,
    proposal_id: int = id_param(),
    output_id: int = id_param(),
    api: Api = Depends(get_api),
) -> OutputOut:
    """Mark a result retracted or withdrawn: kept, listed with its day and note, and
    counted in no figure of the award, the report or the public pages."""
    o = _output(api, proposal_id, output_id)
    with api.saving():
        services.retract_output(
            api.db, o, on=body.retracted_on, note=body.note, actor_id=api.actor_id
        )
    return OutputOut.model_validate(o)


@router.delete("/awards/{proposal_id}/outputs/{output_id}/retraction", response_model=OutputOut,
               **RECORDS)  # fmt: skip
def restore_output(
    proposal_id: int = id_param(), output_id: int = id_param(), api: Api = Depends(get_api)
) -> OutputOut:
    """Undo a retraction entered by mistake: the result counts again."""
    o = _output(api, proposal_id, output_id)
    with api.saving():
        services.restore_output(api.db, o, actor_id=api.actor_id)
    return OutputOut.model_validate(o)


@router.post(
    "/awards/{proposal_id}/outputs/import", response_model=ImportOut, status_code=201, **RECORDS
)
def import_outputs(
    body: ImportIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ImportOut:
    p = _award(api, proposal_id, record=True)
    with api.saving():
        new, skipped = services.import_outputs(
            api.db,
            p,
            body.filename,
            body.content,
            fmt=body.format,
            actor_id=api.actor_id,
        )
    return ImportOut(added=[OutputOut.model_validate(o) for o in new], skipped=skipped)


class CallImportIn(ImportIn):
    content: str = Field(min_length=1, max_length=services.MAX_CALL_IMPORT_BYTES)


class CallImportOut(BaseModel):
    added: int = Field(description="results stored, over every award the file names")
    skipped: int = Field(description="entries already linked to their award")


@router.post(
    "/calls/{slug}/outputs/import", response_model=CallImportOut, status_code=201, **RECORDS
)
def import_call_outputs(
    body: CallImportIn, slug: str = SLUG, api: Api = Depends(get_api)
) -> CallImportOut:
    """A results file for many awards of the call (the user office's): each entry names
    its award's code (BibTeX ``award``, RIS ``C2``, CSL-JSON ``award``); all or nothing,
    every refused entry named with its line (see docs/operators.md)."""
    call = signed_in_call_api(api, slug, policies.may_see_call_records)
    user = api.require_user()
    with api.saving():
        new, skipped = services.import_call_outputs(
            api.db, call, user, body.filename, body.content, fmt=body.format
        )
    return CallImportOut(added=len(new), skipped=skipped)


class RecordsImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1, max_length=services.MAX_RECORD_IMPORT_BYTES)
    filename: str = Field(default="upload.csv", max_length=200)


class RecordsImportOut(BaseModel):
    added: int = Field(description="records stored, over every award the file names")


@router.post(
    "/calls/{slug}/records/import", response_model=RecordsImportOut, status_code=201, **RECORDS
)
def import_call_records(
    body: RecordsImportIn, slug: str = SLUG, api: Api = Depends(get_api)
) -> RecordsImportOut:
    """Post-award records of many awards of the call from one CSV file (the user
    office's): columns ``award`` (the award's code), ``kind`` and the kind's fields; all
    or nothing, every refused row named with its line (see docs/operators.md)."""
    call = signed_in_call_api(api, slug, policies.may_see_call_records)
    user = api.require_user()
    with api.saving():
        new = services.import_call_records(api.db, call, user, body.filename, body.content)
    return RecordsImportOut(added=len(new))


@router.get("/calls/{slug}/postaward", response_model=StageList, responses=NOT_FOUND)
def call_stages(
    slug: str = SLUG,
    report: Literal["overdue", "pending", "reported"] | None = Query(
        default=None,
        description="only the awards whose first report is overdue (nothing reported by "
        "its due day), pending (nothing reported, not yet due) or reported (a record or a "
        "result); an award the user office ended is owed no report: neither overdue nor "
        "pending",
    ),
    api: Api = Depends(get_api),
    page: PageRequest = Depends(paging),
) -> StageList:
    """The call's awarded proposals by code, a page at a time (as the overview page)."""
    call = signed_in_call_api(api, slug, policies.may_see_call_records)
    keys = [(Proposal.code, str), (Proposal.id, int)]
    stmt = q.awarded_proposals_query(call, report=report, today=utc_today())
    shown, pg = keyset_page(api.db, stmt, keys, page, lambda p: (p.code, p.id))
    stages = q.stages_of_call(api.db, call, [p.id for p in shown])
    return StageList(
        items=[StageOut(proposal_code=p.code, **stages[p.id]) for p in shown if p.id in stages],
        page=pg,
    )


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal[DECLINE_REASONS] = Field(  # type: ignore[valid-type]
        description="visa (visa or travel refused), funding, dates (no longer possible), other"
    )
    note: str = Field("", max_length=2000)
    confirm: bool = Field(False, description="true: decline the whole award (cannot be undone)")


class FreedOut(BaseModel):
    pool_id: int
    amount: float


class DeclineOut(BaseModel):
    proposal_id: int
    reason: str
    note: str
    declined_at: dt.datetime
    freed: list[FreedOut]
    entries_released: int
    created: bool = Field(description="false when the award had been declined before")


@router.post("/awards/{proposal_id}/decline", response_model=DeclineOut, **RECORDS)
def decline(
    body: DeclineIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> DeclineOut:
    """Decline the award (its PI; the whole proposal): the capacity and the schedule's
    entries are freed and the call's staff mailed. Sent again, it changes nothing."""
    user = api.require_user()
    p = api.get_visible(Proposal, proposal_id, lambda x: policies.may_decline(api.db, user, x))
    with api.saving():
        if not body.confirm and declines.declined(api.db, p.id) is None:
            raise DomainError("Tick the box to confirm.", field="confirm")
        row, created = declines.decline_award(
            api.db,
            p,
            reason=body.reason,
            note=body.note,
            actor_id=api.actor_id,
            base_url=api.request.app.state.settings.base_url,
        )
    return DeclineOut(
        proposal_id=p.id,
        reason=row.reason,
        note=row.note,
        declined_at=row.created_at,
        freed=[FreedOut(pool_id=f["pool_id"], amount=f["amount"]) for f in row.freed],
        entries_released=row.entries_released,
        created=created,
    )


def _office_award(api: Api, slug: str, proposal_id: int) -> Proposal:
    """The proposal of a call the caller's user office administers; else the API's 404."""
    call = signed_in_call_api(api, slug, may_administer)
    return api.get_visible(Proposal, proposal_id, lambda x: x.call_id == call.id)


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal[DECLINE_REASONS] = Field(  # type: ignore[valid-type]
        description="visa (visa or travel refused), funding, dates (no longer possible), other"
    )
    note: str = Field(max_length=2000, description="required: the PI's words, or the office's")
    confirm: bool = Field(False, description="true: end the award (cannot be undone)")


class ReturnedOut(BaseModel):
    pool_id: int
    unit: str
    awarded: float
    used: float
    returned: float


class EndOut(BaseModel):
    proposal_id: int
    reason: str
    note: str
    ended_at: dt.datetime
    returned: list[ReturnedOut]
    entries_released: int
    created: bool = Field(description="false when the award had been ended before")


@router.post(
    "/calls/{slug}/awards/{proposal_id}/end",
    response_model=EndOut,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def end_award(
    body: EndIn, slug: str = SLUG, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> EndOut:
    """The user office ends an award its PI returned (outcomes22): the part not used is
    returned, the coming schedule entries released, the records and results kept (see
    docs/operators.md). Sent again, it changes nothing."""
    p = _office_award(api, slug, proposal_id)
    with api.saving():
        if not body.confirm and ends.ended(api.db, p.id) is None:
            raise DomainError("Tick the box to confirm.", field="confirm")
        row, created = ends.end_award(api.db, p, reason=body.reason, note=body.note, actor=api.user)
    return EndOut(
        proposal_id=p.id,
        reason=row.reason,
        note=row.note,
        ended_at=row.created_at,
        returned=[ReturnedOut(**{k: x[k] for k in ReturnedOut.model_fields}) for x in row.returned],
        entries_released=row.entries_released,
        created=created,
    )


@router.post(
    "/calls/{slug}/awards/{proposal_id}/later-parts",
    response_model=LaterPartOut,
    status_code=201,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def hold_later_part(
    body: LaterPartIn, slug: str = SLUG, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> LaterPartOut:
    """The user office holds a later period's part of a multi-period award against a later
    call its office manages (outcomes24; ``opencall postaward later-part``); the PI is
    mailed that the progress report is due before that call's allocation."""
    p = _office_award(api, slug, proposal_id)
    with api.saving():
        part = later_parts.hold_for_office(
            api.db, p, body.later_call, body.resource_id, body.amount, actor=api.require_user(),
            base_url=api.request.app.state.settings.base_url,
        )  # fmt: skip
    return _held_part_out(api, part)


@router.post(
    "/calls/{slug}/awards/{proposal_id}/later-parts/{part_id}/progress",
    response_model=LaterPartOut,
    responses=ERRORS,
    dependencies=[MANAGE],
)
def answer_progress(
    body: ProgressIn,
    slug: str = SLUG,
    proposal_id: int = id_param(),
    part_id: int = id_param(),
    api: Api = Depends(get_api),
) -> LaterPartOut:
    """The user office's answer to the progress report before a later part's period
    (``opencall postaward progress``): accepted, the part is released; not, returned. The
    PI is mailed the answer and the note. A part answered already: 409."""
    p = _office_award(api, slug, proposal_id)
    part = api.get_visible(AwardLaterPart, part_id, lambda x: x.proposal_id == p.id)
    with api.saving():
        later_parts.decide_later_part(
            api.db, part, accepted=body.accept, note=body.note, actor_id=api.actor_id,
            base_url=api.request.app.state.settings.base_url,
        )  # fmt: skip
    return _held_part_out(api, part)


# ---- a node's awards, bookings and records (``NodeStaff``; the user office: every node)


class NodeAwardOut(BaseModel):
    award_id: int
    proposal_code: str
    title: str
    resource_id: int
    resource: str
    amount: float
    unit: str
    records: list[RecordOut] = Field(description="the post-award records linked to this award")


class NodeAwardList(Paged[NodeAwardOut]):
    pass


class BookingOut(BaseModel):
    id: int
    proposal_code: str
    resource_id: int
    resource: str
    kind: str
    label: str
    start: dt.datetime | None = Field(description="UTC")
    end: dt.datetime | None = Field(description="UTC")
    amount: float
    time_zone: str = Field(description="the resource's IANA zone; empty: UTC")
    local_start: str = Field(description="start on the resource's clock, with its offset")
    local_end: str
    unit: str = Field(default="", description="the unit of amount: the resource's unit key")


class BookingList(Paged[BookingOut]):
    pass


class NodeRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["loan", "shipment", "berth", "session", "course", "followup", "package", "other"]
    data: dict[str, Any]


def _node(api: Api, slug: str) -> tuple[Call, frozenset[int] | None]:
    """The call and the resources the caller looks after (None: all), else 404."""
    call = signed_in_call_api(api, slug, policies.may_see_node)
    return call, policies.node_pools(api.db, api.user, call)


#: a route's dependency: a page of one of a call's node lists (awards, bookings), the call
#: one whose node the caller staffs (or its user office), else 401 or the API's 404
node_list = call_list(policies.may_see_node)


@router.get("/calls/{slug}/node/awards", response_model=NodeAwardList, responses=NOT_FOUND)
def node_awards(listed: CallListRequest = Depends(node_list)) -> NodeAwardList:
    """The awards at the caller's resources (a node's staff; the user office: every
    resource), by resource and code, each with its post-award records."""
    api, call = listed.api, listed.call
    rows, pg = listed.rows(
        q.node_awards_query(call, policies.node_pools(api.db, api.user, call)),
        [(CapacityPool.name, str), (Proposal.code, str), (Award.id, int)],
        lambda r: (r[2].name, r[1].code, r[0].id),
    )
    recs = q.records_of_awards(api.db, [a.id for a, _p, _pool in rows])
    return NodeAwardList(
        items=[
            NodeAwardOut(
                award_id=a.id,
                proposal_code=p.code,
                title=p.title,
                resource_id=pool.id,
                resource=pool.name,
                amount=a.amount,
                unit=pool.unit,
                records=[_record_out(r) for r in recs.get(a.id, [])],
            )
            for a, p, pool in rows
        ],
        page=pg,
    )


@router.get("/calls/{slug}/node/bookings", response_model=BookingList, responses=NOT_FOUND)
def node_bookings(listed: CallListRequest = Depends(node_list)) -> BookingList:
    """The schedule's entries on the caller's resources (a node's staff; the user office:
    every resource), by resource and start; the same rows as ``/node/calls/{slug}/bookings.csv``."""
    api, call = listed.api, listed.call
    rows, pg = listed.rows(
        q.node_bookings_query(call, policies.node_pools(api.db, api.user, call)),
        [(CapacityPool.name, str), (ScheduleEntry.id, int)],
        lambda r: (r[2].name, r[0].id),
    )
    return BookingList(
        items=[BookingOut(**d.booking(e, p.code, pool)) for e, p, pool in rows], page=pg
    )


class ResourceFigures(BaseModel):
    resource_id: int
    name: str
    unit: str
    offered: float
    awarded: float
    awards: int
    bookings: int = Field(description="entries of the schedule on the resource")
    records: int = Field(description="post-award records linked to its awards")


class ProviderFigures(BaseModel):
    provider: str = Field(description="the provider's slug")
    name: str
    role: Literal["owner", "partner"] = Field(description="owner: the call's own provider")
    resources: list[ResourceFigures]


class ProviderFiguresList(BaseModel):
    items: list[ProviderFigures]


@router.get("/calls/{slug}/node/providers", response_model=ProviderFiguresList, responses=NOT_FOUND)
def node_providers(slug: str = SLUG, api: Api = Depends(get_api)) -> ProviderFiguresList:
    """Each provider's figures in the call (a joint call has several): what it offers of
    each resource, what was awarded, the bookings and the post-award records; the caller's
    resources alone (the user office: every one), the owner first."""
    call, pools = _node(api, slug)
    items = [
        ProviderFigures(
            provider=prov.slug,
            name=prov.name,
            role="owner" if prov.id == call.provider_id else "partner",
            resources=[
                ResourceFigures(
                    resource_id=pool.id,
                    name=pool.name,
                    unit=pool.unit,
                    offered=f["offered"],
                    awarded=f["awarded"],
                    awards=int(f["awards"]),
                    bookings=int(f["bookings"]),
                    records=int(f["records"]),
                )
                for pool, f in rows
            ],
        )
        for prov, rows in q.figures_by_provider(api.db, call, pools)
    ]
    return ProviderFiguresList(items=items)


@router.post(
    "/calls/{slug}/node/awards/{award_id}/records",
    response_model=RecordOut,
    status_code=201,
    **RECORDS,
)
def add_node_record(
    body: NodeRecordIn, slug: str = SLUG, award_id: int = id_param(), api: Api = Depends(get_api)
) -> RecordOut:
    """A record of an award at the caller's resource (a shipment that reached the lab, a
    session held), linked to that award."""
    call, pools = _node(api, slug)
    award = api.get_visible(
        Award, award_id, lambda a: a.call_id == call.id and policies.at_node(pools, a.pool_id)
    )
    with api.saving():
        rec = services.add_node_record(api.db, award, body.kind, body.data, actor_id=api.actor_id)
    return _record_out(rec)


def _node_record(
    api: Api, call: Call, pools: frozenset[int] | None, record_id: int
) -> PostAwardRecord:
    def mine(r: PostAwardRecord) -> bool:
        if r.call_id != call.id:
            return False
        if pools is None:
            return True
        award = api.db.get(Award, r.award_id) if r.award_id is not None else None
        return award is not None and policies.at_node(pools, award.pool_id)

    return api.get_visible(PostAwardRecord, record_id, mine)


@router.put("/calls/{slug}/node/records/{record_id}", response_model=RecordOut, **RECORDS)
def update_node_record(
    body: RecordUpdate, slug: str = SLUG, record_id: int = id_param(), api: Api = Depends(get_api)
) -> RecordOut:
    """Correct a record of an award at the caller's resource (the kind stays)."""
    call, pools = _node(api, slug)
    rec = _node_record(api, call, pools, record_id)
    with api.saving():
        services.update_record(api.db, rec, body.data, actor_id=api.actor_id)
    return _record_out(rec)


class ContinuationIn(BaseModel):
    """The earlier award a proposal continues: that award's proposal id (as in
    ``/awards/{id}``), or null when it continues none (outcomes19)."""

    model_config = ConfigDict(extra="forbid")
    continues: int | None = Field(default=None, ge=1, le=MAX_ID)


class ContinuationOut(BaseModel):
    proposal_code: str
    #: the earlier award (``results.queries.continuation_of``: its id, code, title, call,
    #: cycle, and the programme's first award's code and cycle); null: none
    continues: dict[str, Any] | None


@router.put("/proposals/{proposal_id}/continues", response_model=ContinuationOut, **RECORDS)
def set_continuation(
    body: ContinuationIn, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> ContinuationOut:
    """Say which earlier award of your own a proposal continues (a programme renewed
    each cycle, a trainee's second season, a loan extended), while it may be edited; the
    call's user office at any time, for any award of the provider (a transfer to a new
    PI). 400 with nothing changed for an award that is not one of yours, not held, of
    this call, or already continued in this call."""
    user = api.require_user()
    p = api.get_visible(
        Proposal,
        proposal_id,
        lambda p: membership(p, user) is not None or may_administer(api.db, user, p.call),
    )
    office = may_administer(api.db, user, p.call)
    with api.saving():
        services.set_continuation(api.db, p, body.continues, actor=user, office=office)
    return ContinuationOut(proposal_code=p.code, continues=q.continuation_of(api.db, p))
