"""trialop19: backups on a schedule. A timer running ``opencall backup`` daily (each
archive named by its UTC time) filled the disk: nothing removed the old archives, and the
docs had the operator write their own ``find -delete``. ``--dir DIR --keep N`` writes the
archive into DIR and then keeps the N newest archives ``opencall backup`` named there,
removing the older ones (never another file, never the one just written); a backup that
fails removes nothing; a ``--keep`` below 1 is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencall import backup
from opencall.cli import app as cli_app
from tests.cli_db import cli_database

OLD = ("opencall-20270101T020000Z.tar.gz", "opencall-20270102T020000Z.tar.gz",
       "opencall-20270103T020000Z.tar.gz")  # fmt: skip


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    for name in (*OLD, "opencall-before-upgrade.tar.gz", "notes.txt"):
        (folder / name).write_bytes(b"x")
    return folder


def test_prune_keeps_the_newest_archives_it_named_and_nothing_else(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    new = folder / "opencall-20270104T020000Z.tar.gz"
    new.write_bytes(b"y")
    gone = backup.prune(folder, keep=2, written=new)
    assert sorted(p.name for p in gone) == sorted(OLD[:2])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [OLD[2], new.name, "opencall-before-upgrade.tar.gz", "notes.txt"]
    )


def test_the_command_writes_into_the_folder_and_keeps_n(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setenv("OPENCALL_UPLOAD_DIR", str(tmp_path / "uploads"))
    with cli_database(tmp_path, monkeypatch, "site") as (runner, _factory):
        r = runner.invoke(cli_app, ["backup", "--dir", str(folder), "--keep", "0"])
        assert r.exit_code == 2 and "--keep" in r.output, r.output
        assert len(list(folder.iterdir())) == 5  # nothing written, nothing removed
        r = runner.invoke(cli_app, ["backup", "--dir", str(folder), "--keep", "2"])
        assert r.exit_code == 0, r.output
        names = sorted(p.name for p in folder.iterdir())
        written = [n for n in names if n.startswith("opencall-2") and n not in OLD]
        assert len(written) == 1, names
        assert names == sorted([OLD[2], written[0], "opencall-before-upgrade.tar.gz", "notes.txt"])
        assert "2 older backup(s) removed" in r.output, r.output
        # --out and --dir together: refused, nothing written
        r = runner.invoke(cli_app, ["backup", "--dir", str(folder), "--out", str(tmp_path / "x")])
        assert r.exit_code == 2, r.output
