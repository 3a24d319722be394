"""trialop21: an applicant asks what the site holds about them. No page, API or command
answered it: the operator had to read the tables. `opencall personal-data EMAIL` writes
every row that refers to the account as JSON (tables found from the foreign keys to
`users.id`, team rows by e-mail), without password or token hashes, and audits it."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opencall import auditlog
from opencall.calls.models import Call
from opencall.cli import app as cli_app
from opencall.db import unit_of_work
from opencall.people import services as people_services
from opencall.personal_data import person_data
from tests import factories as f
from tests.cli_db import cli_database

Site = tuple[CliRunner, sessionmaker[Session], int]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A migrated SQLite site with one open call, and the command's runner."""
    with cli_database(tmp_path, monkeypatch, "pd") as (runner, factory):
        with unit_of_work(factory) as s:
            call_id = f.fast_call(s, pools=1).id
        yield runner, factory, call_id


def test_the_export_holds_the_persons_rows_and_no_secret(site: Site, tmp_path: Path) -> None:
    runner, factory, call_id = site
    with unit_of_work(factory) as s:
        call = s.get_one(Call, call_id)
        pi = f.user(s, email="ana@uni.example", name="Ana Lima")
        other = f.user(s, email="bo@uni.example", name="Bo Chen")
        mine = f.full_proposal(s, call, pi)
        theirs = f.full_proposal(s, call, other)
        people_services.create_api_token(s, pi, "laptop", now=f.NOW)
        mine_code, theirs_code = mine.code, theirs.code
    out = tmp_path / "ana.json"
    r = runner.invoke(cli_app, ["personal-data", "ana@uni.example", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "written to" in r.output, r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))
    tables = data["tables"]
    assert [u["email"] for u in tables["users"]] == ["ana@uni.example"]
    assert "password_hash" not in tables["users"][0]
    assert [p["code"] for p in tables["proposals"]] == [mine_code]
    assert theirs_code != mine_code
    assert {m["email"] for m in tables["team_members"]} == {"ana@uni.example"}
    assert [t["name"] for t in tables["api_tokens"]] == ["laptop"]
    assert "token_hash" not in tables["api_tokens"][0]
    assert "Bo Chen" not in out.read_text(encoding="utf-8")
    with factory() as s:
        ev = s.scalars(
            select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "person.data_exported")
        ).one()
        assert ev.entity_id == str(tables["users"][0]["id"])


def test_a_team_row_by_email_before_the_account(site: Site) -> None:
    """A co-investigator invited by e-mail has a team row without a user id: it is theirs."""
    _runner, factory, call_id = site
    with unit_of_work(factory) as s:
        call = s.get_one(Call, call_id)
        p = f.full_proposal(s, call)
        member = next(m for m in p.members)
        member_id = member.id
        member.user_id = None
        member.email = "later@uni.example"
        person = f.user(s, email="Later@Uni.example")
        rows = person_data(s, person.id, person.email)
        assert [m["id"] for m in rows["team_members"]] == [member_id]


def test_an_unknown_account_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with cli_database(tmp_path, monkeypatch, "pd3") as (runner, _factory):
        r = runner.invoke(cli_app, ["personal-data", "nobody@uni.example"])
        assert r.exit_code == 2 and "no account" in r.output, r.output


def test_erase_on_the_command_line(site: Site) -> None:
    """trialop22: ``--erase`` anonymises the account (audited, the chain intact); the
    address then finds nothing, and an unknown address is refused as before."""
    runner, factory, call_id = site
    with unit_of_work(factory) as s:
        call = s.get_one(Call, call_id)
        pi = f.user(s, email="ana@uni.example", name="Ana Lima")
        f.full_proposal(s, call, f.user(s, email="bo@uni.example", name="Bo Chen"))
        people_services.create_api_token(s, pi, "laptop", now=f.NOW)
        pi_id = pi.id
    r = runner.invoke(
        cli_app, ["personal-data", "ana@uni.example", "--erase", "--reason", "her e-mail"]
    )
    assert r.exit_code == 0, r.output
    assert "erased" in r.output, r.output
    r = runner.invoke(cli_app, ["personal-data", "ana@uni.example"])
    assert r.exit_code == 2 and "no account" in r.output, r.output
    r = runner.invoke(cli_app, ["audit", "verify"])
    assert r.exit_code == 0 and "intact" in r.output, r.output
    r = runner.invoke(cli_app, ["personal-data", "bo@uni.example", "--erase", "--out", "x.json"])
    assert r.exit_code == 2 and "writes no file" in r.output, r.output
    with factory() as s:
        assert s.scalars(
            select(auditlog.AuditEvent.entity_id).where(
                auditlog.AuditEvent.action == "person.erased"
            )
        ).all() == [str(pi_id)]
