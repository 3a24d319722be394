"""After the award, as a provider of each kind follows it: what was awarded against
what was used (a telescope's hours and the hours lost to weather or faults, a vessel's
dives and the samples taken on them, a sample archive's loans returned on time, late,
overdue or consumed, a course's participants by gender and the demonstration sites
still running a year and three years on), summed per income group, UN region and LDC
status in the report, from the same per-award figures as each award's page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.outcomes.domain import LDC_LABELS
from opencall.people import services as people_services
from opencall.results import queries as rq
from opencall.results import services as rs
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.awards_world import awarded_custom_call, awarded_samples_call
from tests.web.conftest import Web, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def _use(report: dict[str, Any], by: str = "income_group") -> dict[str, dict[str, float]]:
    return {u["group"]: u["figures"] for u in report["after_award"]["use"][by]}


def test_a_telescope_s_hours_awarded_used_and_lost_per_group(db: Session) -> None:
    call, props = awarded_custom_call(
        db, ["DEU"] * 3 + ["ETH"] * 3, unit="h", amount=10, record_kinds=["session"]
    )
    for p in props:
        high = p is props[0] or p is props[1] or p is props[2]
        rs.add_record(db, p, "session", {
            "observed_on": "2027-09-01", "observed_hours": 8 if high else 4,
            "lost_hours": 2 if high else 6, "lost_reason": "weather" if high else "fault",
            "completed": True}, actor_id=None)  # fmt: skip
    rs.add_output(db, props[0], {"title": "Pulses", "year": 2028, "doi": "10.1234/a"},
                  actor_id=None)  # fmt: skip
    use = _use(oq.report(db, call))
    assert use["high"]["awarded:h"] == 30 and use["high"]["used:h"] == 24
    assert use["high"]["lost_hours:weather"] == 6 and use["high"].get("lost_hours:fault", 0) == 0
    assert use["low"]["awarded:h"] == 30 and use["low"]["used:h"] == 12
    assert use["low"]["lost_hours:fault"] == 18
    assert use["all"]["used:h"] == 36
    # the same figures as each award's own summary (one computation, summed)
    today = dt.datetime.now(dt.UTC).date()
    per_award = [rq.summary(db, p, today)["use"] for p in props]
    for key, value in use["all"].items():
        assert sum(u.get(key, 0.0) for u in per_award) == value, key
    rows = {u["group"]: u for u in oq.report(db, call)["after_award"]["use"]["ldc"]}
    assert rows[LDC_LABELS[0]]["figures"]["used:h"] == 12
    assert rows["all"]["publications_per_award"] == 1 / 6


def test_a_vessel_s_dives_and_an_archive_s_loans(db: Session) -> None:
    call, props = awarded_custom_call(
        db, ["DEU", "ETH"], unit="dives", amount=3, record_kinds=["berth"]
    )
    for p, dives, samples in zip(props, (3, 1), (12, 2), strict=True):
        rs.add_record(db, p, "berth", {"participant": "P", "arrived_on": "2027-08-01",
                                       "sailed_on": "2027-08-20", "dives_made": dives,
                                       "samples_taken": samples}, actor_id=None)  # fmt: skip
    use = _use(oq.report(db, call))
    assert (use["all"]["awarded:dive"], use["all"]["used:dive"]) == (6, 4)
    assert use["all"]["samples_taken"] == 14 and use["low"]["samples_taken"] == 2
    call, props = awarded_samples_call(db, ["DEU", "ETH", "NPL", "KEN"])
    loans = [  # on time, late, overdue, destroyed in the analysis
        {"returned_on": "2026-05-10", "due_on": "2026-06-01"},
        {"returned_on": "2026-07-10", "due_on": "2026-06-01"},
        {"due_on": "2026-06-01"},  # before any day this test runs
        {"due_on": "2026-06-01", "consumed": True},
    ]
    for p, extra in zip(props, loans, strict=True):
        rs.add_record(db, p, "loan", {"sample": "CE-5", "mass_mg": 50, "shipped_on": "2026-01-05",
                                      "received_on": "2026-01-10", **extra}, actor_id=None)  # fmt: skip
    use = _use(oq.report(db, call))["all"]
    assert use["loans"] == 4 and use["used:mg"] == 200 and use["awarded:mg"] == 400
    assert use["loans_returned_on_time"] == 1 and use["loans_returned_late"] == 1
    assert use["loans_overdue"] == 1 and use["loans_consumed"] == 1


def test_a_course_followed_up_after_one_and_three_years(db: Session) -> None:
    call, props = awarded_custom_call(db, ["ETH", "DEU"], unit="seat", amount=2)
    eth, deu = props
    for p, gender in ((eth, "female"), (eth, "male"), (deu, "")):
        rs.add_record(db, p, "course", {"participant": f"P {gender}", "attended": True,
                                        "completed": True, "gender": gender}, actor_id=None)  # fmt: skip
    # one participant reports a year on, then again three years on: figures to date
    for on, people, women, sites, running in (
        ("2028-06-01", 40, 10, 2, 2),
        ("2030-06-01", 90, 30, 3, 2),
    ):
        rs.add_record(db, eth, "followup", {
            "participant": "P female", "followed_up_on": on, "people_trained": people,
            "people_trained_women": women, "demo_sites": sites, "demo_sites_running": running,
        }, actor_id=None)  # fmt: skip
    report = oq.report(db, call)
    fu = {f["group"]: f for f in report["after_award"]["follow_up"]["income_group"]}
    low = fu["low"]
    # not 130 people and 5 sites: the later report replaces the earlier one
    assert (low["people_trained"], low["people_trained_women"], low["demo_sites"]) == (90, 30, 3)
    assert (low["sites_running_1y"], low["sites_running_3y"]) == (2, 2)
    assert (low["reporting_1y"], low["reporting_3y"]) == (1, 1)
    today = dt.datetime.now(dt.UTC).date()
    assert rq.summary(db, eth, today)["people_trained"] == 90  # the award's page agrees
    use = _use(report)
    assert use["low"]["participants:female"] == 1 and use["low"]["participants:male"] == 1
    assert use["all"]["participants"] == 3 and use["all"].get("participants:other", 0) == 0
    assert (use["all"]["awarded:seat"], use["all"]["used:seat"]) == (4, 3)


def test_every_output_says_the_same_figures(web: Web) -> None:
    """The report page, its JSON, CSV and PDF, the API's report, the user office's
    overview CSV and each award's API summary: one set of after-award figures."""
    with web.factory() as s:
        call, props = awarded_custom_call(
            s, ["DEU"] * 3 + ["ETH"] * 2, unit="h", amount=10, record_kinds=["session"]
        )
        for i, p in enumerate(props):
            rs.add_record(s, p, "session", {
                "observed_on": "2027-09-01", "observed_hours": 3 + i, "lost_hours": 1.5,
                "lost_reason": "weather", "completed": True}, actor_id=None)  # fmt: skip
        manager = F.user(s, email="office@telescope.example")
        people_services.grant_role(s, manager.id, "call_manager", provider_id=call.provider_id)
        s.commit()
        slug, ids = call.slug, [p.id for p in props]
    oq.REPORTS.clear()
    client, _ = session_client(web, "office@telescope.example")
    data = client.get(f"/manage/calls/{slug}/report.json").json()
    use = {u["group"]: u["figures"] for u in data["after_award"]["use"]["income_group"]}
    assert use["all"]["awarded:h"] == 50 and use["all"]["used:h"] == 25  # 3+4+5+6+7
    assert use["all"]["lost_hours:weather"] == 7.5 and use["low"]["used:h"] == 13
    api = client.get(f"/api/v1/calls/{slug}/report", headers=api_bearer(
        web, "office@telescope.example", ("manage",))).json()  # fmt: skip
    assert api["after_award"] == data["after_award"]
    rows = list(csv.reader(io.StringIO(client.get(f"/manage/calls/{slug}/report.csv").text)))
    got = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    for g, figures in use.items():
        for key, value in figures.items():
            assert float(got[("income_group", g, f"use:{key}")]) == value, (g, key)
    share = data["after_award"]["result_shares"]["ldc"][0]
    assert got[("ldc", share["group"], "result_share")] == str(share["results"])
    used = next(r for r in data["after_award"]["funnels"]["ldc"] if r["group"] == "all")
    assert got[("ldc", "all", "after_award:used")] == str(used["count"])
    # each award's own figures add up to the report's
    summaries = [client.get(f"/api/v1/awards/{i}", headers=api_bearer(
        web, "office@telescope.example", ("manage",))).json()["summary"]["use"] for i in ids]  # fmt: skip
    assert sum(u["used:h"] for u in summaries) == use["all"]["used:h"]
    overview = list(csv.DictReader(io.StringIO(
        client.get(f"/manage/calls/{slug}/postaward", params={"format": "csv"}).text.lstrip("\ufeff"))))  # fmt: skip
    assert sum(float(r["used:h"]) for r in overview) == use["all"]["used:h"]
    page = client.get(f"/manage/calls/{slug}/report").text
    assert "Hours lost: weather" in page and "What the awards used" in page
    pdf = client.get(f"/manage/calls/{slug}/report.pdf").content
    text = "\n".join(x.extract_text() for x in PdfReader(io.BytesIO(pdf)).pages)
    assert "What the awards used, by income group" in text and "Hours lost:" in text
    assert "All applicants 5 0.00 50 25 7.5" in text  # awards, papers/award, h given, used, lost
