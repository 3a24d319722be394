"""A role mistyped on the command line (an operator writes the word their facility uses,
``curator``) is refused naming the roles there are, and nothing is granted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from opencall.cli import app
from opencall.people.models import RoleGrant, RoleInvitation
from tests.cli_db import cli_database, create_provider


def test_an_unknown_role_is_refused_with_the_roles_there_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "roles") as (runner, factory):
        create_provider(runner, "Core store", "cores", "GBR")
        r = runner.invoke(
            app,
            ["roles", "grant", "--provider", "cores", "--email", "c@cores.example.org",
             "--role", "curator"],
        )  # fmt: skip
        assert r.exit_code == 2, r.output
        out = " ".join(r.output.split())
        assert "Unknown role 'curator'" in out
        for role in ("provider_admin", "call_manager", "chair", "reviewer", "technical_reviewer"):
            assert role in out, out
        with factory() as s:
            assert s.scalar(select(func.count(RoleGrant.id))) == 0
            assert s.scalar(select(func.count(RoleInvitation.id))) == 0
