"""The attachment storage interface: the local-directory backend and the
S3-compatible backend against a real S3 server (moto in server mode), and the
web app storing and serving attachments through whichever the settings select."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import boto3
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from opencall.app import create_app
from opencall.proposals.models import Attachment
from opencall.settings import Settings
from opencall.storage import LocalStorage, S3Storage, Storage, StorageError, storage_for
from tests.authz.test_matrix import pdf_bytes
from tests.scale.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.web.conftest import Web, World, csrf, version_of, web_settings


def _bucket() -> str:
    return f"oc-{uuid.uuid4().hex[:12]}"


def _raw_client(server: S3Server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "uploads")
    server: S3Server = request.getfixturevalue("s3_server")
    settings = Settings(upload_dir=tmp_path / "unused", **server.settings(_bucket()))  # type: ignore[arg-type]
    return storage_for(settings)


def test_put_get_exists_delete(store: Storage) -> None:
    key = "ab/abcdef.pdf"
    assert store.get(key) is None and not store.exists(key)
    store.put(key, b"%PDF-1 first")
    assert store.exists(key) and store.get(key) == b"%PDF-1 first"
    store.put(key, b"%PDF-1 second")  # replaces
    assert store.get(key) == b"%PDF-1 second"
    store.put("ab/other.pdf", b"x" * 300_000)
    assert store.get("ab/other.pdf") == b"x" * 300_000
    store.delete(key)
    assert store.get(key) is None and not store.exists(key)
    store.delete(key)  # absent: no error
    assert store.get("ab/other.pdf") == b"x" * 300_000


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x.pdf", "ab/../../x", "a//b", "a\\b", "a/./b"]
)
def test_bad_keys_are_refused(store: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        store.put(key, b"data")
    with pytest.raises(ValueError, match="invalid storage key"):
        store.get(key)


def test_local_backend_writes_under_its_root_only(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put("ab/f.pdf", b"1")
    assert (tmp_path / "root" / "ab" / "f.pdf").read_bytes() == b"1"
    assert [p.name for p in (tmp_path / "root" / "ab").iterdir()] == ["f.pdf"]  # no temp left


def test_s3_objects_live_on_the_server_under_the_prefix(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = _bucket()
    settings = Settings(upload_dir=tmp_path, s3_prefix="site-a/", **s3_server.settings(bucket))  # type: ignore[arg-type]
    store = storage_for(settings)
    store.put("cd/cdef.pdf", b"%PDF-on-the-server")
    raw = _raw_client(s3_server)
    body = raw.get_object(Bucket=bucket, Key="site-a/cd/cdef.pdf")["Body"].read()
    assert body == b"%PDF-on-the-server"
    assert not any(tmp_path.iterdir())  # nothing on the local disk
    # another store with another prefix on the same bucket does not see it
    other = S3Storage(
        bucket,
        endpoint_url=s3_server.endpoint_url,
        region=REGION,
        prefix="site-b",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    assert other.get("cd/cdef.pdf") is None
    # one client per configuration and process
    assert storage_for(settings) is store


def test_settings_select_the_backend(tmp_path: Path) -> None:
    assert isinstance(storage_for(Settings(upload_dir=tmp_path)), LocalStorage)
    with pytest.raises(ValidationError, match="storage_backend"):
        Settings(storage_backend="ftp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="OPENCALL_S3_BUCKET"):
        storage_for(Settings(storage_backend="s3", s3_bucket=""))


def test_s3_unreachable_is_a_storage_error(tmp_path: Path) -> None:
    from tests.scale.s3 import free_port

    store = S3Storage(
        "nowhere",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    with pytest.raises(StorageError):
        store.put("ab/x.pdf", b"x")


def test_web_upload_and_download_through_s3(
    engine: Engine,
    factory: sessionmaker[Session],
    tmp_path: Path,
    s3_server: S3Server,
    world: World,
) -> None:
    """Two separate app instances (as two processes would be) with no shared disk:
    the PDF uploaded to one is served by the other from the object store."""
    bucket = _bucket()
    apps = []
    for name in ("a", "b"):
        settings = web_settings(engine, tmp_path / name, **s3_server.settings(bucket))
        apps.append(Web(create_app(settings), settings, factory, tmp_path / name))
    try:
        pid = world.ids["proposal"]
        up = apps[0].login(world.emails["pi"])
        data = pdf_bytes(2)
        r = up.post(
            f"/proposals/{pid}/attachments",
            data={"csrf_token": csrf(up, f"/proposals/{pid}"), "version": version_of(up, pid)},
            files={"pdf": ("case.pdf", data, "application/pdf")},
        )
        assert r.status_code == 303, r.text[:500]
        with factory() as s:
            att = s.query(Attachment).filter_by(proposal_id=pid).one()
            aid, key, clean_key = att.id, att.storage_key, att.clean_storage_key
        digest = hashlib.sha256(data).hexdigest()
        assert key == f"{digest[:2]}/{digest}.pdf"
        raw = _raw_client(s3_server)
        assert raw.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        # the rewritten copy the team and reviewers get is in the bucket too
        assert clean_key and clean_key != key
        clean = raw.get_object(Bucket=bucket, Key=clean_key)["Body"].read()
        for w in apps:  # no local copy anywhere
            assert not (w.tmp / "uploads").exists()
        down = apps[1].login(world.emails["coi"])
        r = down.get(f"/proposals/{pid}/attachments/{aid}")
        assert r.status_code == 200 and r.content == clean
        assert r.headers["content-disposition"] == 'attachment; filename="case.pdf"'
        assert r.headers["x-content-type-options"] == "nosniff"
        # an object gone from the store is a 404, not a crash
        raw.delete_object(Bucket=bucket, Key=clean_key)
        assert down.get(f"/proposals/{pid}/attachments/{aid}").status_code == 404
    finally:
        for w in apps:
            w.app.state.engine.dispose()
