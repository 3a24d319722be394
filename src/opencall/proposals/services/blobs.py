"""Where attachment files are kept: written once under their sha256 through the
storage backend, read back by key (the original and the rewritten copy)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from opencall.proposals.models import Attachment
from opencall.storage import LocalStorage, Storage


def _store(where: Path | Storage) -> Storage:
    return LocalStorage(where) if isinstance(where, str | Path) else where


def store_blob(where: Path | Storage, data: bytes) -> str:
    """Write bytes once under their sha256 (outside the web root); returns the storage key.

    The one place that writes attachment files, through the storage backend (a local
    directory, or an S3-compatible bucket: ``opencall.storage``)."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}.pdf"
    store = _store(where)
    if not store.exists(key):
        store.put(key, data)
    return key


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
