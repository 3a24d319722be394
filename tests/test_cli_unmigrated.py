"""A command run on a database that ``opencall db upgrade`` has not made yet (the
operator created it and forgot the upgrade) says so in one line and exits with
status 2, instead of SQLAlchemy's traceback and its SQL (docs/operators.md, "Install":
a setting the command line cannot use is one line)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from opencall import migrate
from opencall.cli import app as cli_app
from opencall.db import make_engine
from tests.conftest import BACKENDS
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


# --- a database one migration behind the code (mend14b) -----------------------------
# Every command that works on the data refuses before it reads or writes anything, with
# the worker's one line, whichever table it would touch first: before, a command whose
# statements missed the newer columns ran on, and the others failed half-way. The
# commands below work on a database below head on purpose (they migrate it, step it,
# compare it, copy it) or never open it.
ANY_REVISION = {
    "db upgrade",
    "db downgrade",
    "db check",
    "backup",
    "restore",
    "serve",
    "demo build",
    "mail-test",
}


def _leaves(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _leaves(cmd, (*path, name))
        else:
            yield " ".join((*path, name)), cmd


COMMANDS = dict(_leaves(typer.main.get_command(cli_app)))


def _argv(path: str, cmd: Any) -> list[str]:
    """The command with a value for each required argument and option (never parsed: the
    refusal comes first)."""
    argv = path.split()
    for p in cmd.params:
        if p.required:
            argv += ["1"] if p.param_type_name == "argument" else [p.opts[0], "1"]
    return argv


@pytest.fixture(scope="module", params=BACKENDS)
def behind(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    pg_engine: Engine | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """(URL, revision) of a database whose alembic_version is one migration behind the
    code's head (its tables are the head's: only the version row is read)."""
    head = migrate.head()
    assert head is not None
    previous = ScriptDirectory.from_config(_script_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("behind") / "behind.sqlite3"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        assert pg_engine is not None
        engine = pg_engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    try:
        yield engine.url.render_as_string(hide_password=False), previous
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        if request.param == "sqlite":
            engine.dispose()


def _script_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "opencall:migrations")
    return cfg


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - ANY_REVISION))
def test_every_command_refuses_a_database_behind_the_code_up_front(
    behind: tuple[str, str], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, previous = behind
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    r = CliRunner().invoke(cli_app, _argv(path, COMMANDS[path]))
    out = " ".join(r.output.split())
    assert r.exit_code == 2, out
    assert out.startswith("Error: the database "), out
    assert (
        f"(OPENCALL_DATABASE_URL) is at revision {previous} and this code needs "
        f"{migrate.head()}: run `opencall db upgrade` first"
    ) in out, out


def test_the_commands_that_work_below_head_are_not_refused(
    behind: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`db check` runs and says where the database stands itself (exit status 1, its own
    line, not the up-front refusal's status 2); `--help` of any command needs no database."""
    assert set(ANY_REVISION) <= set(COMMANDS)  # a renamed command is not silently exempt
    url, previous = behind
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    r = CliRunner().invoke(cli_app, ["db", "check"])
    out = " ".join(r.output.split())
    assert r.exit_code == 1 and not out.startswith("Error:"), out
    assert f"is at revision {previous} and this code needs {migrate.head()}" in out, out
    r = CliRunner().invoke(cli_app, ["calls", "list", "--help"])
    assert r.exit_code == 0 and "Usage" in r.output, r.output


def test_a_database_migrated_by_newer_code_is_said_so(
    behind: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revision this code does not know (newer code migrated the database, then the code
    was rolled back): `db upgrade` cannot help, and the line does not say to run it."""
    url, previous = behind
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zz_from_the_future'"))
    try:
        monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
        r = CliRunner().invoke(cli_app, ["calls", "list"])
        out = " ".join(r.output.split())
        assert r.exit_code == 2, out
        assert "is at revision zz_from_the_future, which this code does not know" in out, out
        assert "db upgrade" not in out
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
        engine.dispose()
