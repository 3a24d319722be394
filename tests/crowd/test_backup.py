"""Issue 12: `opencall backup` / `opencall restore` round trip into an empty database,
every table and every uploaded file compared, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from opencall import backup
from opencall.db import make_engine, make_sessionmaker
from opencall.models import metadata
from opencall.proposals import services
from opencall.proposals.models import Attachment
from tests import factories as F
from tests.crowd.live import pdf_of_size
from tests.web.conftest import full_proposal, make_open


def _world(factory: sessionmaker[Session], uploads: Path) -> None:
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        for i in range(3):
            p = full_proposal(s, call, F.user(s, email=f"b{i}@example.org"))
            services.add_attachment(
                s,
                p,
                pdf_of_size(20_000, i),
                f"case {i}.pdf",
                upload_dir=uploads,
                max_bytes=10**7,
            )
            if i < 2:
                services.submit(s, p)
        s.commit()


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(table.select().order_by(*order))]
    return out


@pytest.fixture
def empty_target(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A new, empty database of the same backend."""
    if engine.dialect.name == "sqlite":
        target = make_engine(f"sqlite:///{tmp_path / 'restored.sqlite3'}")
        yield target
        target.dispose()
        return
    url = make_url(engine.url.render_as_string(hide_password=False))
    name = f"{url.database}_restore"
    admin = make_engine(url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield target
    target.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_backup_restores_every_row_and_file(
    engine: Engine, factory: sessionmaker[Session], empty_target: Engine, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    _world(factory, uploads)
    # SQLite: this connection keeps the WAL from being checkpointed, so the committed rows
    # lie in the WAL file (a plain copy of the database file would miss them)
    keep = engine.connect()
    try:
        archive = tmp_path / "backup.tar.gz"
        summary = backup.backup(engine, uploads, archive)
        # each attachment is two files: the original and the copy reviewers get
        assert summary.files == 6 == len([f for f in uploads.rglob("*") if f.is_file()])
        source_rows = _rows(engine)
    finally:
        keep.close()
    restored_uploads = tmp_path / "restored-uploads"
    backup.restore(empty_target, restored_uploads, archive)
    restored_rows = _rows(empty_target)
    assert restored_rows == source_rows
    assert len(source_rows["proposals"]) == 3 and len(source_rows["audit_events"]) > 0
    with make_sessionmaker(empty_target)() as s:
        atts = list(s.scalars(select(Attachment)))
    assert len(atts) == 3
    for a in atts:
        data = (restored_uploads / a.storage_key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == a.sha256
        assert data == (uploads / a.storage_key).read_bytes()
        assert a.clean_storage_key
        clean = (restored_uploads / a.clean_storage_key).read_bytes()
        assert clean == (uploads / a.clean_storage_key).read_bytes()


def test_restore_refuses_a_database_that_is_not_empty_or_a_damaged_archive(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    _world(factory, uploads)
    archive = tmp_path / "backup.tar.gz"
    backup.backup(engine, uploads, archive)
    before = _rows(engine)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(engine, tmp_path / "other", archive)
    assert _rows(engine) == before and not (tmp_path / "other").exists()
    # a damaged archive: one uploaded file altered
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(damaged, "w:gz") as dst:
        for m in src.getmembers():
            f = src.extractfile(m)
            data = f.read() if f else b""
            if m.name.startswith("uploads/"):
                data = data[:-1] + b"!"
            import io

            dst.addfile(m, io.BytesIO(data))
    target = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.restore(target, tmp_path / "new-uploads", damaged)
    target.dispose()
    assert not (tmp_path / "new-uploads").exists()


def test_db_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from opencall import migrate
    from opencall.cli import app

    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    env = {"OPENCALL_DATABASE_URL": url}
    runner = CliRunner()
    from alembic.script import ScriptDirectory

    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    eng = make_engine(url)
    head = migrate.current(eng)
    rev = ScriptDirectory.from_config(migrate.alembic_config(eng)).get_revision(head)
    assert rev is not None
    r = runner.invoke(app, ["db", "downgrade", "previous", "--yes"], env=env)
    assert r.exit_code == 0, r.output
    assert migrate.current(eng) == rev.down_revision  # one step back
    migrate.upgrade(eng)
    assert migrate.current(eng) == head
    assert migrate.drift(eng) == []
    eng.dispose()


def test_the_backup_archive_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The archive holds the whole database (password hashes, the audit log, every
    proposal): whatever the umask, nobody but the service account may read it."""
    eng = make_engine(f"sqlite:///{tmp_path / 'perm.sqlite3'}")
    from opencall import migrate

    migrate.upgrade(eng)
    out = tmp_path / "perm.tar.gz"
    backup.backup(eng, tmp_path / "uploads", out)
    eng.dispose()
    assert out.stat().st_mode & 0o077 == 0, oct(out.stat().st_mode)
