"""``opencall backup`` / ``opencall restore`` of a site whose files are in an S3 bucket
(moto in server mode): the bucket's objects go into the archive with the database and
come back into the restored site's bucket, every row and every object compared, on
SQLite and PostgreSQL. Before the fix both commands refused such a site ("not
supported")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opencall import backup
from opencall.cli import app as cli_app
from opencall.db import make_sessionmaker
from opencall.proposals import services
from opencall.proposals.models import Attachment
from opencall.settings import Settings
from opencall.storage import Storage, storage_for
from tests import factories as F
from tests.crowd.live import pdf_of_size
from tests.crowd.test_backup import _rows, empty_target  # noqa: F401  (a fixture)
from tests.scale.s3 import S3Server
from tests.web.conftest import full_proposal, make_open


def _bucket_store(server: S3Server, tmp_path: Path, prefix: str = "") -> tuple[Settings, Storage]:
    settings = Settings(
        upload_dir=tmp_path / "unused",
        s3_prefix=prefix,
        **server.settings(f"oc-{uuid.uuid4().hex[:12]}"),  # type: ignore[arg-type]
    )
    return settings, storage_for(settings)


def _world(factory: sessionmaker[Session], store: Storage) -> None:
    with factory() as s:
        call = F.fast_call(s, pools=1, requires_pdf=False)
        make_open(call)
        for i in range(2):
            p = full_proposal(s, call, F.user(s))
            services.add_attachment(
                s, p, pdf_of_size(4_000, 40 + i), f"case {i}.pdf", storage=store, max_bytes=10**7
            )
        s.commit()


def _objects(store: Storage) -> dict[str, bytes | None]:
    return {x.key: store.get(x.key) for x in store.listing()}


def test_a_site_on_s3_is_backed_up_and_restored_with_its_objects(
    engine: Engine,
    factory: sessionmaker[Session],
    empty_target: Engine,  # noqa: F811
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    _settings, source = _bucket_store(s3_server, tmp_path, prefix="site-a")
    _world(factory, source)
    archive = tmp_path / "backup.tar.gz"
    summary = backup.backup(engine, source, archive)
    objects = _objects(source)
    assert summary.files == 4 == len(objects)  # two originals, two reviewers' copies
    _settings2, target = _bucket_store(s3_server, tmp_path)
    target.put(next(iter(objects)), objects[next(iter(objects))])  # the same content: kept
    restored = backup.restore(empty_target, target, archive)
    assert restored.files == 4
    assert _objects(target) == objects
    assert _rows(empty_target) == _rows(engine)
    with make_sessionmaker(empty_target)() as s:
        keys = {
            k for a in s.scalars(select(Attachment)) for k in (a.storage_key, a.clean_storage_key)
        }
    assert keys == set(objects)


def test_restore_into_a_bucket_holding_other_content_changes_nothing(
    engine: Engine,
    factory: sessionmaker[Session],
    empty_target: Engine,  # noqa: F811
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    _settings, source = _bucket_store(s3_server, tmp_path)
    _world(factory, source)
    archive = tmp_path / "backup.tar.gz"
    backup.backup(engine, source, archive)
    _settings2, target = _bucket_store(s3_server, tmp_path)
    key = next(iter(_objects(source)))
    target.put(key, b"other bytes")
    with pytest.raises(backup.BackupError, match="other content"):
        backup.restore(empty_target, target, archive)
    assert _objects(target) == {key: b"other bytes"}
    assert inspect(empty_target).get_table_names() == []  # the database untouched


def test_the_commands_back_up_and_restore_a_site_on_s3(s3_server: S3Server, tmp_path: Path) -> None:
    """The command line, as an operator runs it: ``backup`` then ``restore`` into a new
    database and a new bucket (SQLite)."""
    runner = CliRunner()
    src_url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    bucket = f"oc-{uuid.uuid4().hex[:12]}"
    env = {"OPENCALL_DATABASE_URL": src_url, **s3_server.env(bucket)}
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    store = storage_for(Settings(upload_dir=tmp_path / "unused", **s3_server.settings(bucket)))  # type: ignore[arg-type]
    store.put("ab/" + "ab" * 32 + ".pdf", b"%PDF-1.4 kept")
    out = tmp_path / "b.tar.gz"
    r = runner.invoke(cli_app, ["backup", "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert "1 uploaded file" in r.output
    new_bucket = f"oc-{uuid.uuid4().hex[:12]}"
    env2 = {
        "OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}",
        **s3_server.env(new_bucket),
    }
    r = runner.invoke(cli_app, ["restore", str(out)], env=env2)
    assert r.exit_code == 0, r.output
    again = storage_for(Settings(upload_dir=tmp_path / "unused", **s3_server.settings(new_bucket)))  # type: ignore[arg-type]
    assert again.get("ab/" + "ab" * 32 + ".pdf") == b"%PDF-1.4 kept"
