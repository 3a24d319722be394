"""The applicant's proposal pages outside the editor: the dashboard, a new
proposal, the preview of what reviewers will see, submit (with a receipt) and
withdraw."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.access import visible_call
from opencall.calls.models import Call
from opencall.proposals import notify, policies, services
from opencall.proposals.access import proposal_for
from opencall.proposals.domain import COUNTED
from opencall.proposals.models import Proposal
from opencall.proposals.views.common import label_helpers, language_options
from opencall.proposals.views.editor import editor
from opencall.web.labels import ANONYMITY
from opencall.web.pages import Page, get_page

router = APIRouter()


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    proposals = services.member_proposals(page.db, user.id)
    invitations = services.open_invitations(page.db, user.email) if user.email_verified_at else []
    return page.render(
        "proposals/dashboard.html",
        {
            "proposals": proposals,
            "invitations": invitations,
            "outcome": lambda p: policies.may_see_outcome(user, p),
            **label_helpers(page, proposals),
        },
    )


@router.get("/calls/{slug}/apply", response_class=HTMLResponse)
def new_proposal_form(slug: str, page: Page = Depends(get_page)) -> Response:
    page.require_user()
    call = visible_call(page, slug)
    return _new_page(page, call, {}, {})


def _new_page(
    page: Page, call: Call, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    """ "Start a proposal": its title and the language it will be written in (trialrev19;
    the choices named in the reader's language, as on the editor)."""
    return page.render(
        "proposals/new.html",
        {
            "call": call,
            "form": form,
            "errors": errors,
            "title_max": services.title_limit(call),
            "language_choices": language_options(page, None),
        },
        status=status,
    )


@router.post("/calls/{slug}/apply", response_class=HTMLResponse)
def new_proposal(slug: str, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    call = visible_call(page, slug)
    title = page.form.get("title", "")
    language = page.form.get("language", "").strip()[:40]
    with page.attempt() as refused:
        proposal = services.create_proposal(
            page.db, call, user, title=title, language=language, reuse_recent=True
        )
    if not refused:
        return page.redirect(f"/proposals/{proposal.id}", "created")
    where = refused.field if refused.field in ("title", "language") else "form"
    form = {"title": title, "language": language}
    return _new_page(page, call, form, {where: refused.message}, 400)


def reviewer_view(proposal: Proposal) -> dict[str, Any]:
    """What reviewers will see: the frozen content, with the team removed in a
    dual-anonymous call (no names, institutions, countries or e-mails)."""
    content = services.snapshot(proposal)
    if proposal.call.anonymity == "dual":
        content["team"] = []
    for t in content["team"]:
        t.pop("email", None)
        t.pop("institution_id", None)
    return content


@router.get("/proposals/{proposal_id}/preview", response_class=HTMLResponse)
def preview(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    return page.render(
        "proposals/preview.html",
        {
            "p": proposal,
            "content": reviewer_view(proposal),
            "anonymous": proposal.call.anonymity == "dual",
            "anonymity": page._(ANONYMITY.get(proposal.call.anonymity, ANONYMITY["dual"])),
            **label_helpers(page, [proposal]),
        },
    )


@router.post("/proposals/{proposal_id}/submit", response_class=HTMLResponse)
def submit(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_submit_proposal(page.user, proposal):
        if policies.is_pi(page.user, proposal) and proposal.status in COUNTED:
            # the form sent again once the close (or a batch's cut) froze the proposal at
            # the submission that counts: the service answers that revision, nothing changes
            with page.attempt() as refused:
                services.submit(page.db, proposal, actor_id=page.user.id, now=page.received_at)
            if not refused:
                return page.redirect("/dashboard", "submitted")
        page.not_found()
    # the submission checks run once: here, so that a proposal not ready is shown again
    # with its checklist (each problem, no message above it) without a rollback
    problems = services.submission_errors(proposal)
    if problems:
        return editor(page, proposal, 400, problems=[e for _f, e in problems])
    with page.attempt() as refused:
        rev = services.submit(
            page.db, proposal, actor_id=page.user.id, now=page.received_at, checked=True
        )
        if proposal.submitted_at == page.received_at:  # recorded now (not a repeated click)
            _mail_receipt(page, proposal, rev)
    if refused:
        return editor(page, proposal, 400, error=refused.message)
    return page.redirect("/dashboard", "submitted")


def _mail_receipt(page: Page, proposal: Proposal, rev: Any) -> None:
    notify.mail_receipt(
        page.db,
        page.request,
        page.user,
        proposal,
        rev,
        received_at=page.received_at,
        lang=page.lang,
        base_url=page.settings.base_url,
    )


@router.post("/proposals/{proposal_id}/withdraw", response_class=HTMLResponse)
def withdraw(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = proposal_for(page, proposal_id)
    if not policies.may_withdraw_proposal(page.user, proposal):
        page.not_found()
    with page.attempt() as refused:
        services.withdraw(page.db, proposal, actor_id=page.user.id)
    if refused:
        return editor(page, proposal, 400, error=refused.message)
    return page.redirect("/dashboard", "withdrawn")
