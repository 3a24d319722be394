"""An electron-microscopy centre that takes proposals at any time and reviews them in
monthly batches, awarding microscope hours from a yearly budget spent as it goes: a call
in the continuous mode, run through the JSON API on a fresh install, on a pinned clock.

What an operator checks: each batch is cut at its cut-off (what was submitted before it;
a proposal submitted after a cut-off, even before the cut ran, rolls to the next batch;
a withdrawn one goes nowhere), and runs the cycle on its own (assignment, review,
allocation, release, publication) with the capacity the earlier batches left; a batch
enters allocation only once the batch before it has released its decisions; the third
batch finds the budget running out; applicants see their batch and when its decisions
are due; the public page says the call is always open; the report counts the batches;
the resource's ledger holds what the batches awarded, never the budget twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.people import services as people_services
from tests.api.test_operator_journey import (
    PASSWORD,
    Client,
    account,
    run_step,
    text_of,
)
from tests.api.test_rapid_access_journey import ask, reviews, signed_in
from tests.factories import PINNED_NOW
from tests.web.conftest import Web, csrf, said_to

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

UTC = dt.UTC
OPENS = PINNED_NOW - dt.timedelta(days=1)
C1 = dt.datetime(2027, 1, 1, tzinfo=UTC)  # the first two monthly cut-offs
C2 = dt.datetime(2027, 2, 1, tzinfo=UTC)
CLOSE = dt.datetime(2027, 3, 1, tzinfo=UTC)  # the close: the third and last cut-off
BUDGET = 100.0  # microscope hours for the whole period
DECISION_DAYS = 21


def submitted(web: Web, email: str, name: str, iso3: str, hours: float) -> tuple[int, Client]:
    """A new applicant's proposal for ``hours`` of the microscope, submitted now."""
    ac = account(web, email, name, country_iso3=iso3, institution=f"Institute of {name}")
    p = ac.post("/api/v1/proposals", {"call": "emc-rolling", "title": f"Structure by {name}",
                                      "abstract": "Cryo-EM.", "science_case": "A protein."})  # fmt: skip
    ask(ac, p["id"], POOL[0], hours)
    got = ac.post(f"/api/v1/proposals/{p['id']}/submit")
    assert got["status"] == "submitted", got
    return p["id"], ac


POOL: list[int] = []


def review_and_rank(web: Web, office: Client, slug: str, reviewers: list[Client]) -> None:
    """Close-side steps of a batch: review, assignment, reviews, calibration, freeze."""
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        run_step(web, office, slug, step)
    reviews(reviewers, slug)
    run_step(web, office, slug, "calibration")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "ranking"})
    office.post(f"/api/v1/calls/{slug}/ranking/freeze")


def allocate_and_release(web: Web, office: Client, slug: str) -> list[dict[str, Any]]:
    """A batch from allocation to publication; its awards (public)."""
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "allocation"})
    run_step(web, office, slug, "allocation")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "scheduling"})
    run_step(web, office, slug, "scheduling")
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    items: list[dict[str, Any]] = (
        web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    )
    return items


def test_continuous_call_in_three_batches(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email="root@emc.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": "Electron Microscopy Centre", "slug": "emc",
                                     "country_iso3": "ZAF"})  # fmt: skip
    office = account(web, "office@emc.example", "Office Head", country_iso3="ZAF")
    admin.post(
        "/api/v1/providers/emc/roles", {"email": "office@emc.example", "role": "provider_admin"}
    )
    fac = office.post("/api/v1/providers/emc/facilities",
                      {"name": "Cryo-EM centre", "slug": "emc-cryo", "kind": "custom"})  # fmt: skip
    pool = office.post(f"/api/v1/facilities/{fac['id']}/resources",
                       {"name": "Krios G4 hours", "unit": "h", "amount": 300})  # fmt: skip
    POOL[:] = [pool["id"]]

    call = {
        "provider": "emc", "facility": "emc-cryo", "slug": "emc-rolling", "code": "EMC",
        "cycle": "2027", "title": "Cryo-EM access, continuous",
        "opens_at": OPENS.isoformat(), "closes_at": CLOSE.isoformat(),
        "anonymity": "single", "mode": "continuous",
        "cutoffs": [C2.isoformat(), C1.isoformat()], "decision_days": DECISION_DAYS,
        "review_settings": {"reviewers_per_proposal": 1, "max_load": 40},
        "allocation_policy": {"award_mode": "whole"},
    }  # fmt: skip
    # a cut-off outside the call's dates, or one for a call with one deadline: refused,
    # nothing made
    bad = {**call, "cutoffs": [(CLOSE + dt.timedelta(days=1)).isoformat()]}
    r = office.post("/api/v1/calls", bad, status=400)
    assert "cut-off" in r["detail"], r
    r = office.post("/api/v1/calls", {**call, "mode": "deadline"}, status=400)
    assert "continuous" in r["detail"], r
    assert office.get("/api/v1/calls")["page"]["total"] == 0
    got = office.post("/api/v1/calls", call)
    assert got["mode"] == "continuous"
    assert [dt.datetime.fromisoformat(c) for c in got["cutoffs"]] == [C1, C2, CLOSE]
    office.post("/api/v1/calls/emc-rolling/pools", {"pool_id": pool["id"], "amount": BUDGET,
                                                    "max_per_request": 30})  # fmt: skip
    office.post("/api/v1/calls/emc-rolling/transition", {"target": "open"})
    assert office.get(f"/api/v1/resources/{pool['id']}")["committed"] == BUDGET

    reviewers = []
    for i, iso3 in enumerate(["FRA", "BRA", "IND"]):
        reviewers.append(account(web, f"rev{i}@panel.example", f"Reviewer {i}",
                                 country_iso3=iso3, institution=f"Panel Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/emc/roles",
                    {"email": f"rev{i}@panel.example", "role": "reviewer"})  # fmt: skip

    # ---- the public page: always open, reviewed in batches, the next cut-off
    anyone = web.client()
    page = text_of(anyone.get("/calls/emc-rolling").text)
    assert "Open continuously" in page, page
    assert said_to(web.factory, None, C1) in page  # the next cut-off
    page = text_of(anyone.get("/calls/emc-rolling", headers={"Accept-Language": "fr"}).text)
    assert "Ouvert en continu" in page, page
    for listing in ("/", "/calls"):
        page = text_of(anyone.get(listing).text)
        assert f"Open continuously until {said_to(web.factory, None, CLOSE)}" in page, page

    # ---- batch 1: three proposals of 20 hours, and a fourth withdrawn
    first = [submitted(web, f"b1-{i}@lab.example", f"First {i}", iso3, 20)
             for i, iso3 in enumerate(["ETH", "NPL", "DEU"])]  # fmt: skip
    gone, gone_ac = submitted(web, "gone@lab.example", "Withdrawn One", "KEN", 20)
    gone_ac.post(f"/api/v1/proposals/{gone}/withdraw")
    pid, ac = first[0]
    batch = ac.get(f"/api/v1/proposals/{pid}")["batch"]
    assert batch["number"] == 1 and not batch["cut"]
    assert dt.datetime.fromisoformat(batch["cutoff"]) == C1
    assert dt.datetime.fromisoformat(batch["decisions_due"]) == C1 + dt.timedelta(days=21)
    # no cut-off has come: the cut is refused, nothing changes
    r = office.post("/api/v1/calls/emc-rolling/batches", status=400)
    assert "2027-01-01 00:00:00" in r["detail"], r

    # ---- two hours after the first cut-off, before the cut ran: a late proposal rolls on
    with time_machine.travel(C1 + dt.timedelta(hours=2), tick=True):
        late, late_ac = submitted(web, "late@lab.example", "Late Comer", "BGD", 15)
        assert late_ac.get(f"/api/v1/proposals/{late}")["batch"]["number"] == 2
        out = office.post("/api/v1/calls/emc-rolling/batches")
    assert [(b["slug"], b["number"], b["proposals"], b["status"]) for b in out["batches"]] == [
        ("emc-rolling-b1", 1, 3, "closed")
    ]
    assert out["waiting"] == 1 and out["cutoffs_done"] == 1
    assert dt.datetime.fromisoformat(out["next_cutoff"]) == C2
    got = ac.get(f"/api/v1/proposals/{pid}")
    assert got["call"] == "emc-rolling-b1" and got["status"] == "under_review"
    assert got["batch"]["number"] == 1 and got["batch"]["cut"]
    assert late_ac.get(f"/api/v1/proposals/{late}")["call"] == "emc-rolling"
    assert gone_ac.get(f"/api/v1/proposals/{gone}")["status"] == "withdrawn"
    # the batch is a call of its own, of the continuous call, with the budget left
    b1 = office.get("/api/v1/calls/emc-rolling-b1")
    assert b1["batch_of"] == "emc-rolling" and b1["batch_number"] == 1
    assert [p["amount"] for p in b1["pools"]] == [BUDGET]
    # the continuous call is still open: a new applicant may submit
    with time_machine.travel(C1 + dt.timedelta(hours=3), tick=True):
        second, _ac2 = submitted(web, "b2@lab.example", "Second One", "MWI", 10)
        # the chair's page of the batches: batch 1 in review, two proposals waiting
        chair = signed_in(web, "office@emc.example")
        page = text_of(chair.get("/manage/calls/emc-rolling/batches").text)
        assert "Batch 1" in page and "Submitted, waiting for the next cut-off 2" in page, page
        cut = said_to(web.factory, "office@emc.example", C2)
        assert f"Next review cut-off {cut}" in page, page
        page = text_of(chair.get("/manage/calls/emc-rolling-b1").text)
        assert "Batch 1 of the continuous call Cryo-EM access, continuous" in page, page
        # the applicant reads their batch, in their language
        page = text_of(signed_in(web, "b1-0@lab.example", "fr").get(f"/proposals/{pid}").text)
        cut = said_to(web.factory, "b1-0@lab.example", C1, "fr")
        assert cut.startswith("1 janv. 2027, 03:00 (heure : Éthiopie"), cut
        assert f"Dans le lot d’évaluation 1 (date de coupure {cut})" in page, page
        due = said_to(web.factory, "b1-0@lab.example", C1 + dt.timedelta(days=21), "fr")
        assert f"Décisions attendues le {due}" in page, page
        page = text_of(signed_in(web, "late@lab.example").get("/dashboard").text)
        assert f"Batch 2: {said_to(web.factory, 'late@lab.example', C2)}" in page, page
        review_and_rank(web, office, "emc-rolling-b1", reviewers)
        office.post("/api/v1/calls/emc-rolling-b1/transition", {"target": "allocation"})
        run_step(web, office, "emc-rolling-b1", "allocation")

    # ---- batch 2, cut while batch 1 has not released its decisions
    with time_machine.travel(C2 + dt.timedelta(hours=1), tick=True):
        # the office cuts it on the batches page: unconfirmed, refused and nothing cut
        chair = signed_in(web, "office@emc.example")
        r = chair.post("/manage/calls/emc-rolling/batches/cut", data={"csrf_token": csrf(chair)})
        assert r.status_code == 400
        assert len(office.get("/api/v1/calls/emc-rolling/batches")["batches"]) == 1
        r = chair.post("/manage/calls/emc-rolling/batches/cut",
                       data={"csrf_token": csrf(chair), "confirm": "yes"})  # fmt: skip
        assert r.status_code == 303, r.text
        out = office.get("/api/v1/calls/emc-rolling/batches")
        assert [b["proposals"] for b in out["batches"]] == [3, 2]
        review_and_rank(web, office, "emc-rolling-b2", reviewers)
        r = office.post("/api/v1/calls/emc-rolling-b2/transition", {"target": "allocation"},
                        status=400)  # fmt: skip
        assert "Batch 1" in r["detail"], r
        assert office.get("/api/v1/calls/emc-rolling-b2")["status"] == "ranking"
        office.post("/api/v1/calls/emc-rolling-b1/transition", {"target": "scheduling"})
        run_step(web, office, "emc-rolling-b1", "scheduling")
        office.post("/api/v1/calls/emc-rolling-b1/release")
        office.post("/api/v1/calls/emc-rolling-b1/publish")
        awards1 = web.client().get("/api/v1/calls/emc-rolling-b1/awards?limit=200").json()
        awarded1 = sum(a["amount"] for a in awards1["items"])
        assert awarded1 == 60
        # the ledger: the continuous call holds its budget while it takes proposals
        assert office.get(f"/api/v1/resources/{pool['id']}")["committed"] == BUDGET
        awards2 = allocate_and_release(web, office, "emc-rolling-b2")
        b2 = office.get("/api/v1/calls/emc-rolling-b2")
        assert [p["amount"] for p in b2["pools"]] == [BUDGET - awarded1]
        awarded2 = sum(a["amount"] for a in awards2)
        assert awarded2 == 25  # the late proposal (15 hours) and the second one (10)
        # two proposals of 10 hours for the last batch: 15 hours are left
        third = [submitted(web, f"b3-{i}@lab.example", f"Third {i}", iso3, 10)
                 for i, iso3 in enumerate(["LAO", "CHL"])]  # fmt: skip

    # ---- the close: the last batch is cut; the call takes nothing more
    with time_machine.travel(CLOSE + dt.timedelta(hours=1), tick=True):
        office.post("/api/v1/calls/emc-rolling/transition", {"target": "closed"})
        nobody = account(web, "after@lab.example", "After Close", country_iso3="PER")
        r = nobody.post("/api/v1/proposals", {"call": "emc-rolling", "title": "Too late",
                                              "abstract": "x", "science_case": "y"}, status=400)  # fmt: skip
        assert "closed" in r["detail"].lower() or "not open" in r["detail"].lower(), r
        r = office.post("/api/v1/calls/emc-rolling/transition", {"target": "review"},
                        status=400)  # fmt: skip
        review_and_rank(web, office, "emc-rolling-b3", reviewers)
        awards3 = allocate_and_release(web, office, "emc-rolling-b3")
    b3 = office.get("/api/v1/calls/emc-rolling-b3")
    assert [p["amount"] for p in b3["pools"]] == [BUDGET - awarded1 - awarded2]
    assert len(awards3) == 1 and awards3[0]["amount"] == 10  # the budget ran out
    decided = {
        d["proposal_code"]: d["outcome"]
        for d in office.get("/api/v1/calls/emc-rolling-b3/decisions", limit=200)["items"]
    }
    assert sorted(decided.values()) == ["awarded", "not_awarded"], decided

    out = office.get("/api/v1/calls/emc-rolling/batches")
    assert [(b["number"], b["proposals"], b["status"]) for b in out["batches"]] == [
        (1, 3, "published"), (2, 2, "published"), (3, 2, "published")]  # fmt: skip
    assert out["status"] == "closed" and out["next_cutoff"] is None
    assert [c["left"] for c in out["capacity"]] == [BUDGET - 95]
    # the ledger holds what the batches awarded: the rest returns to the resource
    assert office.get(f"/api/v1/resources/{pool['id']}")["committed"] == 95
    # every proposal was decided once, in its own batch
    with web.factory() as s:
        batch_ids = set(s.scalars(select(Call.id).where(Call.parent_id.is_not(None))))
    assert len(batch_ids) == 3
    for pid, ac in [*first, (late, late_ac), *third]:
        got = ac.get(f"/api/v1/proposals/{pid}")
        assert got["outcome_released"] and got["status"] in ("accepted", "rejected"), got
        assert got["batch"]["cut"]

    # ---- the report of the continuous call counts its batches and all their proposals
    report = office.get("/api/v1/calls/emc-rolling/report")
    assert [b["number"] for b in report["call"]["batches"]] == [1, 2, 3]
    assert report["n_applications"] == 7  # those of the batches; the withdrawn one is none
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["h"] == 95
    page = text_of(
        signed_in(web, "office@emc.example").get("/manage/calls/emc-rolling/report").text
    )
    assert "counts the proposals of its 3 batches: Batch 1 (3) · Batch 2 (2) · Batch 3 (2)" in page


def test_the_new_call_page_makes_a_continuous_call(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email="root@emc.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": "EM Centre", "slug": "emc", "country_iso3": "ZAF"})
    office = account(web, "office@emc.example", "Office Head", country_iso3="ZAF")
    admin.post(
        "/api/v1/providers/emc/roles", {"email": "office@emc.example", "role": "provider_admin"}
    )
    fac = office.post("/api/v1/providers/emc/facilities",
                      {"name": "Cryo-EM centre", "slug": "emc-cryo", "kind": "custom"})  # fmt: skip
    c = signed_in(web, "office@emc.example")
    form = {
        "csrf_token": csrf(c), "facility_id": str(fac["id"]), "slug": "emc-year",
        "code": "EMY", "title": "Cryo-EM all year", "cycle": "2027",
        "opens_at": f"{OPENS:%Y-%m-%d %H:%M}", "closes_at": f"{CLOSE:%Y-%m-%d %H:%M}",
        "mode": "continuous", "cutoffs": "2027-01-01 00:00\n2028-01-01 00:00",
        "decision_days": "21", "anonymity": "single", "review_mode": "panel",
        "award_mode": "whole",
    }  # fmt: skip
    # a cut-off after the close: refused beside its field, nothing made
    r = c.post("/manage/calls/new", data=form)
    assert r.status_code == 400
    assert "not between the opening and the close" in text_of(r.text)
    assert office.get("/api/v1/calls")["page"]["total"] == 0
    r = c.post("/manage/calls/new", data={**form, "cutoffs": "2027-01-01 00:00, 2027-02-01"})
    assert r.status_code == 303, text_of(r.text)
    got = office.get("/api/v1/calls/emc-year")
    assert got["mode"] == "continuous" and got["decision_days"] == 21
    assert [dt.datetime.fromisoformat(x) for x in got["cutoffs"]] == [C1, C2, CLOSE]
