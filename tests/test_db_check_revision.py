"""`opencall db check` on a database that is not at the code's revision (trialops14): one
sentence saying where the database stands and what to run, not alembic's raw diff."""

from typer.testing import CliRunner

from opencall import migrate
from opencall.cli import app as cli_app


def test_db_check_names_the_revision_of_a_database_behind_the_code(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    runner = CliRunner()
    # an empty database: no schema yet
    r = runner.invoke(cli_app, ["db", "check"])
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert "has no OpenCall schema yet: run `opencall db upgrade` first" in said
    assert "add_table" not in said
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(cli_app, ["db", "check"])
    assert r.exit_code == 0 and "models and migrations agree" in r.output
    # one migration back, as an operator's `db downgrade previous` leaves it
    r = runner.invoke(cli_app, ["db", "downgrade", "previous", "--yes"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["db", "check"])
    assert r.exit_code == 1, r.output
    line = " ".join(r.output.split())
    assert f"and this code needs {migrate.head()}: run `opencall db upgrade` first" in line
    assert "is at revision " in line and "Column(" not in line and "add_column" not in line
    # brought up again, it agrees
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli_app, ["db", "check"]).exit_code == 0


def test_db_upgrade_says_from_which_revision_and_how_many_migrations(tmp_path, monkeypatch) -> None:
    """trialops15: the operator's `db upgrade` said only where the database ended ("database
    at revision X"), the same words whether it applied every migration, two, or none."""
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'site.sqlite3'}")
    runner = CliRunner()
    head = migrate.head()
    r = runner.invoke(cli_app, ["db", "upgrade"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert f"database created at revision {head}" in said and " migrations applied" in said
    for _ in range(3):  # three migrations back
        r = runner.invoke(cli_app, ["db", "downgrade", "previous", "--yes"])
        assert r.exit_code == 0, r.output
    below = " ".join(r.output.split()).split("database at revision ")[1].split()[0]
    r = runner.invoke(cli_app, ["db", "upgrade"])
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert f"database upgraded from revision {below} to {head} (3 migrations applied)" in said
    r = runner.invoke(cli_app, ["db", "upgrade"])
    said = " ".join(r.output.split())
    assert f"database already at revision {head}: no migration to apply" in said
