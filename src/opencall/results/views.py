"""After the award, on the web: the award's records and results for its team and
the provider's user office (``/awards/{proposal_id}``), and the user office's
overview of a call (``/manage/calls/{slug}/postaward``)."""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import types
import typing
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from opencall.allocation import later_parts
from opencall.allocation.models import DECLINE_REASONS, Award, AwardLaterPart
from opencall.allocation.presenters import DECLINE_REASON_LABELS, decline_labels
from opencall.calls.access import office_call, signed_in_call
from opencall.calls.models import Call
from opencall.calls.policies import may_administer
from opencall.db import utc_today
from opencall.errors import DomainError
from opencall.facilities.labels import RECORD_KIND_LABELS, unit_labels
from opencall.facilities.models import CapacityPool
from opencall.inputs import calendar_date, whole_number
from opencall.proposals.models import Proposal
from opencall.proposals.policies import membership
from opencall.results import declines, ends, policies, services
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.results.labels import (
    CHOICE_LABELS,
    FIELD_LABELS,
    OUTPUT_LABELS,
    REPORT_LABELS,
    STAGE_LABELS,
)
from opencall.results.models import PostAwardRecord, ResearchOutput
from opencall.results.schemas import RECORD_SCHEMAS
from opencall.scheduling import presenters as schedule_presenters
from opencall.scheduling.models import ScheduleEntry
from opencall.web.api import MAX_ID
from opencall.web.csv import csv_response, wants_csv
from opencall.web.forms import MSG_CONFIRM
from opencall.web.i18n import N_
from opencall.web.pages import Page, Refusal, get_page
from opencall.web.paging import paginate_query

router = APIRouter()


def _input_type(annotation: Any) -> tuple[str, list[str]]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Literal:
        return "select", [str(a) for a in typing.get_args(annotation)]
    if annotation is bool:
        return "checkbox", []
    if annotation is dt.date:
        return "date", []
    if annotation in (int, float):
        return "number", []
    return "text", []


@functools.cache
def date_fields() -> frozenset[str]:
    """The record fields that hold a day (any kind): the award page writes them in the
    reader's language (the ``day`` filter), its forms' inputs keep ISO."""
    return frozenset(
        f["name"] for k in RECORD_SCHEMAS for f in field_specs(k) if f["type"] == "date"
    )


def counts_text(counts: dict[str, Any]) -> str:
    """Counts by code as the form writes them ("ETH 20, KEN 10")."""
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def field_specs(kind: str) -> list[dict[str, Any]]:
    """The inputs of a kind's form, from its pydantic schema (any kind, any field)."""
    model: type[BaseModel] = RECORD_SCHEMAS[kind]
    out = []
    for name, f in model.model_fields.items():
        itype, options = _input_type(f.annotation)
        out.append(
            {
                "name": name,
                "label": FIELD_LABELS.get(name, name),
                "type": itype,
                "options": options,
                "required": f.is_required(),
            }
        )
    return out


def form_data(page: Page, kind: str) -> dict[str, Any]:
    """The submitted fields of a kind (empty inputs left out, so defaults apply)."""
    data: dict[str, Any] = {}
    for spec in field_specs(kind):
        name = spec["name"]
        if spec["type"] == "checkbox":
            data[name] = page.form.get(name) in ("on", "yes", "true", "1")
            continue
        value = page.form.get(name, "").strip()
        if value != "" or spec["type"] == "select":
            data[name] = value
    return data


def award_for(page: Page, proposal_id: int) -> Proposal:
    page.require_user()
    return page.get_visible(
        Proposal, proposal_id, lambda p: policies.may_see_records(page.db, page.user, p)
    )


def _label(page: Page, table: dict[str, str], key: str) -> str:
    return page._(table[key]) if key in table else str(key)


def render_award(
    page: Page,
    proposal: Proposal,
    *,
    status: int = 200,
    error: str = "",
    sent: str = "",
    field: str | None = None,
) -> HTMLResponse:
    """The award's page; after a refusal, ``sent`` names the form that was sent (its
    ``<details>`` id): it comes back open, with what was typed in it and the error
    beside it (``field``, the field refused, marked)."""
    kinds = q.record_kinds(page.db, proposal.id)
    today = utc_today()
    records = q.records_of(page.db, proposal.id)
    awards = q.awards_of(page.db, proposal.id)
    unit_words = {d.unit_key(pool.unit): pool.unit_labels for _a, pool in awards}
    may_hold = may_administer(page.db, page.user, proposal.call)
    later = later_parts.parts_shown(page.db, proposal.id)
    holding = later_parts.holding_calls(page.db, page.user, proposal) if may_hold else []
    return page.render(
        "results/award.html",
        {
            "p": proposal,
            "awards": awards,
            # a use is of one of these when they count in more than one unit (usecount17)
            "award_choice": awards if len({pool.unit for _a, pool in awards}) > 1 else [],
            "records": [
                {
                    "r": r,
                    "overdue": d.is_overdue(r.kind, r.data, today),
                    "used": d.is_used(r.kind, r.data),
                    "complete": d.is_complete(r.kind, r.data),
                }
                for r in records
            ],
            "outputs": q.outputs_of(page.db, proposal.id),
            "team_orcids": q.team_orcids(page.db, proposal),
            "planned": q.planned_shipments(page.db, proposal.id) if "shipment" in kinds else [],
            "entry_label": lambda e: schedule_presenters.label(page.t, e),
            "summary": q.summary(page.db, proposal, today),
            "kinds": kinds,
            "specs": {k: field_specs(k) for k in kinds},
            "date_fields": date_fields(),
            "kind_label": lambda k: _label(page, RECORD_KIND_LABELS, k),
            "field_label": lambda n: _label(page, FIELD_LABELS, n),
            "choice_label": lambda c: _label(page, CHOICE_LABELS, c),
            # a mapping field (a follow-up's trainees' countries, outcomes22) as the form
            # takes it: "ETH 20, KEN 10"
            "as_text": counts_text,
            "form_values": lambda data: {
                k: counts_text(v) if isinstance(v, dict) else v for k, v in data.items()
            },
            "output_label": lambda k: _label(page, OUTPUT_LABELS, k),
            "unit_words": unit_words,
            **unit_labels(page),
            "stage_labels": {k: page._(v) for k, v in STAGE_LABELS.items()},
            "error": error,
            "sent": sent,
            "typed": dict(page.form) if sent else {},
            "bad_field": field if sent else None,
            "may_record": policies.may_record(page.db, page.user, proposal),
            "may_decline": policies.may_decline(page.db, page.user, proposal),
            # a multi-period award's later parts (outcomes24): the office holds and answers
            "later_parts": later,
            "may_hold": may_hold,
            "holding_calls": holding,
            "later_status": {k: page._(v) for k, v in LATER_PART_STATUS.items()},
        },
        status=status,
    )


#: a later part's state, in words
LATER_PART_STATUS = {
    "held": N_("Held (progress report awaited)"),
    "released": N_("Released"),
    "returned": N_("Returned"),
}


def _recording(page: Page, proposal_id: int) -> Proposal:
    """The award, for a person who may record on it; otherwise 404."""
    proposal = award_for(page, proposal_id)
    if not policies.may_record(page.db, page.user, proposal):
        page.not_found()
    return proposal


def _recorded(page: Page, proposal_id: int, record_id: int) -> tuple[Proposal, PostAwardRecord]:
    """The award and one of its records, for a person who may record on it; otherwise 404."""
    proposal = _recording(page, proposal_id)
    rec = page.get_visible(PostAwardRecord, record_id, lambda r: r.proposal_id == proposal.id)
    return proposal, rec


def _saved(page: Page, proposal: Proposal, refused: Refusal, sent: str = "") -> Response:
    """Back to the award's page, saved; or the page again with the refusal (400), the
    form ``sent`` open with what was typed in it."""
    if refused:
        return render_award(
            page, proposal, status=400, error=refused.message, sent=sent, field=refused.field
        )
    return page.redirect(f"/awards/{proposal.id}", "saved")


@router.get("/awards/{proposal_id}", response_class=HTMLResponse)
def award(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return render_award(page, award_for(page, proposal_id))


@router.post("/awards/{proposal_id}/records", response_class=HTMLResponse)
def add_record(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = _recording(page, proposal_id)
    kind = page.form.get("kind", "")
    with page.attempt() as refused:
        if kind not in RECORD_SCHEMAS:
            raise DomainError("Choose what to record.")
        if page.first_sending():  # else stored already: a flaky link sent it twice
            services.add_record(
                page.db,
                proposal,
                kind,
                form_data(page, kind),
                actor_id=page.user.id,
                award_id=_award_chosen(page),
            )
    return _saved(page, proposal, refused, f"new-{kind}" if kind in RECORD_SCHEMAS else "")


def _award_chosen(page: Page) -> int | None:
    """The award an operator-defined use is of (the form's ``award_id``, offered when the
    awards count in more than one unit); None when not chosen. A value that is no id is
    not chosen either: the record is then refused as naming no award (services)."""
    return whole_number(page.form.get("award_id", ""), most=MAX_ID)


@router.post("/awards/{proposal_id}/records/{record_id}", response_class=HTMLResponse)
def update_record(proposal_id: int, record_id: int, page: Page = Depends(get_page)) -> Response:
    proposal, rec = _recorded(page, proposal_id, record_id)
    with page.attempt() as refused:
        services.update_record(page.db, rec, form_data(page, rec.kind), actor_id=page.user.id)
    return _saved(page, proposal, refused, f"r{rec.id}")


@router.post("/awards/{proposal_id}/records/{record_id}/remove", response_class=HTMLResponse)
def remove_record(proposal_id: int, record_id: int, page: Page = Depends(get_page)) -> Response:
    proposal, rec = _recorded(page, proposal_id, record_id)
    with page.attempt() as refused:
        services.remove_record(
            page.db, rec, reason=page.form.get("reason", ""), actor_id=page.user.id
        )
    return _saved(page, proposal, refused, f"remove-{rec.id}")


def _lines(value: str) -> list[str]:
    return [x.strip() for x in value.replace(";", "\n").splitlines() if x.strip()]


def _output_form(page: Page) -> dict[str, Any]:
    """A result's fields as the form of a new one, or of a correction, sends them."""
    f = page.form
    data: dict[str, Any] = {
        "kind": f.get("kind", "publication"),
        "doi": f.get("doi", ""),
        "number": f.get("number", ""),
        "orcids": f.get("orcids", "").replace(",", " ").replace(";", " ").split(),
        "title": f.get("title", ""),
        "year": f.get("year", "").strip() or None,
        "authors": _lines(f.get("authors", "")),
        "countries": [c for c in f.get("countries", "").replace(";", ",").split(",") if c.strip()],
        "abstract": f.get("abstract", ""),
        "acknowledgement": f.get("acknowledgement", ""),
    }
    if f.get("published_on", "").strip():
        data["published_on"] = f["published_on"].strip()
    return data


@router.post("/awards/{proposal_id}/outputs", response_class=HTMLResponse)
def add_output(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = _recording(page, proposal_id)
    with page.attempt() as refused:
        if page.first_sending():  # else stored already: a flaky link sent it twice
            services.add_output(page.db, proposal, _output_form(page), actor_id=page.user.id)
    return _saved(page, proposal, refused, "output")


def _recorded_output(page: Page, proposal: Proposal, output_id: int) -> ResearchOutput:
    return page.get_visible(ResearchOutput, output_id, lambda o: o.proposal_id == proposal.id)


@router.post("/awards/{proposal_id}/outputs/{output_id}/remove", response_class=HTMLResponse)
def remove_output(proposal_id: int, output_id: int, page: Page = Depends(get_page)) -> Response:
    """Withdraw a result linked in error, saying why."""
    proposal = _recording(page, proposal_id)
    o = _recorded_output(page, proposal, output_id)
    with page.attempt() as refused:
        services.remove_output(
            page.db, o, reason=page.form.get("reason", ""), actor_id=page.user.id
        )
    return _saved(page, proposal, refused, f"withdraw-{o.id}")


@router.post("/awards/{proposal_id}/outputs/{output_id}/retract", response_class=HTMLResponse)
def retract_output(proposal_id: int, output_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = _recording(page, proposal_id)
    o = _recorded_output(page, proposal, output_id)
    with page.attempt() as refused:
        on = calendar_date(page.form.get("retracted_on", ""))
        if on is None:
            raise DomainError("Give the day the result was retracted.", field="retracted_on")
        services.retract_output(
            page.db, o, on=on, note=page.form.get("note", ""), actor_id=page.user.id
        )
    return _saved(page, proposal, refused)


@router.post("/awards/{proposal_id}/outputs/{output_id}/restore", response_class=HTMLResponse)
def restore_output(proposal_id: int, output_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = _recording(page, proposal_id)
    o = _recorded_output(page, proposal, output_id)
    with page.attempt() as refused:
        services.restore_output(page.db, o, actor_id=page.user.id)
    return _saved(page, proposal, refused)


@router.post("/awards/{proposal_id}/outputs/import", response_class=HTMLResponse)
def import_outputs(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    # a plain route, run in the thread pool: parsing a 500-entry BibTeX file takes over a
    # second of CPU, and the database work must not run on the event loop
    proposal = _recording(page, proposal_id)
    with page.attempt() as refused:
        name, text = _uploaded_results(page, services.MAX_IMPORT_BYTES)
        services.import_outputs(page.db, proposal, name, text, actor_id=page.user.id)
    return _saved(page, proposal, refused, "import")


# after the import: ".../outputs/import" is not a result's id
@router.post("/awards/{proposal_id}/outputs/{output_id}", response_class=HTMLResponse)
def update_output(proposal_id: int, output_id: int, page: Page = Depends(get_page)) -> Response:
    """Correct a result (its whole form sent again); refused (400) as a new one would be."""
    proposal = _recording(page, proposal_id)
    o = _recorded_output(page, proposal, output_id)
    with page.attempt() as refused:
        services.update_output(page.db, o, _output_form(page), actor_id=page.user.id)
    return _saved(page, proposal, refused, f"output-{o.id}")


def _uploaded_results(page: Page, max_bytes: int) -> tuple[str, str]:
    """The results file of an import form: its name and text, from the upload (``file``)
    or else the pasted text (``text``); refused when too large, not UTF-8 or empty."""
    upload = page.files.get("file")
    name, text = "pasted", page.form.get("text", "")
    if upload is not None and upload.filename:
        raw = upload.file.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise DomainError("The file is too large.")
        # UTF-8 (with or without its mark), or UTF-16 with its byte-order mark (a
        # Windows export); anything else is refused, never guessed
        utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        try:
            text = raw.decode("utf-16" if utf16 else "utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DomainError("The file is not UTF-8 text.") from exc
        name = upload.filename
    if not text.strip():
        raise DomainError("Choose a BibTeX, RIS or CSL-JSON file, or paste one.")
    return name, text


def _declining(page: Page, proposal_id: int) -> Proposal:
    """The award, for its PI (who alone may decline it); otherwise 404."""
    page.require_user()
    return page.get_visible(
        Proposal, proposal_id, lambda p: policies.may_decline(page.db, page.user, p)
    )


def render_decline(
    page: Page, proposal: Proposal, *, status: int = 200, error: str = ""
) -> HTMLResponse:
    return page.render(
        "results/decline.html",
        {
            "p": proposal,
            "declined": declines.declined(page.db, proposal.id),
            "awards": q.awards_of(page.db, proposal.id),
            "reasons": [(r, page._(DECLINE_REASON_LABELS[r])) for r in DECLINE_REASONS],
            **decline_labels(page),
            **unit_labels(page),
            "chosen": page.form.get("reason", "") if page.request.method == "POST" else "",
            "note": page.form.get("note", "") if page.request.method == "POST" else "",
            "error": error,
        },
        status=status,
    )


@router.get("/awards/{proposal_id}/decline", response_class=HTMLResponse)
def decline_form(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The PI's confirmation step before declining the award (or the decline, once made)."""
    return render_decline(page, _declining(page, proposal_id))


@router.post("/awards/{proposal_id}/decline", response_class=HTMLResponse)
def decline(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """Decline the award: its capacity is freed and the call's staff are told. A resent
    form finds it declined and changes nothing."""
    proposal = _declining(page, proposal_id)
    if declines.declined(page.db, proposal.id) is None and not page.confirmed:
        return render_decline(page, proposal, status=400, error=page._(MSG_CONFIRM))
    with page.attempt() as refused:
        declines.decline_award(
            page.db,
            proposal,
            reason=page.form.get("reason", ""),
            note=page.form.get("note", "")[: declines.MAX_NOTE + 1],
            actor_id=page.user.id,
            base_url=page.settings.base_url,
        )
    if refused:
        return render_decline(page, proposal, status=400, error=refused.message)
    return page.redirect(f"/proposals/{proposal.id}/outcome", "saved")


#: Awards listed on one page of the post-award overview (the CSV has them all).
PER_PAGE = 100


def _overview_rows(page: Page, call: Any, proposals: list[Proposal]) -> list[dict[str, Any]]:
    """A row per proposal: its stages after the award, its use figures and whether a
    loan is overdue (``results.queries.stages_of_call``, as the report counts them)."""
    stages = q.stages_of_call(page.db, call, [p.id for p in proposals], today=utc_today())
    # the awards the office ended after their PI returned them (outcomes22)
    gone = {e.proposal_id: e for e in ends.ends_of(page.db, [p.id for p in proposals])}
    out = []
    for p in proposals:
        st = stages.get(p.id, {})
        out.append(
            {"p": p, **st, "overdue": bool(st.get("use", {}).get("loans_overdue")),
             "end": gone.get(p.id)}
        )  # fmt: skip
    return out


def _office_records_call(page: Page, slug: str) -> Call:
    """The call, for its user office (who sees every award's records); otherwise 404."""
    call = office_call(page, slug)
    if not policies.may_see_call_records(page.db, page.user, call):
        page.not_found()
    return call


@router.post("/manage/calls/{slug}/postaward/import", response_class=HTMLResponse)
def import_call_results(slug: str, page: Page = Depends(get_page)) -> Response:
    """The user office's results file for many awards of the call (each entry names its
    award's code), as ``POST /api/v1/calls/{slug}/outputs/import`` and ``opencall calls
    import-results``: all or nothing, every refused entry named with its line."""
    call = _office_records_call(page, slug)
    with page.attempt() as refused:
        name, text = _uploaded_results(page, services.MAX_CALL_IMPORT_BYTES)
        new, skipped = services.import_call_outputs(page.db, call, page.user, name, text)
    if refused:
        return _render_overview(page, call, status=400, error=refused.message)
    return page.redirect(
        f"/manage/calls/{call.slug}/postaward?imported={len(new)}&skipped={skipped}", "saved"
    )


@router.post("/manage/calls/{slug}/awards/{proposal_id}/end", response_class=HTMLResponse)
def end_award(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The user office ends an award its PI returned (outcomes22), once it confirms: the
    part not used is returned, the records and results stay (``results.ends``)."""
    call = _office_records_call(page, slug)
    proposal = page.get_visible(Proposal, proposal_id, lambda p: p.call_id == call.id)
    if ends.ended(page.db, proposal.id) is None and not page.confirmed:
        return _render_overview(page, call, status=400, error=page._(MSG_CONFIRM))
    with page.attempt() as refused:
        ends.end_award(
            page.db,
            proposal,
            reason=page.form.get("reason", ""),
            note=page.form.get("note", "")[: ends.MAX_NOTE + 1],
            actor=page.user,
        )
    if refused:
        return _render_overview(page, call, status=400, error=refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/postaward", "saved")


def _office_award(page: Page, slug: str, proposal_id: int) -> Proposal:
    """A proposal of a call whose user office the person is; otherwise 404."""
    call = _office_records_call(page, slug)
    return page.get_visible(Proposal, proposal_id, lambda p: p.call_id == call.id)


@router.post("/manage/calls/{slug}/awards/{proposal_id}/later-parts", response_class=HTMLResponse)
def hold_later_part(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The user office holds a later period's part of a multi-period award (outcomes24,
    ``allocation.later_parts``) in a later call it manages; the PI is mailed."""
    proposal = _office_award(page, slug, proposal_id)
    with page.attempt() as refused:
        amount = page.form.get("amount", "").strip()
        try:
            value = float(amount)
        except ValueError:
            raise DomainError("The amount must be a positive number.", field="amount") from None
        pool_id = whole_number(page.form.get("resource_id", ""), most=MAX_ID)
        if pool_id is None:
            raise DomainError("That call does not offer this resource.", field="resource_id")
        if page.first_sending():  # else stored already: a flaky link sent it twice
            later_parts.hold_for_office(
                page.db, proposal, page.form.get("later_call", ""), pool_id, value,
                actor=page.user, base_url=page.settings.base_url,
            )  # fmt: skip
    return _saved(page, proposal, refused, "later-parts")


@router.post(
    "/manage/calls/{slug}/awards/{proposal_id}/later-parts/{part_id}/progress",
    response_class=HTMLResponse,
)
def answer_progress(
    slug: str, proposal_id: int, part_id: int, page: Page = Depends(get_page)
) -> Response:
    """The office's answer to a later part's progress report: ``decision`` accept
    (released) or return (returned), with its note; the PI is mailed."""
    proposal = _office_award(page, slug, proposal_id)
    part = page.get_visible(AwardLaterPart, part_id, lambda x: x.proposal_id == proposal.id)
    decision = page.form.get("decision", "")
    with page.attempt() as refused:
        if decision not in ("accept", "return"):
            raise DomainError("Choose to release or to return the part.", field="decision")
        later_parts.decide_later_part(
            page.db, part, accepted=decision == "accept",
            note=page.form.get("note", "")[: later_parts.MAX_NOTE + 1],
            actor_id=page.user.id, base_url=page.settings.base_url,
        )  # fmt: skip
    return _saved(page, proposal, refused, f"progress-{part.id}")


def _report_filter(page: Page) -> str | None:
    """The state of the first report the overview is filtered by (``?report=``), None
    for every award; an unknown one raises a DomainError."""
    report = page.request.query_params.get("report", "").strip()
    if report and report not in d.REPORT_STATES:
        raise DomainError(
            "Unknown report state %(state)s; expected overdue, pending or reported.",
            field="report",
            state=repr(report[:40]),
        )
    return report or None


@router.get("/manage/calls/{slug}/postaward", response_class=HTMLResponse)
def call_overview(slug: str, page: Page = Depends(get_page)) -> Response:
    call = _office_records_call(page, slug)
    try:
        report = _report_filter(page)
    except DomainError as exc:
        return _render_overview(page, call, status=400, filter_error=page.t.error(exc))
    if wants_csv(page):
        stmt = q.awarded_proposals_query(call, report=report, today=utc_today())
        rows = _overview_rows(page, call, list(page.db.scalars(stmt)))
        # every award's use figures as columns (the report's "use" sums these per group)
        figures = sorted({k for r in rows for k in r.get("use", {})})
        # the earlier award each continues (outcomes19): one programme over the cycles
        continued = q.continued_codes(page.db, [r["p"].id for r in rows])
        return csv_response(
            f"{call.slug}-postaward.csv",
            [
                "proposal",
                "used",
                "completed",
                "produced_results",
                "days_to_first_result",
                "overdue",
                "report_due_on",
                "report_overdue",
                "report_reminders",
                "last_report_reminder",
                "continues",
                *figures,
            ],
            (
                (
                    r["p"].code,
                    r.get("used", False),
                    r.get("completed", False),
                    r.get("produced_results", False),
                    r.get("days_to_first_result"),
                    r["overdue"],
                    r.get("report_due_on"),
                    r.get("report_overdue", False),
                    r.get("report_reminders", 0),
                    r.get("last_report_reminder"),
                    continued.get(r["p"].id, ""),
                    *(r.get("use", {}).get(k, 0.0) for k in figures),
                )
                for r in rows
            ),
        )
    return _render_overview(page, call, report=report)


def _render_overview(
    page: Page,
    call: Call,
    *,
    status: int = 200,
    error: str = "",
    report: str | None = None,
    filter_error: str = "",
) -> Response:
    """The call's awards after the award (those whose first report is in the state
    ``report``, when given), a page at a time, with the results import."""
    # one page of the awards read (a large call has thousands), filtered in the database
    stmt = q.awarded_proposals_query(call, report=report, today=utc_today())
    shown, pager = paginate_query(page.db, stmt, page.request.query_params, PER_PAGE, "#awards")
    params = page.request.query_params
    # each a whole number, or no note of an import at all
    counts = (whole_number(params.get("imported", "")), whole_number(params.get("skipped", "")))
    return page.render(
        "results/call.html",
        {
            "call": call,
            "rows": _overview_rows(page, call, shown),
            "pager": pager,
            "report_due_days": d.REPORT_DUE_DAYS,
            "report_due_on": d.report_due_on(q.awarded_on(call)).isoformat(),
            "report_every": d.REPORT_REMIND_EVERY_DAYS,
            # past this many the reminders stopped: the office is told here (mail20b)
            "report_reminders_max": page.settings.report_reminders_max,
            "stage_labels": {k: page._(v) for k, v in STAGE_LABELS.items()},
            "imported": None if None in counts else counts,
            "report": report or "",
            "filter_error": filter_error,
            "report_states": [(st, page._(REPORT_LABELS[st])) for st in d.REPORT_STATES],
            "end_reasons": [(k, page._(DECLINE_REASON_LABELS[k])) for k in DECLINE_REASONS],
            "error": error,
        },
        status=status,
    )


SERVICE_MESSAGES = (
    N_("Records can be kept only for an awarded proposal."),
    N_("This result is already linked to the award."),
    N_("Choose what to record."),
    N_("The file is too large."),
    N_("The file is not UTF-8 text."),
    N_("Choose a BibTeX, RIS or CSL-JSON file, or paste one."),
    N_("The file is not BibTeX, RIS or CSL-JSON."),
)


@router.get("/node/calls/{slug}", response_class=HTMLResponse)
def node_page(slug: str, page: Page = Depends(get_page)) -> Response:
    """The awards at the reader's resources (a node's staff; the user office: every
    resource), a page at a time, with their records, and the link to the bookings CSV."""
    call = signed_in_call(page, slug, policies.may_see_node)
    pools = policies.node_pools(page.db, page.user, call)
    stmt = q.node_awards_query(call, pools).order_by(CapacityPool.name, Proposal.code, Award.id)
    shown, pager = paginate_query(page.db, stmt, page.request.query_params, PER_PAGE, "#awards")
    records = q.records_of_awards(page.db, [a.id for a, _p, _pool in shown])
    return page.render(
        "results/node.html",
        {
            "call": call,
            "rows": [(a, p, pool, records.get(a.id, [])) for a, p, pool in shown],
            "pager": pager,
            "kind_label": lambda k: _label(page, RECORD_KIND_LABELS, k),
            **unit_labels(page),
        },
    )


@router.get("/node/calls/{slug}/bookings.csv")
def node_bookings_csv(slug: str, page: Page = Depends(get_page)) -> Response:
    """The schedule's entries on the reader's resources (a node's staff; the user office:
    every resource), as ``GET /api/v1/calls/{slug}/node/bookings``; 404 to anyone else."""
    call = signed_in_call(page, slug, policies.may_see_node)
    pools = policies.node_pools(page.db, page.user, call)
    stmt = q.node_bookings_query(call, pools).order_by(CapacityPool.name, ScheduleEntry.id)
    rows = (d.booking(e, p.code, pool) for e, p, pool in page.db.execute(stmt))
    return csv_response(
        f"{call.slug}-node-bookings.csv",
        d.BOOKING_FIELDS,
        ([r[k] for k in d.BOOKING_FIELDS] for r in rows),
    )


def _continuing(page: Page, proposal_id: int) -> Proposal:
    """The proposal, for its team and its call's user office; otherwise 404."""
    user = page.require_user()
    return page.get_visible(
        Proposal,
        proposal_id,
        lambda p: membership(p, user) is not None or may_administer(page.db, user, p.call),
    )


def render_continues(
    page: Page, proposal: Proposal, *, status: int = 200, error: str = ""
) -> HTMLResponse:
    office = may_administer(page.db, page.user, proposal.call)
    # the office names an award of the proposal's PI (a transfer: the API takes any)
    own = q.own_earlier_awards(page.db, proposal, proposal.pi_user_id if office else page.user.id)
    return page.render(
        "results/continues.html",
        {
            "p": proposal,
            "choices": own,
            "current": q.continuation_of(page.db, proposal),
            "editable": office or proposal.status in services.CONTINUATION_EDITABLE,
            "chosen": page.form.get("continues", "") if page.request.method == "POST" else "",
            "error": error,
        },
        status=status,
    )


@router.get("/proposals/{proposal_id}/continues", response_class=HTMLResponse)
def continues_form(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """Which earlier award of your own a proposal continues (outcomes19)."""
    return render_continues(page, _continuing(page, proposal_id))


@router.post("/proposals/{proposal_id}/continues", response_class=HTMLResponse)
def continues(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """Mark (or clear: an empty choice) the earlier award the proposal continues; a
    refusal shows the page again, 400, nothing changed."""
    proposal = _continuing(page, proposal_id)
    raw = page.form.get("continues", "").strip()
    if raw and not whole_number(raw, most=MAX_ID):
        return render_continues(
            page, proposal, status=400, error=page._("Name an award of your own at this provider.")
        )
    office = may_administer(page.db, page.user, proposal.call)
    with page.attempt() as refused:
        services.set_continuation(
            page.db, proposal, int(raw) if raw else None, actor=page.user, office=office
        )
    if refused:
        return render_continues(page, proposal, status=400, error=refused.message)
    return page.redirect(f"/proposals/{proposal.id}/continues", "saved")
