"""Post-award records of many awards from one CSV file (the user office's spreadsheet
of loans, shipments, sessions...): every bad row refused with its line and reason in one
answer and nothing stored; a good file stored in one transaction, audited, and counted
in the awards' figures; a team member imports rows of their own awards only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.results import queries as rq
from opencall.results import services as res
from opencall.results.models import PostAwardRecord
from tests import factories as F
from tests.results.awards_world import awarded_samples_call
from tests.results.conftest import Awarded
from tests.web.conftest import Web

HEADER = "award,kind,sample,mass_mg,shipped_on,received_on,due_on,description,consumed\n"


def test_a_records_file_is_all_or_nothing_with_every_bad_row_named(db: Session) -> None:
    call, (ken, uga, deu) = awarded_samples_call(db, ["KEN", "UGA", "DEU"])
    office = F.user(db)
    people_services.grant_role(db, office.id, "call_manager", provider_id=call.provider_id)
    bad = HEADER + (
        f"{ken.code},loan,CE-5 regolith,200,2027-06-01,2027-06-09,2028-06-01,,\n"  # line 2: good
        f"NOPE-1,loan,CE-5 regolith,200,,,,,\n"  # line 3: no such award
        f"{uga.code},berth,,,,,,,\n"  # line 4: a kind that does not fit
        f"{deu.code},loan,CE-5 regolith,-5,,,,,\n"  # line 5: a bad figure
        f",loan,CE-5 regolith,5,,,,,\n"  # line 6: no award code
        f"{deu.code},loan,CE-5 regolith,5,2027-06-09,2027-06-01,,,maybe\n"  # line 7
    )
    counts = F.table_counts(db)
    with pytest.raises(DomainError) as err:
        res.import_call_records(db, call, office, "records.csv", bad)
    said = err.value.message
    assert "5 entries were refused and nothing was imported" in said
    for line, why in [(3, "NOPE-1"), (4, "berth"), (5, "mass_mg"), (6, "no award code"),
                      (7, "line 7")]:  # fmt: skip
        assert f"line {line}" in said and why in said, (line, said)
    assert "line 2" not in said
    assert F.table_counts(db) == counts  # nothing half-imported
    good = HEADER + (
        f"{ken.code},loan,CE-5 regolith,200,2027-06-01,2027-06-09,2028-06-01,,\n"
        f"{uga.code},other,,,,,,Thin sections cut,\n"  # "other": a samples award takes it
        f"{deu.code},loan,CE-5 regolith,50,2027-06-01,2027-06-05,,,yes\n"
    )
    new = res.import_call_records(db, call, office, "records.csv", good)
    assert [(r.proposal_id, r.kind) for r in new] == [
        (ken.id, "loan"),
        (uga.id, "other"),
        (deu.id, "loan"),
    ]
    assert new[2].data["consumed"] is True and new[0].data["mass_mg"] == 200
    stages = rq.stages_of_call(db, call)
    assert stages[ken.id]["used"] and stages[deu.id]["completed"]
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.import_records")).one()
    assert ev.data["added"] == {ken.code: [new[0].id], uga.code: [new[1].id],
                                deu.code: [new[2].id]}  # fmt: skip


def test_a_team_member_imports_rows_of_their_own_awards_only(db: Session) -> None:
    call, (ken, uga) = awarded_samples_call(db, ["KEN", "UGA"])
    pi = db.get(User, ken.pi_user_id)
    assert pi is not None
    text = HEADER + (
        f"{ken.code},loan,CE-5 regolith,10,2027-06-01,,,,\n"
        f"{uga.code},loan,CE-5 regolith,10,2027-06-01,,,,\n"
    )
    with pytest.raises(DomainError, match=r"line 3\).*not an award of this call"):
        res.import_call_records(db, call, pi, "r.csv", text)
    assert db.scalar(select(PostAwardRecord.id)) is None
    for broken, says in [
        ("award,sample\nX,y\n", "kind"),  # the header lacks a column
        ("", "no rows"),
        (HEADER + "\x00,loan\n", "line 2"),
    ]:
        with pytest.raises(DomainError, match=says):
            res.import_call_records(db, call, pi, "r.csv", broken)
    assert len(res.import_call_records(db, call, pi, "r.csv", text.rsplit("\n", 2)[0])) == 1


def test_the_api_imports_a_records_file_or_names_its_bad_rows(web: Web, aw: Awarded) -> None:
    with web.factory() as s:
        code = s.get(Proposal, aw.awarded).code  # type: ignore[union-attr]
        office = user_by_email(s, aw.emails["manager"])
        assert office is not None
        token = people_services.create_api_token(s, office, "t")[1]
        s.commit()
    h = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/calls/{aw.slug}/records/import"
    bad = HEADER + f"{code},loan,CE-5 regolith,0,,,,,\n{code},loan,CE-5 regolith,5,,,,,\n"
    r = web.client().post(url, json={"content": bad}, headers=h)
    assert r.status_code == 400 and "row 1 (line 2)" in r.json()["detail"], r.text
    with web.factory() as s:
        assert s.scalar(select(PostAwardRecord.id)) is None
    r = web.client().post(url, json={"content": bad.replace(",0,", ",3,")}, headers=h)
    assert r.status_code == 201 and r.json() == {"added": 2}


def test_the_command_line_imports_a_records_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`opencall calls import-records` takes the files the JSON API's 1 MiB body cannot;
    a bad file exits 2 with every bad row named, nothing stored."""
    from opencall.cli import app as cli_app
    from opencall.db import unit_of_work
    from tests.cli_db import cli_database

    with cli_database(tmp_path, monkeypatch, "rec") as (runner, factory):
        with unit_of_work(factory) as s:
            call, (ken,) = awarded_samples_call(s, ["KEN"])
            office = F.user(s)
            people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
            slug, code, email = call.slug, ken.code, office.email
        good = tmp_path / "records.csv"
        good.write_text(HEADER + f"{code},loan,CE-5 regolith,5,,,,,\n" * 3)
        bad = tmp_path / "bad.csv"
        bad.write_text(HEADER + f"{code},loan,CE-5 regolith,5,,,,,\n{code},berth,,,,,,,\n")
        r = runner.invoke(cli_app, ["calls", "import-records", slug, str(bad), "--as", email])
        assert r.exit_code == 2 and "row 2 (line 3)" in r.output.replace("\n", " ")
        with factory() as s:
            assert s.scalar(select(PostAwardRecord.id)) is None
        r = runner.invoke(cli_app, ["calls", "import-records", slug, str(good), "--as", email])
        assert r.exit_code == 0 and "3 record(s) imported" in r.output, r.output
