"""mend22b: `opencall personal-data EMAIL` (and --erase) answered "no account" for a
person invited to a team who never made an account, although their address and name sit
in the team rows and the invitation's audit events. Now the export holds those rows and
events, and the erasure anonymises the team rows (the audit chain is not rewritten)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opencall import auditlog
from opencall.cli import app as cli_app
from opencall.db import unit_of_work
from opencall.proposals import services as proposal_services
from opencall.proposals.models import TeamMember
from tests import factories as f
from tests.cli_db import cli_database

Site = tuple[CliRunner, sessionmaker[Session], int]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with cli_database(tmp_path, monkeypatch, "pdna") as (runner, factory):
        with unit_of_work(factory) as s:
            call = f.fast_call(s, pools=1)
            pi = f.user(s, email="ana@uni.example", name="Ana Lima")
            p = f.full_proposal(s, call, pi)
            proposal_services.invite_member(
                s,
                p,
                {
                    "email": "Kim@Lab.example",
                    "name": "Kim Park",
                    "institution": "Lab",
                    "country_iso3": "KOR",
                },
                actor_id=pi.id,
                now=f.NOW,
            )
            call_id = call.id
        yield runner, factory, call_id


def test_the_export_of_an_invitee_without_account(site: Site, tmp_path: Path) -> None:
    runner, factory, _ = site
    out = tmp_path / "kim.json"
    r = runner.invoke(cli_app, ["personal-data", "kim@lab.example", "--out", str(out)])
    assert r.exit_code == 0, r.output
    tables = json.loads(out.read_text(encoding="utf-8"))["tables"]
    assert [m["name"] for m in tables["team_members"]] == ["Kim Park"]
    assert "users" not in tables
    assert any(e["action"] == "team.invited" for e in tables["audit_events"]), tables
    r = runner.invoke(cli_app, ["personal-data", "nobody@else.example"])
    assert r.exit_code != 0 and "nobody@else.example" in r.output


def test_the_erasure_of_an_invitee_without_account(site: Site) -> None:
    runner, factory, _ = site
    r = runner.invoke(cli_app, ["personal-data", "kim@lab.example", "--erase", "--reason", "mail"])
    assert r.exit_code == 0, r.output
    with factory() as s:
        rows = s.scalars(select(TeamMember).where(TeamMember.role == "coi")).all()
        assert [(m.name, m.institution_name) for m in rows] == [("Erased account", "")]
        assert rows[0].email.endswith("@erased.invalid")
        assert auditlog.verify(s).problems == []
        assert s.scalars(
            select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "person.erased")
        ).one()
    r = runner.invoke(cli_app, ["personal-data", "kim@lab.example"])
    assert r.exit_code != 0
