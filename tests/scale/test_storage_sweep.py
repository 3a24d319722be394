"""Replaced and removed uploads leave storage: ``sweep_blobs`` (``opencall storage
sweep``) removes every stored file no row refers to, on the local and the S3 backend
(moto in server mode), never one still referred to (another proposal's same file, a
submitted revision's original) nor one written in the last minutes (an upload whose
row is not committed yet). Before the fix replaced files stayed forever."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.db import utcnow
from opencall.proposals import services
from opencall.proposals.services.blobs import blob_key
from opencall.settings import Settings
from opencall.storage import LocalStorage, Storage, storage_for
from tests import factories as F
from tests.crowd.live import pdf_of_size
from tests.scale.s3 import S3Server
from tests.web.conftest import full_proposal, make_open


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "uploads")
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = f"oc-{uuid.uuid4().hex[:12]}"
    settings = Settings(upload_dir=tmp_path / "unused", **server.settings(bucket))  # type: ignore[arg-type]
    return storage_for(settings)


def _upload(s: Session, p, data: bytes, store: Storage):  # type: ignore[no-untyped-def]
    return services.add_attachment(s, p, data, "case.pdf", storage=store, max_bytes=10**7)


def test_sweep_removes_only_files_no_row_refers_to(
    factory: sessionmaker[Session], store: Storage
) -> None:
    a, b, c = (pdf_of_size(3_000, seed) for seed in (11, 12, 13))
    with factory() as s:
        call = F.fast_call(s, pools=1, requires_pdf=False)
        make_open(call)
        p1, p2, p3 = (full_proposal(s, call, F.user(s)) for _ in range(3))
        first = _upload(s, p1, a, store)
        gone = {first.storage_key, first.clean_storage_key}
        s.flush()
        kept = _upload(s, p1, b, store)  # replaces a: its two files are referred to no more
        shared = _upload(s, p2, b, store)  # the same bytes in another proposal
        assert shared.storage_key == kept.storage_key
        submitted = _upload(s, p3, c, store)
        services.submit(s, p3)  # the revision names c's sha256
        s.commit()
        s.refresh(shared)
        services.remove_attachment(s, p2, shared)  # b stays: p1 still refers to it
        s.refresh(submitted)
        services.remove_attachment(s, p3, submitted)
        s.commit()
    racing = blob_key(b"%PDF-1.4 an upload not yet committed")
    store.put(racing, b"%PDF-1.4 an upload not yet committed")
    stored = {x.key for x in store.listing()}
    assert gone | {kept.storage_key, kept.clean_storage_key, racing} <= stored

    with factory() as s:  # everything is recent: nothing removed
        assert services.sweep_blobs(s, store).removed == []
    later = utcnow() + dt.timedelta(hours=1)
    with factory() as s:
        dry = services.sweep_blobs(s, store, now=later, dry_run=True)
    assert {x.key for x in store.listing()} == stored  # a dry run removes nothing
    with factory() as s:
        done = services.sweep_blobs(s, store, now=later)
    assert sorted(dry.removed) == sorted(done.removed)
    left = {x.key for x in store.listing()}
    # the revision's original stays (the user office's record of what was submitted)
    assert submitted.storage_key in left
    assert set(done.removed) == stored - left
    assert gone | {racing, submitted.clean_storage_key} == set(done.removed)
    assert done.bytes_freed > 0 and dry.bytes_freed == done.bytes_freed
    for key in (kept.storage_key, kept.clean_storage_key):
        assert store.get(key) is not None
    with factory() as s:  # a second sweep finds nothing
        assert services.sweep_blobs(s, store, now=later).removed == []


def test_sweep_leaves_files_that_are_not_uploads(tmp_path: Path, factory) -> None:  # type: ignore[no-untyped-def]
    """Only keys of the attachments' form (``ab/<sha256>.pdf``) are candidates."""
    store = LocalStorage(tmp_path / "uploads")
    store.put("notes/readme.txt", b"the operator's")
    store.put("ab/not-a-digest.pdf", b"x")
    with factory() as s:
        out = services.sweep_blobs(s, store, now=utcnow() + dt.timedelta(days=1))
    assert out.removed == []
    assert store.get("notes/readme.txt") == b"the operator's"


def test_the_storage_sweep_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``opencall storage sweep --dry-run`` says what would go and removes nothing; without
    it the old file no row refers to goes and the one written just now stays."""
    import os

    from opencall.cli import app as cli_app
    from tests.cli_db import cli_database

    uploads = tmp_path / "uploads"
    monkeypatch.setenv("OPENCALL_UPLOAD_DIR", str(uploads))
    store = LocalStorage(uploads)
    old, new = blob_key(b"old"), blob_key(b"new")
    store.put(old, b"old")
    store.put(new, b"new")
    hour_ago = (utcnow() - dt.timedelta(hours=1)).timestamp()
    os.utime(uploads / old, (hour_ago, hour_ago))
    with cli_database(tmp_path, monkeypatch) as (runner, _factory):
        r = runner.invoke(cli_app, ["storage", "sweep", "--dry-run"])
        assert r.exit_code == 0, r.output
        assert old in r.output and new not in r.output and "would remove 1" in r.output
        assert store.exists(old)
        r = runner.invoke(cli_app, ["storage", "sweep"])
        assert r.exit_code == 0, r.output
        assert "removed 1" in r.output
        assert not store.exists(old) and store.exists(new)
        r = runner.invoke(cli_app, ["storage", "sweep", "--grace-minutes", "-1"])
        assert r.exit_code != 0 and store.exists(new)
        # pieces of an upload no row names (trialapp23), written an hour ago, go too
        stray = "partial/gone/000000"
        store.put(stray, b"piece")
        os.utime(uploads / stray, (hour_ago, hour_ago))
        r = runner.invoke(cli_app, ["storage", "sweep"])
        assert r.exit_code == 0, r.output
        assert "removed 0 unfinished uploads" in r.output and "1 of their pieces" in r.output
        assert not store.exists(stray)
