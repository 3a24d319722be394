"""What the review's pages share: their form messages, a reviewer's copy of a
proposal's PDF (the rewritten one, under a neutral name), and a refusal on the
chair's pages."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import Response
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.proposals import services as prop_services
from opencall.proposals.models import Attachment, Proposal
from opencall.reviews.policies import revision
from opencall.web.i18n import N_
from opencall.web.pages import Page, pdf_download

MSG_CHOOSE_CONFIDENCE = N_("Choose how confident you are in this review (1 to 5).")


def revision_pdf(page: Page, p: Proposal, n: int) -> Response:
    """The n-th PDF of the revision under review: the rewritten copy (no metadata,
    scripts, embedded files, comments or forms), never the original."""
    shas = [x.get("sha256") for x in revision(page.db, p).get("attachments", [])]
    if not 0 <= n < len(shas):
        page.not_found()
    att = page.db.scalar(
        select(Attachment).where(Attachment.proposal_id == p.id, Attachment.sha256 == shas[n])
    )
    if att is None:
        page.not_found()
    data = prop_services.clean_attachment_bytes(page.storage, att)
    if data is None:
        page.not_found()
    return pdf_download(data, f"{p.code}-{n + 1}.pdf")


def cockpit_error(page: Page, call: Call, message: str) -> Response:
    """A refusal on the chair's pages, with the way back to the cockpit."""
    return page.render(
        "manage/message.html",
        {"message": message, "back": f"/manage/calls/{call.slug}"},
        status=400,
    )


def change_or_show(
    page: Page,
    change: Callable[[], object],
    shown_again: Callable[[str], Response],
    to: str,
    flash: str,
) -> Response:
    """Make ``change`` and commit it, then redirect to ``to`` with ``flash``; a refusal
    changes nothing and is shown by ``shown_again`` (the form's page, status 400)."""
    with page.attempt() as refused:
        change()
    if refused:
        return shown_again(refused.message)
    return page.redirect(to, flash)
