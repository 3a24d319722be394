"""Where attachment files are kept: written once under their sha256 through the
storage backend, read back by key (the original and the rewritten copy), and removed
by :func:`sweep_blobs` once no row refers to them (a replaced or removed file)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.proposals.models import Attachment, ProposalRevision
from opencall.storage import LocalStorage, Storage

log = logging.getLogger("opencall.storage")

# a file written this recently is never swept: an upload stores its bytes before the
# transaction that adds its row commits (and a sweep must not race it)
SWEEP_GRACE = dt.timedelta(minutes=15)
_BLOB_KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{64})\.pdf")


def _store(where: Path | Storage) -> Storage:
    return LocalStorage(where) if isinstance(where, str | Path) else where


def store_blob(where: Path | Storage, data: bytes) -> str:
    """Write bytes once under their sha256 (outside the web root); returns the storage key.

    The one place that writes attachment files, through the storage backend (a local
    directory, or an S3-compatible bucket: ``opencall.storage``)."""
    key = blob_key(data)
    # written even when present: the same bytes (content-addressed), but a fresh write
    # time, so that a sweep running meanwhile takes it for a new upload and keeps it
    _store(where).put(key, data)
    return key


def blob_key(data: bytes) -> str:
    """The storage key of a file's bytes: ``<sha256[:2]>/<sha256>.pdf``."""
    return _key_of(hashlib.sha256(data).hexdigest())


def _key_of(digest: str) -> str:
    return f"{digest[:2]}/{digest}.pdf"


@dataclass
class Sweep:
    """What :func:`sweep_blobs` removed (or, in a dry run, would remove)."""

    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    referred: int = 0  # files kept because a row refers to them
    recent: int = 0  # files kept because they were written within the grace period


def referred_keys(session: Session) -> set[str]:
    """Every storage key a row refers to: each attachment's original and rewritten copy,
    and the original of every file a submitted revision names (by its sha256)."""
    keys: set[str] = set()
    for original, clean in session.execute(
        select(Attachment.storage_key, Attachment.clean_storage_key)
    ):
        keys.add(original)
        if clean:
            keys.add(clean)
    revisions = select(ProposalRevision.content).execution_options(yield_per=500)
    for content in session.scalars(revisions):
        for att in content.get("attachments", []):
            digest = att.get("sha256")
            if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest):
                keys.add(_key_of(digest))
    return keys


def sweep_blobs(
    session: Session,
    storage: Storage,
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = SWEEP_GRACE,
    dry_run: bool = False,
) -> Sweep:
    """Remove the attachment files (keys ``ab/<sha256>.pdf``) that no row refers to
    (:func:`referred_keys`) and that were written before ``now - grace``; any other
    stored file is left alone. The storage is listed before the rows are read, and a
    candidate's write time is read again just before it goes, so an upload storing
    its bytes meanwhile (its row not committed yet) is kept. ``dry_run``: remove
    nothing, say what would go."""
    cutoff = (now or utcnow()) - grace
    listed = [x for x in storage.listing() if _BLOB_KEY.fullmatch(x.key)]
    referred = referred_keys(session)
    out = Sweep()
    for item in sorted(listed, key=lambda x: x.key):
        if item.key in referred:
            out.referred += 1
            continue
        written = item.modified if dry_run else storage.modified(item.key)
        if written is None:  # removed meanwhile
            continue
        if written >= cutoff:
            out.recent += 1
            continue
        if not dry_run:
            storage.delete(item.key)
            log.info("swept %s (%s bytes): no row refers to it", item.key, item.size)
        out.removed.append(item.key)
        out.bytes_freed += item.size
    return out


def read_blob(where: Path | Storage, key: str) -> bytes:
    """The bytes stored under ``key`` (the one place that reads attachment files)."""
    data = _store(where).get(key)
    if data is None:
        raise FileNotFoundError(key)
    return data


def attachment_path(upload_dir: Path, attachment: Attachment) -> Path:
    """The original as uploaded: for the user office (and the scan job) only."""
    return Path(upload_dir) / attachment.storage_key


def clean_attachment_path(upload_dir: Path, attachment: Attachment) -> Path | None:
    """The rewritten copy that reviewers, technical reviewers, chairs and the team get;
    None for a file stored before copies were made (never fall back to the original)."""
    if not attachment.clean_storage_key:
        return None
    return Path(upload_dir) / attachment.clean_storage_key


def attachment_bytes(storage: Storage, attachment: Attachment) -> bytes | None:
    """The original as uploaded, from whichever backend holds it (the user office's)."""
    return storage.get(attachment.storage_key)


def clean_attachment_bytes(storage: Storage, attachment: Attachment) -> bytes | None:
    """The rewritten copy everyone but the user office gets; None for a file stored before
    copies were made (never fall back to the original)."""
    if not attachment.clean_storage_key:
        return None
    return storage.get(attachment.clean_storage_key)
