"""A PDF sent in pieces that resumes after a dropped connection (trialapp23).

A small chunk protocol after the ideas of tus (https://tus.io: create, ask the offset,
append at that offset): an applicant on a link that drops every few minutes sends the
file in chunks of ``Settings.upload_chunk_bytes``, and after a drop asks how much arrived
and goes on from there, instead of sending the whole file again from zero.

- :func:`start_upload` makes a :class:`PartialUpload` (its id is a random token) for a
  file of a declared size and, when the browser could compute it, sha256; the same file
  started again by the same person (a reload) gets the one in progress back.
- :func:`receive_chunk` appends a chunk at the offset the client says: another offset is
  refused with the one the server has (``code="offset"``). A chunk is stored whole
  (the request's body read to its end) before the row moves its offset, so a chunk cut
  by a drop counts for nothing and is sent again.
- :func:`joined` joins the chunks and checks the length and the declared sha256; the
  file then goes through ``add_attachment`` as a whole upload does (the same checks).
- :func:`sweep_partial_uploads` removes the uploads not written to for
  ``Settings.partial_upload_keep_hours`` and chunks no row names.

Hand-written rather than a tus library: the Python tus servers on PyPI (fastapi-tusd,
flask-tus) write to a local directory of their own, outside ``opencall.storage`` (S3 for
several web machines), the session's CSRF check, the proposal's permissions and the
per-account limits; and tus-js-client would be a third-party asset of tens of kilobytes
on a page read over 2G. The protocol here is four routes (docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.proposals.models import PartialUpload, Proposal
from opencall.proposals.services.blobs import SWEEP_GRACE
from opencall.proposals.services.editing import require_editable
from opencall.storage import Storage

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK_KEY = re.compile(r"partial/([A-Za-z0-9_-]{1,40})/\d{6}")


def chunk_key(upload_id: str, n: int) -> str:
    """Where the ``n``-th chunk (from 0) of an upload is stored."""
    return f"partial/{upload_id}/{n:06d}"


def _too_large(size: int, max_bytes: int) -> DomainError:
    return DomainError(
        "The file is too large (%(size)s MB; at most %(max)s MB).",
        field="pdf",
        size=format(size / 1000000.0, ".1f"),
        max=format(max_bytes / 1000000.0, ".1f"),
    )


def start_upload(
    session: Session,
    proposal: Proposal,
    user_id: int,
    *,
    filename: str,
    size: str,
    sha256: str,
    max_bytes: int,
    per_user: int,
    keep_hours: int = 24,
    now: dt.datetime | None = None,
) -> PartialUpload:
    """The upload in progress for this file (the same person, proposal, name, size and
    checksum: a reload or a new tab goes on where it was), or a new one. A new one
    replaces the person's other upload in progress for this proposal (another file
    chosen); beyond ``per_user`` uploads in progress over all proposals, refused.
    Validates everything first: a refusal changes nothing."""
    now = now or utcnow()
    require_editable(proposal, now)
    if not size.isdecimal() or len(size) > 12 or int(size) < 1:
        raise DomainError("The file is empty.", field="pdf")
    declared = int(size)
    if declared > max_bytes:
        raise _too_large(declared, max_bytes)
    digest = sha256.strip().lower() or None
    if digest is not None and not _SHA256.fullmatch(digest):
        raise DomainError("The file's checksum is not a SHA-256 in hexadecimal.", field="pdf")
    name = (filename.replace("\\", "/").rsplit("/", 1)[-1] or "document.pdf")[:255]
    mine = session.scalars(
        select(PartialUpload).where(
            PartialUpload.user_id == user_id, PartialUpload.proposal_id == proposal.id
        )
    ).all()
    for up in mine:
        if up.filename == name and up.size == declared and up.sha256 == digest:
            return up
    elsewhere = session.scalar(
        select(func.count())
        .select_from(PartialUpload)
        .where(PartialUpload.user_id == user_id, PartialUpload.proposal_id != proposal.id)
    )
    if (elsewhere or 0) >= per_user:
        raise DomainError(
            "You have %(n)s uploads in progress on other proposals; finish one of them, "
            "or wait %(hours)s hours until it is dropped, before starting another.",
            field="pdf",
            code="throttled",
            n=elsewhere,
            hours=keep_hours,
        )
    for up in mine:  # another file chosen for this proposal: its chunks go with the sweep
        session.delete(up)
    up = PartialUpload(
        id=secrets.token_urlsafe(24),
        proposal_id=proposal.id,
        user_id=user_id,
        filename=name,
        size=declared,
        sha256=digest,
        received=0,
        chunks=0,
        created_at=now,
        updated_at=now,
    )
    session.add(up)
    session.flush()
    return up


class OffsetMismatch(Exception):
    """The client sent a chunk for another offset than the server's (``received``)."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


def receive_chunk(
    session: Session,
    storage: Storage,
    upload: PartialUpload,
    offset: str,
    data: bytes,
    *,
    max_chunk: int,
    now: dt.datetime | None = None,
) -> int:
    """Append ``data`` at ``offset``; returns the new offset. The chunk is stored before
    the row moves (a conditional update, so two copies of one chunk sent at once move it
    once); another offset raises :class:`OffsetMismatch` with the server's."""
    if not offset.isdecimal() or len(offset) > 12:
        raise DomainError("The offset of the piece is not a whole number.", field="pdf")
    at = int(offset)
    if at != upload.received:
        raise OffsetMismatch(upload.received)
    if not data or len(data) > max_chunk or at + len(data) > upload.size:
        raise DomainError(
            "The piece of the file is empty, longer than %(max)s bytes, or goes past the "
            "file's end; nothing was stored.",
            field="pdf",
            max=max_chunk,
        )
    storage.put(chunk_key(upload.id, upload.chunks), data)
    moved = session.execute(
        update(PartialUpload)
        .where(PartialUpload.id == upload.id, PartialUpload.received == at)
        .values(
            received=PartialUpload.received + len(data),
            chunks=PartialUpload.chunks + 1,
            updated_at=now or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 1) != 1:
        session.refresh(upload)
        raise OffsetMismatch(upload.received)
    session.refresh(upload)
    return upload.received


def joined(storage: Storage, upload: PartialUpload) -> bytes:
    """The whole file: its chunks joined, of the declared length and (when declared)
    sha256; else refused (the caller discards the upload: it must be sent again)."""
    if upload.received != upload.size:
        raise DomainError(
            "The file has not all arrived yet (%(got)s of %(size)s bytes).",
            field="pdf",
            got=upload.received,
            size=upload.size,
        )
    parts = [storage.get(chunk_key(upload.id, n)) for n in range(upload.chunks)]
    data = b"".join(p or b"" for p in parts)
    damaged = any(p is None for p in parts) or len(data) != upload.size
    if not damaged and upload.sha256 is not None:
        damaged = hashlib.sha256(data).hexdigest() != upload.sha256
    if damaged:
        raise DomainError(
            "The file arrived damaged (its checksum differs from the one your browser "
            "computed); nothing was stored. Send it again.",
            field="pdf",
            code="damaged",
        )
    return data


def drop_chunks(storage: Storage, upload_id: str, chunks: int) -> None:
    """Remove an upload's stored chunks (after its row is gone, or with it)."""
    for n in range(chunks):
        storage.delete(chunk_key(upload_id, n))


@dataclass
class PartialSweep:
    """What :func:`sweep_partial_uploads` removed."""

    uploads: int = 0
    chunks: int = 0


def sweep_partial_uploads(
    session: Session,
    storage: Storage,
    *,
    keep: dt.timedelta,
    now: dt.datetime | None = None,
    grace: dt.timedelta = SWEEP_GRACE,
) -> PartialSweep:
    """Remove the uploads not written to since ``now - keep`` (rows and chunks), and the
    chunks no row names that were written before ``now - grace`` (an upload replaced by
    another file, a row removed with its proposal). Flushes; the caller commits."""
    now = now or utcnow()
    out = PartialSweep()
    stale = session.scalars(
        select(PartialUpload).where(PartialUpload.updated_at < now - keep)
    ).all()
    for up in stale:
        session.delete(up)
        out.uploads += 1
    session.flush()
    live = set(session.scalars(select(PartialUpload.id)))
    dropped = {u.id for u in stale}
    for item in storage.listing():
        m = _CHUNK_KEY.fullmatch(item.key)
        if m is None or m.group(1) in live:
            continue
        if item.modified >= now - grace and m.group(1) not in dropped:
            continue
        storage.delete(item.key)
        out.chunks += 1
    return out
