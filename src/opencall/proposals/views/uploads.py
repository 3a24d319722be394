"""The proposal's PDF sent in pieces, resumed after a dropped connection (trialapp23;
the protocol in ``proposals.services.chunks`` and docs/api.md). The editor's script
(``safe-save.js``) speaks it; a browser without it posts the whole file
(``views.attachments.upload``).

- ``POST /proposals/{id}/uploads`` (filename, size, sha256): 201, the upload's id and
  offset (the same upload again for the same file);
- ``GET /proposals/{id}/uploads/{upload}``: its offset (what arrived);
- ``POST /proposals/{id}/uploads/{upload}`` (offset, a ``chunk`` file part): the new
  offset; 409 with the server's offset when the client's differs;
- ``POST /proposals/{id}/uploads/{upload}/finish`` (version): the file stored as the
  whole upload's post stores it, with the same answers (the editor, or its refusal).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from opencall.errors import DomainError
from opencall.proposals import services
from opencall.proposals.models import PartialUpload, Proposal
from opencall.proposals.views.attachments import store_upload
from opencall.proposals.views.common import MSG_NO_FILE
from opencall.proposals.views.editor import editable_for, editor
from opencall.web.pages import Page, get_page

router = APIRouter()


def _json(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _refused(page: Page, exc: DomainError) -> JSONResponse:
    status = 429 if exc.code == "throttled" else 400
    return _json(status, error=page.t.error(exc))


def _upload_of(page: Page, proposal: Proposal, upload_id: str) -> PartialUpload:
    """The person's own upload in progress for this proposal; 404 for anything else
    (another person's, another proposal's, finished or swept)."""
    up = page.db.get(PartialUpload, upload_id[:40])
    if up is None or up.user_id != page.user.id or up.proposal_id != proposal.id:
        page.not_found()
    return up


def _state(proposal: Proposal, up: PartialUpload, chunk_bytes: int) -> dict[str, Any]:
    return {
        "id": up.id,
        "offset": up.received,
        "size": up.size,
        "chunk_bytes": chunk_bytes,
        "url": f"/proposals/{proposal.id}/uploads/{up.id}",
    }


@router.post("/proposals/{proposal_id}/uploads")
def start(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    with page.attempt() as refused:
        up = services.start_upload(
            page.db,
            proposal,
            page.user.id,
            filename=page.form.get("filename", ""),
            size=page.form.get("size", ""),
            sha256=page.form.get("sha256", ""),
            max_bytes=page.settings.max_upload_bytes,
            per_user=page.settings.partial_uploads_per_user,
            keep_hours=page.settings.partial_upload_keep_hours,
            now=page.received_at,
        )
        state = _state(proposal, up, page.settings.upload_chunk_bytes)
    if refused.error is not None:
        return _refused(page, refused.error)
    return _json(201, **state)


@router.get("/proposals/{proposal_id}/uploads/{upload_id}")
def offset(proposal_id: int, upload_id: str, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    up = _upload_of(page, proposal, upload_id)
    return _json(200, **_state(proposal, up, page.settings.upload_chunk_bytes))


@router.post("/proposals/{proposal_id}/uploads/{upload_id}")
def chunk(proposal_id: int, upload_id: str, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    up = _upload_of(page, proposal, upload_id)
    part = page.files.get("chunk")
    if part is None:
        return _json(400, error=page._(MSG_NO_FILE))
    limit = page.settings.upload_chunk_bytes
    data = part.file.read(limit + 1)
    try:
        with page.attempt() as refused:
            now_at = services.receive_chunk(
                page.db,
                page.storage,
                up,
                page.form.get("offset", ""),
                data,
                max_chunk=limit,
                now=page.received_at,
            )
    except services.OffsetMismatch as exc:
        page.db.rollback()
        return _json(409, offset=exc.received, size=up.size)
    if refused.error is not None:
        return _refused(page, refused.error)
    return _json(200, offset=now_at, size=up.size)


@router.post("/proposals/{proposal_id}/uploads/{upload_id}/finish")
def finish(proposal_id: int, upload_id: str, page: Page = Depends(get_page)) -> Response:
    proposal = editable_for(page, proposal_id)
    up = _upload_of(page, proposal, upload_id)
    gone = (up.id, up.chunks)
    try:
        data = services.joined(page.storage, up)
    except DomainError as exc:
        if exc.code == "damaged":  # sent again from the start
            _discard(page, *gone)
        return editor(page, proposal, 400, upload_error=page.t.error(exc))
    response = store_upload(page, proposal, data, up.filename)
    if response.status_code in (303, 400):  # stored, or refused for good: not kept
        _discard(page, *gone)
    return response


def _discard(page: Page, upload_id: str, chunks: int) -> None:
    """The upload's row gone (committed), then its chunks (the sweep removes any left)."""
    up = page.db.get(PartialUpload, upload_id)
    if up is not None:
        page.db.delete(up)
        page.commit()
    services.drop_chunks(page.storage, upload_id, chunks)
