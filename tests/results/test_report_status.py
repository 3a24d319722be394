"""The first report after an award, as the user office follows it (outcomes15): one
rule for "reported" (a record, or a result, retracted or not) read by the overview, its
CSV, the API and the reminders; and the overview filtered by the report's state
(``?report=overdue``, ``pending``, ``reported``) in the database, so that an office with
thousands of awards finds the overdue ones without paging through them all."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.results import services as res
from opencall.results.jobs import queue_report_reminders
from tests.authz.test_workspace_matrix import session_client
from tests.results.awards_world import awarded_samples_call
from tests.results.conftest import Awarded
from tests.web.conftest import Web

LOAN = {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01", "received_on": "2027-06-05"}


def test_a_retracted_result_is_a_report_for_the_overview_as_for_the_reminders(
    db: Session,
) -> None:
    """Before, the overview (``stages_of_call``) counted an award whose only result was
    retracted as not reported, its report overdue, while the reminders
    (``unreported_awards``) counted it as reported and never wrote: the office saw
    "overdue" beside an awardee nobody chased."""
    call, (ken, uga, deu) = awarded_samples_call(db, ["KEN", "UGA", "DEU"])
    day0 = q.awarded_on(call)
    late = d.report_due_on(day0) + dt.timedelta(days=1)
    res.add_record(db, ken, "loan", LOAN, actor_id=None)
    paper = res.add_output(db, uga, {"title": "Ages", "year": day0.year + 1}, actor_id=None)
    res.retract_output(db, paper, on=late, note="Retracted by the journal", actor_id=None)
    stages = q.stages_of_call(db, call, today=late)
    overdue = {pid for pid, st in stages.items() if st["report_overdue"]}
    chased = {p.id for p, _day in q.unreported_awards(db, late)}
    assert overdue == chased == {deu.id}
    assert [stages[p.id]["reported"] for p in (ken, uga, deu)] == [True, True, False]
    assert queue_report_reminders(db, "http://x", late) == 1


def _codes(db: Session, call: object, report: str, today: dt.date) -> list[str]:
    stmt = q.awarded_proposals_query(call, report=report, today=today)  # type: ignore[arg-type]
    return [p.code for p in db.scalars(stmt)]


def test_the_awards_filtered_by_the_state_of_their_report(db: Session) -> None:
    call, (ken, uga, deu, eth) = awarded_samples_call(db, ["KEN", "UGA", "DEU", "ETH"])
    day0 = q.awarded_on(call)
    due = d.report_due_on(day0)
    res.add_record(db, ken, "loan", LOAN, actor_id=None)
    res.add_output(db, uga, {"title": "Ages", "year": day0.year + 1}, actor_id=None)
    assert _codes(db, call, "reported", due) == sorted([ken.code, uga.code])
    assert _codes(db, call, "pending", due) == sorted([deu.code, eth.code])  # due today
    assert _codes(db, call, "overdue", due) == []
    late = due + dt.timedelta(days=1)
    assert _codes(db, call, "pending", late) == []
    assert _codes(db, call, "overdue", late) == sorted([deu.code, eth.code])
    # every award is in one state
    states = [_codes(db, call, s, late) for s in d.REPORT_STATES]
    assert sorted(c for codes in states for c in codes) == sorted(
        p.code for p in q.awarded_proposals(db, call)
    )


def test_the_office_filters_its_overview_page_csv_and_api(web: Web, aw: Awarded) -> None:
    """The small world's award is released in 2027: its report is pending today."""
    with web.factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        code = p.code
        office = user_by_email(s, aw.emails["manager"])
        assert office is not None
        token = people_services.create_api_token(s, office, "t")[1]
        s.commit()
    client, _tok = session_client(web, aw.emails["manager"])
    url = f"/manage/calls/{aw.slug}/postaward"
    assert code in client.get(f"{url}?report=pending").text
    page = client.get(f"{url}?report=overdue")
    assert page.status_code == 200 and f">{code}<" not in page.text
    csv = client.get(f"{url}?report=overdue&format=csv").text
    assert code not in csv and "report_overdue" in csv
    assert code in client.get(f"{url}?report=pending&format=csv").text
    bad = client.get(f"{url}?report=late")
    assert bad.status_code == 400 and "overdue, pending or reported" in bad.text
    h = {"Authorization": f"Bearer {token}"}
    api = web.client()
    got = api.get(f"/api/v1/calls/{aw.slug}/postaward?report=pending", headers=h).json()
    assert [x["proposal_code"] for x in got["items"]] == [code]
    got = api.get(f"/api/v1/calls/{aw.slug}/postaward?report=overdue", headers=h).json()
    assert got["items"] == []
    assert api.get(f"/api/v1/calls/{aw.slug}/postaward?report=x", headers=h).status_code == 422
