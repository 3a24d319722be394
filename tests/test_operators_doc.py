"""docs/operators.md's fresh install runs as written: every ``opencall`` command of
its sections "Install", "The first site administrator" and "The first provider and
its people", in order, on an empty database (no demo).

The commands are read from the page, so the test breaks when the page and the CLI
disagree. Adjustments: the ``export`` lines are applied with a local SQLite database
and a file mail backend instead of the example servers; ``pip install`` is not run
(the package is installed), nor are PostgreSQL's ``createuser`` and ``createdb`` (the
test's database exists); the password prompt is answered; the role id given to
``roles revoke`` is the one ``roles list`` shows (the page's example id is 42).
The settings the page exports are checked apart: each is a setting, and together they
make a configuration that ``OPENCALL_ENV=production`` accepts. Every other ``opencall``
line of the page (the chair's, serving, upgrades, backups) is parsed by the CLI's own
parser, not run: its command and options must exist and its required options be given.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from opencall.cli import app as cli_app
from opencall.db import make_engine, make_sessionmaker
from opencall.facilities.models import Provider
from opencall.people.models import Country, RoleGrant, RoleInvitation, User

DOC = Path(__file__).resolve().parent.parent / "docs" / "operators.md"
SECTIONS = ("## Install", "## The first site administrator", "## The first provider and its people")
PASSWORD = "a long operator password"


def doc_lines() -> list[str]:
    """The shell lines of the fresh-install sections, continuation lines joined."""
    text = DOC.read_text(encoding="utf-8")
    out: list[str] = []
    for title in SECTIONS:
        assert title in text, f"docs/operators.md has no section {title!r}"
        section = text.split(title, 1)[1].split("\n## ", 1)[0]
        for block in re.findall(r"```sh\n(.*?)```", section, re.S):
            out += [ln.strip() for ln in block.replace("\\\n", " ").splitlines() if ln.strip()]
    return out


def _last_grant(url: str) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        grant = s.scalar(select(RoleGrant.id).order_by(RoleGrant.id.desc()).limit(1))
    engine.dispose()
    assert grant is not None, "the page revokes a role before granting one to an account"
    return int(grant)


def test_the_fresh_install_of_the_operators_page_runs_as_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opencall.sqlite3'}"
    env = {
        "OPENCALL_DATABASE_URL": url,
        "OPENCALL_SECRET_KEY": "a-test-secret-key-that-is-long-enough-for-production-0123",
        "OPENCALL_BASE_URL": "https://opencall.example.org",
        "OPENCALL_SECURE_COOKIES": "true",
        "OPENCALL_MAIL_BACKEND": "file",
        "OPENCALL_MAIL_DIR": str(tmp_path / "mail"),
        "OPENCALL_UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    runner = CliRunner()
    ran: list[list[str]] = []
    for line in doc_lines():
        for part in line.split("&&"):
            part = part.split("  #", 1)[0].strip()
            if part.startswith(("export ", "python3 -m venv")) or "pip install" in part:
                continue  # settings: given above, for this machine; install: done
            if part.startswith(("createuser ", "createdb ")):
                continue  # the PostgreSQL database: this test's is SQLite
            argv = shlex.split(part)
            assert argv[0] == ".venv/bin/opencall", part
            answer = f"{PASSWORD}\n{PASSWORD}\n" if argv[1:3] == ["admin", "create"] else None
            if argv[1:3] == ["roles", "revoke"]:
                argv[-1] = str(_last_grant(url))
            r = runner.invoke(cli_app, argv[1:], env=env, input=answer)
            assert r.exit_code == 0, f"{part}\n{r.output}"
            ran.append(argv[1:])
    assert ran[0] == ["db", "upgrade"]
    assert any(a[:2] == ["admin", "create"] for a in ran)
    assert any(a[:2] == ["providers", "create"] for a in ran)
    assert any(a[:2] == ["roles", "grant"] for a in ran)

    # what the page promised: reference data, a site administrator, a provider with
    # its first administrator invited, the roles given
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        assert len(s.scalars(select(Country)).all()) > 200
        admin = s.scalar(select(User).where(User.email == "ops@example.org"))
        assert admin is not None and admin.is_site_admin
        provider = s.scalar(select(Provider).where(Provider.slug == "cryo"))
        assert provider is not None and provider.country_iso3 == "ZAF"
        granted = s.scalars(
            select(RoleInvitation.email).where(RoleInvitation.provider_id == provider.id)
        ).all() + [
            u.email
            for u in s.scalars(
                select(User)
                .join(RoleGrant, RoleGrant.user_id == User.id)
                .where(RoleGrant.provider_id == provider.id)
            )
        ]
        assert {"head@cryo.example.org", "office@cryo.example.org"} <= set(granted)
        # the role revoked at the end is gone
        assert "ops@example.org" not in granted
    engine.dispose()


@pytest.mark.parametrize("title", SECTIONS)
def test_each_fresh_install_section_has_commands(title: str) -> None:
    text = DOC.read_text(encoding="utf-8").split(title, 1)[1].split("\n## ", 1)[0]
    assert "```sh" in text


def doc_exports() -> dict[str, str]:
    """The variables the page's install exports, a command substitution (a generated
    key) standing for what it prints."""
    values: dict[str, str] = {}
    for line in doc_lines():
        if line.startswith("export "):
            line = re.sub(r"\$\(python3 -c '[^']*token_urlsafe\(48\)[^']*'\)", "k" * 64, line)
            for word in shlex.split(line)[1:]:
                name, _, value = word.partition("=")
                values[name] = value
    return values


def test_the_settings_of_the_install_make_a_production_site() -> None:
    """Every variable the install exports is a setting OpenCall reads, and the values as
    written pass OPENCALL_ENV=production's checks (a long secret key, secure cookies, an
    audit key) and the checks of each setting (the URLs, the mail backend)."""
    from opencall.settings import Settings, production_problems

    values = doc_exports()
    assert values.get("OPENCALL_ENV") == "production"
    fields = {f"OPENCALL_{name.upper()}" for name in Settings.model_fields}
    assert set(values) <= fields, set(values) - fields
    settings = Settings(**{k.removeprefix("OPENCALL_").lower(): v for k, v in values.items()})
    assert production_problems(settings) == []
    assert settings.database_url.startswith("postgresql://")
    assert settings.upload_dir.is_absolute()


def every_command_line() -> list[str]:
    """Every ``opencall`` line of every shell block of the page (not only the fresh
    install's): continuation lines joined, comments and ``VAR=value`` prefixes dropped."""
    text = DOC.read_text(encoding="utf-8")
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            line = re.sub(r"\$\([^)]*\)", "X", line)  # a command substitution: one word
            if not re.match(r"(?:[A-Z_]+=\S*\s+)*\S*opencall\s", line + " "):
                continue  # not an opencall line (curl, createdb, a comment)
            words = shlex.split(line)
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words = words[1:]
            if words and words[0].endswith("opencall"):
                out.append(shlex.join(words))
    return out


def test_every_command_of_the_page_names_a_command_and_options_the_cli_has() -> None:
    """The commands of the later sections (the chair's, serving, upgrades, backups) are
    parsed as the CLI parses them, without running them: a renamed command or option,
    or a missing required one, fails here."""
    import typer

    lines = every_command_line()
    assert len(lines) > 20, lines
    top = typer.main.get_command(cli_app)
    for line in lines:
        args = shlex.split(line)[1:]
        cmd: Any = top
        while hasattr(cmd, "commands"):  # a group (typer's own click, not click's)
            assert args and args[0] in cmd.commands, f"{line}: no command {args[:1]}"
            cmd, args = cmd.commands[args[0]], args[1:]
        try:
            cmd.make_context(cmd.name or "", list(args))
        except Exception as exc:  # a usage error: an unknown or missing option
            if not hasattr(exc, "format_message"):
                raise
            raise AssertionError(f"{line}: {exc.format_message()}") from exc
