"""trialop21: `opencall demo build --if-empty` (docs/deploy.md: "A demo world for a trial")
on a site that already has its administrator and a provider but no call yet. The demo was
built into it: 600 applicants, 150 reviewers and a second site administrator,
admin@opencall.example, whose password ("opencall-demo") is printed in the docs. "Empty"
counted calls only. A site with any account, provider or facility now holds data: with
`--if-empty` nothing is built, without it the command refuses (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.cli import app as cli_app
from opencall.demo import world
from opencall.people.models import Country, User
from tests.cli_db import cli_database, create_provider


def _admin(email: str) -> None:
    cmd = [sys.executable, "-m", "opencall", "admin", "create", "--email", email, "--name", "Ops"]
    r = subprocess.run(
        cmd,
        input="a piped password, 2026!\n",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_site_with_its_administrator_gets_no_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "site") as (runner, factory):
        _admin("ops@site.example")
        r = runner.invoke(cli_app, ["demo", "build", "--if-empty", "--scale", "0.05"])
        assert r.exit_code == 0, r.output
        assert "not rebuilt" in r.output, r.output
        r = runner.invoke(cli_app, ["demo", "build", "--scale", "0.05"])
        assert r.exit_code == 2, r.output
        assert "not empty" in r.output, r.output
        with factory() as s:
            emails = set(s.scalars(select(User.email)))
            assert emails == {"ops@site.example"}, sorted(emails)[:5]
            assert s.scalar(select(func.count(Call.id))) == 0


def test_a_site_with_a_provider_only_gets_no_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider made before its administrator has an account (invited by e-mail)."""
    with cli_database(tmp_path, monkeypatch, "provider") as (runner, factory):
        create_provider(runner, "Cryo", "emc", "KEN")
        r = runner.invoke(cli_app, ["demo", "build", "--if-empty", "--scale", "0.05"])
        assert r.exit_code == 0 and "not rebuilt" in r.output, r.output
        with factory() as s:
            assert s.scalar(select(func.count(User.id))) == 0


def test_a_migrated_database_with_reference_data_only_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`db upgrade` loads the countries: that alone is not data, the demo is built."""
    with cli_database(tmp_path, monkeypatch, "fresh") as (_runner, factory):
        with factory() as s:
            assert s.scalar(select(func.count(Country.iso3))) > 200
            assert world.is_empty(s)
