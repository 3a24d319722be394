"""A command run on a database that ``opencall db upgrade`` has not made yet (the
operator created it and forgot the upgrade) says so in one line and exits with
status 2, instead of SQLAlchemy's traceback and its SQL (docs/operators.md, "Install":
a setting the command line cannot use is one line)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from opencall.cli import app as cli_app
from tests.test_migration_lock import empty_url  # noqa: F401  (the fixture)


@pytest.mark.parametrize(
    "argv",
    [
        ["calls", "list"],
        ["providers", "create", "--name", "Core store", "--slug", "cores", "--country", "GBR"],
        ["roles", "list", "--provider", "cores"],
    ],
)
def test_a_command_on_a_database_not_upgraded_says_run_db_upgrade(
    empty_url: str,  # noqa: F811
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENCALL_DATABASE_URL", empty_url)
    r = CliRunner().invoke(cli_app, argv)
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.split())
    assert "has no OpenCall schema" in out and "run `opencall db upgrade` first" in out, out
    assert "SQL" not in out and "Traceback" not in out
    # and nothing was made: the database is still empty
    assert CliRunner().invoke(cli_app, ["db", "upgrade"]).exit_code == 0
