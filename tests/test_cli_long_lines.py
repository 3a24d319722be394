"""trialop18: a command's answer is one line off a terminal, however long (a timer's
journal, a script reading it, an operator's grep). Rich wrapped every message at 80
columns when standard output was not a terminal: "backup written to ...: postgresql
database at revision \\ntrialfac17_01", the database's address in `db check` and
`serve`'s start line cut in two."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from opencall.cli import app as cli_app
from opencall.migrate import head
from tests.cli_db import cli_database


def test_backup_and_db_answers_are_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / "backups" / "a-directory-name-long-enough-to-pass-eighty-columns"
    deep.mkdir(parents=True)
    archive = deep / "opencall-2027-04-01.tar.gz"
    monkeypatch.setenv("OPENCALL_UPLOAD_DIR", str(tmp_path / "uploads"))
    with cli_database(tmp_path, monkeypatch, "site") as (runner, _factory):
        r = runner.invoke(cli_app, ["backup", "--out", str(archive)])
        assert r.exit_code == 0, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1, r.output
        rev = head()
        assert f"backup written to {archive}" in lines[0], r.output
        assert f"database at revision {rev}, 0 uploaded file(s)" in lines[0], r.output
        # the size said is the archive's, the number `ls -l` shows (it said the members'
        # sizes before compression, several times the file's)
        assert f"{archive.stat().st_size} bytes" in lines[0], r.output
        with tarfile.open(archive) as tar:
            assert "manifest.json" in tar.getnames()

        r = runner.invoke(cli_app, ["db", "downgrade", "previous", "--yes"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli_app, ["db", "check"])
        assert r.exit_code == 1
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and "run `opencall db upgrade` first" in lines[0], r.output
        r = runner.invoke(cli_app, ["db", "upgrade"])
        assert r.exit_code == 0, r.output
        assert any(
            line.startswith("database upgraded from revision ") and line.endswith("applied)")
            for line in r.output.splitlines()
        ), r.output
