"""The proposal's PDF: upload, download (the original for the user office, the
rewritten copy for everyone else), removal."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls import policies as call_policies
from opencall.proposals import policies, services
from opencall.proposals.access import found_for
from opencall.proposals.models import Attachment, Proposal
from opencall.proposals.views.common import MSG_NO_FILE
from opencall.proposals.views.editor import editable_for, editor, form_version, save_change
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page, pdf_download

router = APIRouter()


MSG_UPLOADS_THROTTLED = N_(
    "You have uploaded many files in the last hour. Try again in %(minutes)s minutes."
)


def _upload_wait(page: Page) -> int:
    """The per-account limit on stored uploads: 0 and counted (committed with the file),
    or the seconds to wait; nothing is read or stored while it waits."""
    from opencall.people import services as people_services

    return people_services.upload_wait(
        page.db, page.user.id, per_hour=page.settings.upload_throttle_per_hour
    )


@router.post("/proposals/{proposal_id}/attachments", response_class=HTMLResponse)
def upload(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    # sync: the body was spooled by the page dependency on the event loop; reading the
    # spooled file, parsing the PDF and the database work run in the thread pool
    proposal = editable_for(page, proposal_id)
    upload_file = page.files.get("pdf")
    if upload_file is None:
        return editor(page, proposal, 400, upload_error=page._(MSG_NO_FILE))
    data = upload_file.file.read(page.settings.max_upload_bytes + 1)
    return store_upload(page, proposal, data, upload_file.filename or "document.pdf")


def store_upload(page: Page, proposal: Proposal, data: bytes, filename: str) -> Response:
    """A whole file sent (in one post, or joined from its pieces: ``views.uploads``)
    stored as the form's post does: a retry of a stored file answered with it, the
    account's hourly limit, then the checks and the rewrite; the editor, or its refusal."""
    limit = page.settings.max_upload_bytes
    retry = services.upload_made(proposal, data, filename, expected_version=form_version(page))
    wait = 0 if retry is not None else _upload_wait(page)
    if wait:
        message = page._(MSG_UPLOADS_THROTTLED, minutes=max(1, -(-wait // 60)))
        response = editor(page, proposal, 429, upload_error=message)
        response.headers["Retry-After"] = str(wait)
        return response
    # the PDF is parsed and rewritten in a bounded child process (proposals.pdfsafe)
    return save_change(
        page,
        proposal,
        services.add_attachment,
        data,
        filename,
        storage=page.storage,
        max_bytes=limit,
        limits=services.pdf_limits(page.settings),
        section="attachments",
        done="uploaded",
        error_field="upload_error",
    )


def _attachment_of(page: Page, proposal_id: int, attachment_id: int) -> Attachment:
    return found_for(
        page,
        Attachment,
        attachment_id,
        lambda att: (
            att.proposal_id == proposal_id
            and policies.may_download_attachment(page.db, page.user, att)
        ),
    )


@router.get("/proposals/{proposal_id}/attachments/{attachment_id}")
def download(proposal_id: int, attachment_id: int, page: Page = Depends(get_page)) -> Response:
    """The user office gets the original as uploaded; the team gets the rewritten copy
    (what reviewers receive: no metadata, scripts, embedded files, comments or forms)."""
    att = _attachment_of(page, proposal_id, attachment_id)
    if call_policies.may_administer(page.db, page.user, att.proposal.call):
        data = services.attachment_bytes(page.storage, att)
    else:
        data = services.clean_attachment_bytes(page.storage, att)
    if data is None:
        page.not_found()
    return pdf_download(data, att.filename)


@router.post("/proposals/{proposal_id}/attachments/{attachment_id}/remove")
def remove_attachment(
    proposal_id: int, attachment_id: int, page: Page = Depends(get_page)
) -> Response:
    proposal = editable_for(page, proposal_id)
    att = _attachment_of(page, proposal_id, attachment_id)
    return save_change(
        page,
        proposal,
        services.remove_attachment,
        att,
        section="attachments",
        done="removed",
        error_field="upload_error",
    )
