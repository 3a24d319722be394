"""What the review's pages share: their form messages, a reviewer's copy of a
proposal's PDF (the rewritten one, under a neutral name), a refusal on the chair's
pages, and the chair's tables of the call's proposals (triage, assignment): a page of
them and a change made from them."""

from __future__ import annotations

from collections.abc import Callable, Collection

from fastapi.responses import Response
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.proposals import services as prop_services
from opencall.proposals.models import Attachment, Proposal
from opencall.reviews.policies import revision
from opencall.web.i18n import N_
from opencall.web.pages import Page, pdf_download
from opencall.web.paging import Pager, paginate_query

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


def call_proposals(
    page: Page,
    call: Call,
    statuses: Collection[str],
    withheld: Collection[int],
    where: str,
    anchor: str,
    per_page: int,
) -> tuple[list[Proposal], Pager]:
    """One page (``per_page``) of the call's proposals in ``statuses``, but those
    ``withheld`` from the reader, in id order, on the chair's table at
    ``/manage/calls/{slug}/{where}`` (its pager's links, to ``anchor``): a large call's
    thousands of proposals are never all read or shown."""
    return paginate_query(
        page.db,
        select(Proposal)
        .where(
            Proposal.call_id == call.id,
            Proposal.status.in_(statuses),
            Proposal.id.not_in(withheld),
        )
        .order_by(Proposal.id),
        page.request.query_params,
        per_page,
        anchor,
        path=f"/manage/calls/{call.slug}/{where}",
    )


def change_or_show(
    page: Page,
    call: Call,
    change: Callable[[], object],
    shown_again: Callable[[Page, Call, int, str], Response],
    where: str,
    flash: str,
) -> Response:
    """Make ``change`` and commit it, then back to the chair's page
    ``/manage/calls/{slug}/{where}`` with ``flash``; a refusal changes nothing and is
    shown on that page by ``shown_again`` (status 400, with the refusal)."""
    with page.attempt() as refused:
        change()
    if refused:
        return shown_again(page, call, 400, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/{where}", flash)
