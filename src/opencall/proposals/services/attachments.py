"""The proposal's PDF: checked and rewritten on upload (``pdfsafe``), removed,
and the clean copies made for files stored before copies existed."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.schemas import call_form
from opencall.errors import DomainError
from opencall.proposals import pdfsafe
from opencall.proposals.models import Attachment, Proposal
from opencall.proposals.services.blobs import read_blob, store_blob
from opencall.proposals.services.editing import (
    ATTACHMENTS,
    audit,
    require_editable,
    save_edit,
)
from opencall.proposals.services.scans import request_anonymity_scans
from opencall.settings import Settings
from opencall.storage import LocalStorage, Storage

PDF_MAGIC = pdfsafe.PDF_MAGIC
MSG_NOT_PDF = "This file is not a PDF."
MSG_UNREADABLE = "This PDF cannot be read; it may be damaged."
MSG_ENCRYPTED = "Password-protected PDFs cannot be accepted."
MSG_POLYGLOT = (
    "This file is a PDF combined with another kind of file (such as a ZIP archive); "
    "export a plain PDF and upload it again."
)
MSG_BOMB = (
    "This PDF holds content that expands to more than %(mb)s MB; export it again "
    "with smaller images or figures."
)
MSG_TOO_COMPLEX = (
    "This PDF is too complex to check in reasonable time; export it again "
    "(for example with simpler figures)."
)


def _clean_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?').strip() or "document"
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    return base[-120:]


def pdf_limits(settings: Settings) -> pdfsafe.Limits:
    """The bounds on one PDF's work, from the settings."""
    return pdfsafe.Limits(
        max_stream_bytes=settings.pdf_max_stream_mb * 1024 * 1024,
        max_page_content_bytes=settings.pdf_max_page_content_kb * 1024,
        time_s=settings.pdf_time_limit_s,
        scan_time_s=settings.pdf_scan_time_limit_s,
        memory_bytes=settings.pdf_memory_limit_mb * 1024 * 1024,
    )


def _refusal(exc: pdfsafe.PdfRefused, max_pages: int) -> DomainError:
    if exc.code == "not_pdf":
        msg = MSG_NOT_PDF
    elif exc.code == "encrypted":
        msg = MSG_ENCRYPTED
    elif exc.code == "polyglot":
        msg = MSG_POLYGLOT
    elif exc.code == "too_many_pages":
        msg = f"The PDF has {exc.value} pages; this call allows at most {max_pages}."
    elif exc.code == "bomb":
        msg = MSG_BOMB % {"mb": exc.value // (1024 * 1024)}
    elif exc.code in ("too_complex", "time_limit"):
        msg = MSG_TOO_COMPLEX
    else:
        msg = MSG_UNREADABLE
    return DomainError.composed(msg, field="pdf")


def upload_made(
    proposal: Proposal,
    data: bytes,
    filename: str,
    *,
    purpose: str = "scientific",
    expected_version: int | None = None,
) -> Attachment | None:
    """The attachment an upload of ``data`` under ``filename`` already stored (a retry
    whose answer was lost on the way), or None. A form that carried no version (versions
    start at 1) is no retry of one that did: it is refused like any edit without one."""
    if expected_version is not None and expected_version < 1:
        return None
    digest = hashlib.sha256(data).hexdigest()
    name = _clean_filename(filename)
    return next(
        (
            a
            for a in proposal.attachments
            if a.purpose == purpose and a.sha256 == digest and a.filename == name
        ),
        None,
    )


def add_attachment(
    session: Session,
    proposal: Proposal,
    data: bytes,
    filename: str,
    *,
    upload_dir: Path | None = None,
    storage: Storage | None = None,
    max_bytes: int,
    purpose: str = "scientific",
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
    limits: pdfsafe.Limits | None = None,
) -> Attachment:
    """Store a PDF for the proposal (replacing an earlier one of the same purpose).

    The content is checked, not the name (``pdfsafe``): polyglots, files whose
    structure does not parse, encrypted files, files over the call's page limit and
    decompression bombs are refused and nothing changes. Two files are kept: the
    original (the user office's) and a rewritten copy without metadata, scripts,
    actions, embedded files, annotations and form fields (everyone else's). Both
    are written once under their sha256, so a frozen revision's file never changes.
    The anonymity scan of the file is queued as a job.
    """
    # the checks and the PDF's rewrite (a child process: a second or more) come before the
    # write lock, which is then held only for the database work: on SQLite the lock is the
    # whole database's, and every sign-in and save would wait behind each upload's parse
    require_editable(proposal, now)
    if not data:
        raise DomainError("The file is empty.", field="pdf")
    if len(data) > max_bytes:
        raise DomainError(
            "The file is too large (%(size)s MB; at most %(max)s MB).",
            field="pdf",
            size=format(len(data) / 1000000.0, ".1f"),
            max=format(max_bytes / 1000000.0, ".1f"),
        )
    digest = hashlib.sha256(data).hexdigest()
    name = _clean_filename(filename)
    stored = upload_made(
        proposal, data, filename, purpose=purpose, expected_version=expected_version
    )
    if stored is not None:
        # the same file under the same name, already stored: a retry of an upload whose
        # answer was lost on the way (it carries the version it was sent with, now
        # stale). Nothing to change, so no version to compare: the file it sent is kept.
        return stored
    form = call_form(proposal.call.form)
    limits = replace(limits or pdfsafe.Limits(), max_pages=form.max_pdf_pages)
    try:
        cleaned = pdfsafe.clean(data, limits)
    except pdfsafe.PdfRefused as exc:
        raise _refusal(exc, form.max_pdf_pages) from exc
    require_editable(proposal, now, session=session)  # locked, and read again
    pages = cleaned.pages
    if storage is None:
        if upload_dir is None:
            raise ValueError("add_attachment needs a storage (or an upload_dir)")
        storage = LocalStorage(upload_dir)
    key = store_blob(storage, data)
    clean_key = store_blob(storage, cleaned.data)
    for old in [a for a in proposal.attachments if a.purpose == purpose]:
        session.delete(old)
    att = Attachment(
        proposal_id=proposal.id,
        purpose=purpose,
        filename=name,
        content_type="application/pdf",
        size=len(data),
        pages=pages,
        sha256=digest,
        storage_key=key,
        clean_storage_key=clean_key,
        clean_size=len(cleaned.data),
        uploaded_by=actor_id,
    )
    session.add(att)
    save_edit(
        session,
        proposal,
        expected_version,
        "attachment.added",
        actor_id=actor_id,
        data={
            "sha256": digest,
            "pages": pages,
            "size": len(data),
            "removed": list(cleaned.removed),
        },
        refresh=[ATTACHMENTS],
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return att


def clean_stored_attachments(
    session: Session,
    *,
    upload_dir: Path | Storage,
    limits: pdfsafe.Limits | None = None,
    again: bool = False,
) -> tuple[int, list[tuple[int, str]]]:
    """Make the rewritten copy of every attachment stored before copies were made
    (until then reviewers get no file for it, never the original) and queue the
    anonymity scans every dual-anonymous proposal lacks; ``again``: make every copy again
    from its original (the rewrite removes more than it did when a copy was made), an
    attachment whose copy comes out the same not counted and one refused now keeping
    its copy. Returns (copies made, [(attachment id, why refused)])."""
    made, refused = 0, []
    query = select(Attachment).order_by(Attachment.id)
    if not again:
        query = query.where(Attachment.clean_storage_key.is_(None))
    for att in session.scalars(query):
        try:
            cleaned = pdfsafe.clean(read_blob(upload_dir, att.storage_key), limits)
        except pdfsafe.PdfRefused as exc:
            refused.append((att.id, exc.code))
            continue
        except OSError as exc:
            refused.append((att.id, f"unreadable: {exc}"))
            continue
        key = store_blob(upload_dir, cleaned.data)
        if key == att.clean_storage_key:
            continue
        att.clean_storage_key = key
        att.clean_size = len(cleaned.data)
        made += 1
        audit(
            session,
            att.proposal,
            "attachment.cleaned",
            data={"attachment_id": att.id, "removed": list(cleaned.removed)},
        )
    # and every proposal of a dual-anonymous call gets its cached scans (rows stored
    # before scans were cached have none: the pages would show "still running")
    for prop in session.scalars(
        select(Proposal)
        .join(Call, Call.id == Proposal.call_id)
        .where(Call.anonymity == "dual", Proposal.status != "withdrawn")
        .order_by(Proposal.id)
    ):
        request_anonymity_scans(session, prop)
    session.flush()
    return made, refused
