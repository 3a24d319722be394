"""The proposal editor: the page (every form of the draft, the checklist, the
anonymity warnings), its text form (saved in the background by the page's script),
and how every edit form saves (the version it carries; a stale one shows the
latest draft)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.schemas import call_form
from opencall.errors import DomainError
from opencall.inputs import language_name
from opencall.people.forms import country_options
from opencall.proposals import policies, queries, services
from opencall.proposals.access import proposal_for
from opencall.proposals.domain import word_count
from opencall.proposals.models import Proposal
from opencall.proposals.views.common import (
    MSG_STALE,
    PDF_WHERE,
    REQUESTS_WHERE_LABEL,
    SCAN_NOTES,
    TEXT_LIMITS,
    WHERE_LABELS,
    label_helpers,
    language_options,
)
from opencall.proposals.views.request_forms import (
    BLANK_ROWS,
    custom_form_spec,
    custom_values,
    field_label,
    pool_of,
    request_form_spec,
    request_unit,
    request_values,
    row_count,
)
from opencall.web.forms import MSG_TOO_LONG
from opencall.web.i18n import N_
from opencall.web.labels import FIELD_LABELS, TRIAGE_CATEGORIES, labeller
from opencall.web.pages import Page, get_page

router = APIRouter()


def editable_for(page: Page, proposal_id: int) -> Proposal:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_edit_proposal(page.user, proposal):
        page.not_found()
    return proposal


MISSING_VERSION = 0  # versions start at 1: a form without one is stale after validation


def form_version(page: Page) -> int:
    """The proposal version the posted form was rendered with (every edit form carries
    it). A missing or malformed one never matches: the input is validated first (bad
    input gets its own message), then the edit is refused like a stale form (409)."""
    v = page.form.get("version", "")
    return int(v) if v.isdecimal() and len(v) < 10 else MISSING_VERSION


def stale(page: Page, proposal: Proposal, **extra: Any) -> Response:
    """409: the proposal changed since the form was rendered (or the form had no
    version); the page is shown again at the latest version, typed values kept."""
    page.db.rollback()
    extra.setdefault("error", page._(MSG_STALE))
    return editor(page, proposal, 409, **extra)


def try_change(
    page: Page,
    proposal: Proposal,
    service: Callable[..., Any],
    *args: Any,
    then: Callable[[Any], object] | None = None,
    **kwargs: Any,
) -> DomainError | None:
    """Make one change to the draft, ``service(db, proposal, *args, **kwargs)`` as the
    visitor against the version the posted form carries, then ``then`` on what it
    returns, and commit. A refusal is rolled back (nothing changes) and returned: a
    stale version is one with ``code == "stale"``."""
    with page.attempt() as refused:
        done = service(
            page.db,
            proposal,
            *args,
            actor_id=page.user.id,
            expected_version=form_version(page),
            now=page.received_at,
            **kwargs,
        )
        if then is not None:
            then(done)
    return refused.error


def save_change(
    page: Page,
    proposal: Proposal,
    service: Callable[..., Any],
    *args: Any,
    section: str,
    done: str,
    error_field: str = "error",
    **kwargs: Any,
) -> Response:
    """:func:`try_change`, then back to the editor's ``section``; a stale version shows
    the latest draft (409), another refusal the editor with the message at
    ``error_field`` (400)."""
    refused = try_change(page, proposal, service, *args, **kwargs)
    if refused is None:
        return page.redirect(f"/proposals/{proposal.id}#{section}", done)
    if refused.code == "stale":
        return stale(page, proposal)
    return editor(page, proposal, 400, **{error_field: page.t.message(refused.message)})


def error_summary(
    page: Page, proposal: Proposal, extra: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """Every problem of the form just sent, as (link to the field, label, message), for the
    summary at the top of the page: all at once, each linking to its field or table cell."""
    out: list[tuple[str, str, str]] = []
    for name, msg in extra.get("text_errors", {}).items():
        label = page._(WHERE_LABELS.get(name, "Title")) if name != "form" else ""
        out.append(("#text-form" if name == "form" else f"#f-{name}", label, msg))
    for name, msg in extra.get("invite_errors", {}).items():
        label = page._(FIELD_LABELS.get(name, "Name")) if name != "form" else ""
        out.append((f"#f-{name}", label, msg))
    req_errors: dict[str, str] = extra.get("req_errors", {})
    if req_errors:
        if extra.get("req_id") is not None:
            prefix = f"r{extra['req_id']}-"
            req = next((r for r in proposal.requests if r.id == extra["req_id"]), None)
            kind = req.kind if req is not None else ""
        else:
            kind = str(extra.get("new_kind", ""))
            prefix = f"new-{kind}-"
        for name, msg in req_errors.items():
            href = f"#{prefix}form" if name in ("form", "amount", "kind") else f"#{prefix}{name}"
            out.append((href, field_label(page, kind, name), msg))
    if extra.get("upload_error"):
        out.append(("#f-pdf", page._("PDF file"), extra["upload_error"]))
    return out


def editor(page: Page, proposal: Proposal, status: int = 200, **extra: Any) -> Response:
    call = proposal.call
    kinds = services.KIND_FOR_FACILITY.get(call.facility.kind, ())
    forms = []
    offered = {cp.pool_id: cp for cp in call.pools}
    for req in proposal.requests:
        values = extra.get("req_values") if extra.get("req_id") == req.id else None
        if req.kind == "custom":
            values = values or custom_values(req, pool_of(page, req))
            spec = (
                custom_form_spec(page, offered[req.pool_id])
                if req.pool_id in offered
                else {
                    "kind": "custom",
                    "pool": pool_of(page, req),
                    "fields": [],
                    "slot_based": False,
                    "unit_other": request_unit(page, req),
                }
            )
        else:
            values = values or request_values(req)
            spec = request_form_spec(page, call, req.kind)
        forms.append(
            {
                "req": req,
                "values": values,
                "errors": extra.get("req_errors", {}) if extra.get("req_id") == req.id else {},
                "n_rows": row_count(req.kind, values),
                "unit": request_unit(page, req),
                **spec,
            }
        )
    new_forms = []
    for kind in kinds:
        if kind == "custom":
            for cp in call.pools:
                if cp.pool.pool_type != "custom":
                    continue
                mine = extra.get("new_kind") == kind and extra.get("new_pool") == cp.pool_id
                new_forms.append(
                    {
                        "values": extra.get("req_values") if mine else {"pool_id": str(cp.pool_id)},
                        "errors": extra.get("req_errors", {}) if mine else {},
                        "n_rows": 0,
                        **custom_form_spec(page, cp),
                    }
                )
            continue
        values = extra.get("req_values") if extra.get("new_kind") == kind else None
        values = values or {}
        new_forms.append(
            {
                "values": values,
                "errors": extra.get("req_errors", {}) if extra.get("new_kind") == kind else {},
                "n_rows": max(row_count(kind, values), BLANK_ROWS + 2),
                **request_form_spec(page, call, kind),
            }
        )
    text = extra.get("text") or {
        "title": proposal.title,
        "abstract": proposal.abstract,
        "science_case": proposal.science_case,
        "keywords": proposal.keywords,
        "version": str(proposal.version),
    }
    # what blocks submission: given by a refused submit (the checks it ran), else checked
    blocking = extra.get("problems")
    if blocking is None:
        blocking = [e for _f, e in services.submission_errors(proposal)]
    problems = [page.t.error(e) for e in blocking]
    can_edit = policies.may_edit_proposal(page.user, proposal)
    can_team = policies.may_manage_team(page.user, proposal)
    findings = []
    scan_notes: list[str] = []
    scan_pending = False
    if call.anonymity == "dual":
        # the team's own identifiers are shown to the team only: a warning they can fix.
        # Read from the cache the anonymity-scan job fills; a page view never scans.
        cached = queries.cached_findings(page.db, proposal)
        scan_pending = cached.pending > 0
        for where, finding in cached.findings:
            label = (
                WHERE_LABELS.get(where)
                or (REQUESTS_WHERE_LABEL if where == queries.REQUESTS_WHERE else None)
                or PDF_WHERE.get(finding["where"], PDF_WHERE["pdf_text"])
            )
            findings.append(
                {
                    "where": page._(label),
                    "page": finding.get("page") if finding["where"] == "pdf_text" else None,
                    "kind": page._(queries.FINDING_LABELS.get(finding["kind"], finding["kind"])),
                    "text": finding["text"],
                    "removed": finding["where"] not in WHERE_LABELS
                    and finding["where"] not in ("pdf_text", queries.REQUESTS_WHERE),
                }
            )
        for _where, note in cached.notes:
            scan_notes.append(
                page._(SCAN_NOTES.get(note["code"], SCAN_NOTES["page_error"]), n=note["page"])
            )
    warnings = text_warnings(page, proposal) if "text" not in extra else {}
    summary = error_summary(page, proposal, extra)
    if summary or page.request.query_params.get("m") == "saved":
        summary += [("#f-" + k, page._(WHERE_LABELS[k]), v) for k, v in warnings.items()]
    ctx = {
        "p": proposal,
        "call": call,
        "warnings": warnings,
        "summary": summary,
        "cform": call_form(call.form),
        "title_max": services.title_limit(call),
        "text": text,
        "text_errors": extra.get("text_errors", {}),
        "invite": extra.get("invite", {}),
        "invite_errors": extra.get("invite_errors", {}),
        "req_forms": forms,
        "new_forms": new_forms,
        "bundle_form": extra.get("bundle_form", {}),
        "bundle_errors": extra.get("bundle_errors", {}),
        "upload_error": extra.get("upload_error"),
        "max_upload_bytes": page.settings.max_upload_bytes,  # said by the form, checked by JS
        "error": extra.get("error"),
        "problems": problems,
        "findings": findings,
        "scan_notes": scan_notes,
        "scan_pending": scan_pending,
        "countries": country_options(page),
        "language_choices": language_options(page, proposal.language),
        "language_shown": language_name(proposal.language, page.lang) if proposal.language else "",
        "language_error": extra.get("language_error"),
        "can_edit": can_edit,
        "can_team": can_team,
        "can_submit": policies.may_submit_proposal(page.user, proposal),
        "can_withdraw": policies.may_withdraw_proposal(page.user, proposal),
        "outcome": policies.may_see_outcome(page.user, proposal),
        # set aside at triage: the category in the reader's words and the chair's reason
        "triage": queries.triage_of(page.db, proposal.id)
        if proposal.status == "set_aside"
        else None,
        "triage_label": labeller(page, TRIAGE_CATEGORIES),
        "scripts": ["/static/safe-save.js"],
        **label_helpers(page, [proposal]),
    }
    return page.render("proposals/editor.html", ctx, status=status)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def edit_form(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return editor(page, proposal_for(page, proposal_id))


MSG_WORDS_OVER = N_(
    "%(field)s: %(n)s words, at most %(max)s. Saved as a draft; shorten it before you submit."
)


def text_warnings(page: Page, proposal: Proposal) -> dict[str, str]:
    """Word limits exceeded by the saved text: saved as a draft, but they block submit."""
    form = call_form(proposal.call.form)
    out: dict[str, str] = {}
    for name, limit in (
        ("abstract", form.abstract_max_words),
        ("science_case", form.science_case_max_words),
    ):
        n = word_count(getattr(proposal, name) or "")
        if n > limit:
            out[name] = page._(MSG_WORDS_OVER, field=page._(WHERE_LABELS[name]), n=n, max=limit)
    return out


def save_answer(page: Page, proposal: Proposal, status: int = 200, **extra: Any) -> Response:
    """What the editor's script needs after a save: the new version (every form on the
    page carries it), the text as stored, the checklist and the word-limit warnings."""
    from fastapi.responses import JSONResponse

    return JSONResponse(
        {
            "ok": status == 200,
            "version": str(proposal.version),
            "saved_at": page.received_at.astimezone(dt.UTC).isoformat(),
            "fields": {
                k: getattr(proposal, k) for k in ("title", "abstract", "science_case", "keywords")
            },
            "problems": [page.t.error(e) for _f, e in services.submission_errors(proposal)],
            "warnings": text_warnings(page, proposal),
            **extra,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/proposals/{proposal_id}", response_class=HTMLResponse)
def save_text(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    text = page.fields("title", "abstract", "science_case", "keywords", "version")
    errors: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        if len(text[name]) > limit:
            errors[name] = page._(MSG_TOO_LONG, max=limit)
    status = 400
    if not errors:
        refused = try_change(
            page,
            proposal,
            services.update_proposal,
            {k: text[k] for k in ("title", "abstract", "science_case", "keywords")},
        )
        if refused is None:
            if page.wants_json:
                return save_answer(page, proposal)
            return page.redirect(f"/proposals/{proposal.id}", "saved")
        if refused.code == "stale":
            errors["form"] = page._(MSG_STALE)
            text["version"] = str(proposal.version)
            status = 409
        else:
            errors[refused.field or "form"] = page.t.message(refused.message)
    if page.wants_json:
        page.db.rollback()
        return save_answer(page, proposal, status, errors=errors)
    return editor(page, proposal, status, text=text, text_errors=errors)


@router.post("/proposals/{proposal_id}/language", response_class=HTMLResponse)
def save_language(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The editor's "Language of the proposal" (empty: not stated), audited by the
    service; a code that is not a language is refused with nothing changed."""
    proposal = editable_for(page, proposal_id)
    return save_change(
        page,
        proposal,
        services.edit_language,
        page.form.get("language", "").strip()[:40],
        section="language",
        done="saved",
        error_field="language_error",
    )
