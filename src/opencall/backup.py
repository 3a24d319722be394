"""``opencall backup`` / ``opencall restore``: the database and the uploaded files in one
archive, restorable into an empty database.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent
  snapshot of a live database, committed rows still in the WAL file included. A plain
  copy of the database file is never made (it misses what sits in the WAL).
- PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot) and ``pg_restore``.
- The uploaded files are always in the archive, from whichever storage holds them
  (``opencall.storage``: the upload directory, or the S3 bucket, under its prefix), and
  a restore puts them back into the storage the restored site is set up with. The
  database is dumped first: a file is written before the row that names it commits and
  is removed only by ``opencall storage sweep``, well after no row names it, so every
  file the dump references is already stored when they are copied.

The archive is a gzip'd tar: ``manifest.json`` (format, backend, schema revision, the
sha256 and size of every member), ``database.sqlite3`` or ``database.pgdump``, and
``uploads/...``. Restore checks every hash before it writes anything, refuses a
database that is not empty, and never overwrites an upload with different content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine, inspect

from opencall import migrate
from opencall.db import DEFAULT_CONNECT_TIMEOUT_S
from opencall.storage import LocalStorage, Storage, StorageError


def _storage(where: Path | str | Storage) -> Storage:
    """A directory given as a path is the local storage of that directory."""
    return LocalStorage(Path(where)) if isinstance(where, str | os.PathLike) else where


FORMAT = 1
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed."""


@dataclass
class Summary:
    archive: Path
    backend: str
    revision: str | None
    files: int
    bytes: int


#: the name ``opencall backup`` gives an archive by default: its UTC time, so that the
#: names sort as the times do
ARCHIVE_NAME = "opencall-{stamp}.tar.gz"
_ARCHIVE_RE = re.compile(r"opencall-\d{8}T\d{6}Z\.tar\.gz")


def archive_name(at: dt.datetime) -> str:
    """The default name of an archive written at ``at``."""
    return ARCHIVE_NAME.format(stamp=at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ"))


def prune(folder: Path, *, keep: int, written: Path) -> list[Path]:
    """Keep the ``keep`` newest archives of ``folder`` named as ``opencall backup`` names
    them (:func:`archive_name`), ``written`` (the one just written) among them; remove the
    older ones and return them. No other file is touched (an archive named by hand, "before
    upgrade", stays)."""
    if keep < 1:
        raise BackupError("--keep must be at least 1 (the backup just written)")
    ours = sorted(
        (p for p in folder.iterdir() if p.is_file() and _ARCHIVE_RE.fullmatch(p.name)),
        key=lambda p: p.name,
        reverse=True,
    )
    kept = {written.resolve()}
    for p in ours:
        if len(kept) >= keep:
            break
        kept.add(p.resolve())
    gone = [p for p in ours if p.resolve() not in kept]
    for p in gone:
        p.unlink()
    return gone


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def libpq_url(engine: Engine, connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S) -> str:
    """The engine's URL as pg_dump/pg_restore take it (no SQLAlchemy driver name). They
    connect by themselves, not through the engine (whose connect_timeout lives in its
    connect_args): the URL carries ``connect_timeout`` (OPENCALL_DB_CONNECT_TIMEOUT_S)
    unless it names its own, so a server that stops answering ends the command within it
    instead of after the operating system's TCP timeout."""
    url = engine.url.set(drivername="postgresql")
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(connect_timeout_s)})
    return url.render_as_string(hide_password=False)


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _run(args: list[str], what: str) -> None:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{args[0]} is not installed; it is needed to {what}") from exc
    if proc.returncode != 0:
        raise BackupError(f"{args[0]} failed: {proc.stderr.strip()[-2000:]}")


def _dump(
    engine: Engine, dest_dir: Path, *, connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S
) -> Path:
    if engine.dialect.name == "sqlite":
        dest = dest_dir / "database.sqlite3"
        src = sqlite3.connect(str(_sqlite_path(engine)))
        dst = sqlite3.connect(str(dest))
        try:
            with dst:
                src.backup(dst)  # online, consistent; the WAL's committed pages included
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
        return dest
    if engine.dialect.name == "postgresql":
        dest = dest_dir / "database.pgdump"
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={dest}",
                f"--dbname={libpq_url(engine, connect_timeout_s)}",
            ],
            "back up PostgreSQL",
        )
        return dest
    raise BackupError(f"no backup for the {engine.dialect.name} database")


def backup(
    engine: Engine,
    upload_dir: Path | Storage,
    out: Path,
    *,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
) -> Summary:
    """Write the archive ``out`` (atomically: a partial archive never has its name), with
    every file of the storage ``upload_dir`` (a directory, or a ``Storage``: the bucket)."""
    store = _storage(upload_dir)
    revision = migrate.current(engine)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opencall-backup-") as tmp:
        dump = _dump(
            engine, Path(tmp), connect_timeout_s=connect_timeout_s
        )  # the database first, then the files
        members: dict[str, dict[str, Any]] = {
            dump.name: {"sha256": _sha256(dump), "size": dump.stat().st_size}
        }
        # each stored file is read once, hashed and kept in a file of the temporary
        # directory (the bucket's objects are not files to add to the tar)
        uploads: list[tuple[Path, str]] = []
        staged = Path(tmp) / "uploads"
        try:
            listed = sorted(store.listing(), key=lambda x: x.key)
            for item in listed:
                if item.key.endswith(".tmp"):
                    continue  # a write in progress; its final name follows
                data = store.get(item.key)
                if data is None:
                    continue  # removed since it was listed (the sweep): no row names it
                name = "uploads/" + _safe_name(item.key).as_posix()
                path = staged / _safe_name(item.key)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                uploads.append((path, name))
        except StorageError as exc:
            raise BackupError(f"the uploaded files cannot be read: {exc}") from exc
        manifest = {
            "format": FORMAT,
            "backend": engine.dialect.name,
            "revision": revision,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "members": members,
        }
        manifest_path = Path(tmp) / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        partial = out.with_name(out.name + ".partial")
        partial.unlink(missing_ok=True)
        # the whole database is in it: the service account's alone, whatever the umask
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(manifest_path, arcname=MANIFEST)
            tar.add(dump, arcname=dump.name)
            for path, name in uploads:
                tar.add(path, arcname=name)
        os.replace(partial, out)
    return Summary(
        out,
        engine.dialect.name,
        revision,
        len(uploads),
        sum(int(m["size"]) for m in members.values()),
    )


def _safe_name(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise BackupError(f"the archive holds an unsafe path: {name!r}")
    return p


def _extract_verified(archive: Path, dest: Path) -> dict[str, Any]:
    """Extract every member into ``dest`` and check it against the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = tar.getnames()
            if MANIFEST not in names:
                raise BackupError("not an OpenCall backup (no manifest)")
            for member in tar.getmembers():
                _safe_name(member.name)
                if not (member.isfile() or member.isdir()):
                    raise BackupError(f"the archive holds a link or device: {member.name!r}")
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"the archive cannot be read: {exc}") from exc
    manifest: dict[str, Any] = json.loads((dest / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for name, meta in manifest["members"].items():
        path = dest / _safe_name(name)
        if not path.is_file() or _sha256(path) != meta["sha256"]:
            raise BackupError(f"the archive is damaged: {name} is missing or altered")
    return manifest


def _require_empty(engine: Engine) -> None:
    tables = inspect(engine).get_table_names()
    if tables:
        raise BackupError(
            f"the target database is not empty ({len(tables)} tables); "
            "restore into a new, empty database"
        )


def restore(
    engine: Engine,
    upload_dir: Path | Storage,
    archive: Path,
    *,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
) -> Summary:
    """Restore ``archive`` into the empty database of ``engine`` and into the storage
    ``upload_dir`` (a directory, or a ``Storage``: the bucket)."""
    store = _storage(upload_dir)
    with tempfile.TemporaryDirectory(prefix="opencall-restore-") as tmp:
        manifest = _extract_verified(Path(archive), Path(tmp))
        backend = manifest["backend"]
        if backend != engine.dialect.name:
            raise BackupError(
                f"this backup is of a {backend} database; the target is {engine.dialect.name}"
            )
        _require_empty(engine)
        uploads = {n: m for n, m in manifest["members"].items() if n.startswith("uploads/")}
        present: set[str] = set()
        try:
            for name, meta in uploads.items():  # check before writing anything
                key = _safe_name(name).relative_to("uploads").as_posix()
                there = store.get(key)
                if there is not None:
                    if hashlib.sha256(there).hexdigest() != meta["sha256"]:
                        raise BackupError(f"{key} exists with other content; not overwritten")
                    present.add(key)
        except StorageError as exc:
            raise BackupError(f"the storage cannot be read: {exc}") from exc
        engine.dispose()
        if backend == "sqlite":
            target_db = _sqlite_path(engine)
            target_db.parent.mkdir(parents=True, exist_ok=True)
            src = sqlite3.connect(str(Path(tmp) / "database.sqlite3"))
            dst = sqlite3.connect(str(target_db))
            try:
                with dst:
                    src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
            finally:
                dst.close()
                src.close()
        else:
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={libpq_url(engine, connect_timeout_s)}",
                    str(Path(tmp) / "database.pgdump"),
                ],
                "restore PostgreSQL",
            )
        for name in uploads:
            key = _safe_name(name).relative_to("uploads").as_posix()
            if key in present:
                continue  # same content (checked above)
            try:
                store.put(key, (Path(tmp) / name).read_bytes())  # atomic on either backend
            except StorageError as exc:
                raise BackupError(
                    f"the database is restored but {key} could not be stored ({exc}); "
                    "run the restore again into a new database once the storage answers"
                ) from exc
        revision = migrate.current(engine)
        if revision != manifest["revision"]:
            raise BackupError(
                f"restored revision {revision!r} differs from the backup's {manifest['revision']!r}"
            )
    return Summary(
        Path(archive),
        backend,
        revision,
        len(uploads),
        sum(int(m["size"]) for m in manifest["members"].values()),
    )
