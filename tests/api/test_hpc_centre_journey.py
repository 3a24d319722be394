"""A national high-performance computing centre (trialfac23), set up by its user office
through the JSON API on a fresh install: two machines and project storage, awarded per
half-year allocation period, with a main competitive call and a rolling "preparatory
access" track beside it.

Resources: a CPU cluster counted in core-hours (tens of millions of them), a GPU partition
in GPU-hours, project storage in TB (fractional: 12.5 TB), each with the half-year as its
period. A project asks for the three in one proposal (mixed units). The main call keeps at
most two awards per country and a third of the core-hours for applicants from low- and
lower-middle-income countries; the preparatory-access call is continuous (reviewed at
cut-offs, small requests). After the award the centre's accounting reports the core-hours
consumed; a project that stops early is ended and its unused hours return; the outcomes
report counts who benefits by income group, UN region and LDC status.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import pytest
import time_machine

from tests.api.test_genebank_journey import give_reviews
from tests.api.test_operator_journey import (
    calibrate_to_schedule,
    close_and_assign,
    run_step,
    text_of,
)
from tests.factories import PINNED_NOW
from tests.journeys import (
    Client,
    applicant,
    ask,
    open_call,
    open_facility,
    resource,
    signed_in,
    submitted,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]


def words(en: str, zh: str, fr: tuple[str, str], es: tuple[str, str]) -> dict[str, Any]:
    return {"en": {"one": en, "other": en + "s"}, "zh": {"one": zh, "other": zh},
            "fr": {"one": fr[0], "other": fr[1]}, "es": {"one": es[0], "other": es[1]}}  # fmt: skip


PERIOD = ("2027-01-01", "2027-06-30")  # the allocation period 2027H1
CORE = words("core-hour", "核时", ("heure-cœur", "heures-cœur"), ("hora-núcleo", "horas-núcleo"))
GPU = words("GPU-hour", "GPU时", ("heure-GPU", "heures-GPU"), ("hora-GPU", "horas-GPU"))
TB = {lang: {"one": "TB", "other": "TB"} for lang in ("en", "zh", "fr", "es")}
# name, unit, its words, capacity of the period, whole units
RESOURCES = [
    ("CPU cluster 2027H1", "core-hour", CORE, 60_000_000, True),
    ("GPU partition 2027H1", "gpu-hour", GPU, 400_000, True),
    ("Project storage 2027H1", "tb", TB, 2_000, False),
]
# the main call: (PI's country, core-hours, GPU-hours, TB). Low income: MWI, ETH;
# lower-middle: NPL, IND, KEN; LDCs: MWI, ETH, NPL.
MAIN = [
    ("MWI", 2_500_000, 20_000, 12.5),
    ("ETH", 4_000_000, 0, 20.0),
    ("NPL", 3_000_000, 50_000, 7.5),
    ("IND", 8_000_000, 60_000, 50.0),
    ("IND", 6_000_000, 40_000, 30.0),
    ("IND", 5_000_000, 30_000, 25.0),
    ("KEN", 2_500_000, 10_000, 10.0),
    ("DEU", 15_000_000, 120_000, 200.0),
    ("USA", 14_000_000, 100_000, 150.0),
    ("BRA", 7_500_000, 60_000, 60.0),
]
PREP_CORE = 2_000_000  # the preparatory-access budget of core-hours for the period


def test_an_hpc_centre_allocates_a_half_year_with_a_rolling_track(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "nhpc", "National HPC Centre", "ZAF",
        {"name": "National supercomputer", "slug": "nsc", "kind": "custom"},
    )  # fmt: skip
    pool: dict[str, dict[str, Any]] = {}
    for name, unit, labels, amount, whole in RESOURCES:
        pool[unit] = resource(office, fac, {
            "name": name, "unit": unit, "unit_labels": labels, "amount": amount,
            "whole_units": whole, "period_start": PERIOD[0], "period_end": PERIOD[1],
            "record_kinds": ["other"]})  # fmt: skip
        got = office.get(f"/api/v1/resources/{pool[unit]['id']}")
        assert got["amount"] == amount, got
    core, gpu, tb = (pool[u]["id"] for u in ("core-hour", "gpu-hour", "tb"))

    # ---- the main call: everything but the preparatory budget, two awards per country,
    # a third of the core-hours for low- and lower-middle-income countries
    slug = "nhpc-2027h1"
    call = {"provider": "nhpc", "facility": "nsc", "slug": slug, "code": "HPC27A",
            "cycle": "2027H1", "title": "Compute allocations, first half of 2027"}  # fmt: skip
    policy = {"award_mode": "whole",
              "group_caps": [{"per": "country", "max_awards": 2}],
              "group_shares": [{"group": "low_lmic", "min_share": 0.33}]}  # fmt: skip
    offers = [{"pool_id": core, "amount": 60_000_000 - PREP_CORE, "min_per_request": 500_000},
              {"pool_id": gpu, "amount": 360_000}, {"pool_id": tb, "amount": 1_800}]  # fmt: skip
    reviewers = open_call(web, office, call, policy,
                          [("hpc1@panel.example", "Panel One", "JPN"),
                           ("hpc2@panel.example", "Panel Two", "FRA")], offers)  # fmt: skip

    # ---- the preparatory-access track: open all period, cut monthly
    opens = PINNED_NOW - dt.timedelta(days=1)
    cut1 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    close = dt.datetime(2027, 5, 1, tzinfo=dt.UTC)
    prep = "nhpc-prep"
    office.post("/api/v1/calls", {
        "provider": "nhpc", "facility": "nsc", "slug": prep, "code": "HPCPA",
        "cycle": "2027H1", "title": "Preparatory access, 2027H1",
        "opens_at": opens.isoformat(), "closes_at": close.isoformat(), "anonymity": "single",
        "mode": "continuous", "cutoffs": [cut1.isoformat()], "decision_days": 14,
        "review_settings": {"reviewers_per_proposal": 1, "max_load": 40},
        "allocation_policy": {"award_mode": "whole"}})  # fmt: skip
    office.post(f"/api/v1/calls/{prep}/pools",
                {"pool_id": core, "amount": PREP_CORE, "max_per_request": 200_000})  # fmt: skip
    office.post(f"/api/v1/calls/{prep}/pools",
                {"pool_id": gpu, "amount": 40_000, "max_per_request": 5_000})  # fmt: skip
    office.post(f"/api/v1/calls/{prep}/transition", {"target": "open"})
    # a third offer of core-hours beyond the period's capacity is refused
    r = office.post(f"/api/v1/calls/{prep}/pools", {"pool_id": core, "amount": 1}, status=400)
    assert r["detail"], r
    for u in ("core-hour", "gpu-hour"):
        res = office.get(f"/api/v1/resources/{pool[u]['id']}")
        assert res["committed"] == res["amount"], res

    # ---- the main call's applicants: one proposal, three units
    code_of: dict[int, str] = {}
    team: dict[int, tuple[int, Client]] = {}
    for i, (iso3, ch, gh, t) in enumerate(MAIN):
        ac, pid = applicant(web, f"main{i}@uni.example", iso3, slug, f"Simulations {i} ({iso3})")
        ask(ac, pid, core, ch, bundle="project")
        if gh:
            ask(ac, pid, gpu, gh, bundle="project")
        ask(ac, pid, tb, t, bundle="project")
        code_of[i] = submitted(ac, pid)
        team[i] = (pid, ac)
    # the same three units read back as asked, large numbers in full
    full = team[0][1].get(f"/api/v1/proposals/{team[0][0]}/full")
    assert sorted(r["details"]["amount"] for r in full["requests"]) == [12.5, 20_000, 2_500_000]
    page = text_of(signed_in(web, "main0@uni.example").get(f"/proposals/{team[0][0]}").text)
    for said in ("2,500,000 core-hours", "20,000 GPU-hours", "12.5 TB"):
        assert said in page, page

    # ---- the preparatory track: two small requests, cut at the first cut-off
    prep_team = []
    for i, (iso3, ch, gh) in enumerate([("UGA", 150_000, 2_000), ("FRA", 100_000, 0)]):
        ac, pid = applicant(web, f"prep{i}@lab.example", iso3, prep, f"Porting {iso3}")
        ask(ac, pid, core, ch, bundle="prep" if gh else None)
        if gh:
            ask(ac, pid, gpu, gh, bundle="prep")
        submitted(ac, pid)
        prep_team.append((pid, ac))
    r = ask(*applicant(web, "big@lab.example", "CHL", prep, "Too big"), core, 300_000,
            status=400)  # fmt: skip
    assert "200,000 core-hours" in r["detail"], r

    # ---- review and allocation of the main call
    close_and_assign(web, office, slug)
    give_reviews(reviewers)
    calibrate_to_schedule(web, office, slug)
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
    assert by_code, awards
    names = {u: name for name, u, *_ in RESOURCES}
    for i, (iso3, ch, gh, t) in enumerate(MAIN):
        got = by_code.get(code_of[i])
        if got:  # all of the project or nothing, to the unit asked
            want = {names["core-hour"]: ch, names["tb"]: t} | (
                {names["gpu-hour"]: gh} if gh else {}
            )
            assert got == want, (iso3, got, want)
    # at most two awards per country (India asked three times)
    assert sum(1 for i, (c, *_r) in enumerate(MAIN) if c == "IND" and code_of[i] in by_code) <= 2
    low_lmic = {"MWI", "ETH", "NPL", "IND", "KEN"}
    total = sum(g.get(names["core-hour"], 0) for g in by_code.values())
    low = sum(by_code.get(code_of[i], {}).get(names["core-hour"], 0)
              for i, (c, *_r) in enumerate(MAIN) if c in low_lmic)  # fmt: skip
    assert low >= 0.33 * total, (low, total)
    # the decisions page and the public list say the large amounts in full
    pub = text_of(web.client().get(f"/calls/{slug}/awarded").text)
    assert not re.search(r"\de\+", pub) and "2,500,000 core-hours" in pub, pub
    fig = text_of(web.client().get(f"/calls/{slug}/figures").text)
    assert not re.search(r"\de\+", fig), fig

    # ---- usage reporting after the award: the centre records core-hours consumed
    node = office.get(f"/api/v1/calls/{slug}/node/awards", limit=200)["items"]
    mine = [a for a in node if a["resource"] == names["core-hour"]]
    assert mine, node
    a = mine[0]
    url = f"/api/v1/calls/{slug}/node/awards/{a['award_id']}/records"
    office.post(url, {"kind": "other", "data": {"description": "January accounting",
                "used_amount": 1_234_567, "started_on": "2027-01-31"}})  # fmt: skip
    # more than the award: refused, in the award's unit, and nothing is kept
    r = office.post(url, {"kind": "other", "data": {"description": "February accounting",
                    "used_amount": a["amount"], "started_on": "2027-02-28"}}, status=400)  # fmt: skip
    total = a["amount"] + 1_234_567
    assert f"was awarded {a['amount']:,.0f} core-hours" in r["detail"], r
    assert f"would come to {total:,.0f} core-hours" in r["detail"], r
    post = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"]
    row = next(p for p in post if p["proposal_code"] == a["proposal_code"])
    assert row["use"]["used:core-hour"] == 1_234_567, row
    # the month's accounting of the other projects as one file, each row naming its award
    rest = [b for b in mine[1:3]]
    csv_text = "award,kind,award_id,description,used_amount,started_on\n" + "".join(
        f"{b['proposal_code']},other,{b['award_id']},February accounting,1000000,2027-02-28\n"
        for b in rest)  # fmt: skip
    got = office.post(f"/api/v1/calls/{slug}/records/import",
                      {"content": csv_text, "filename": "accounting.csv"})  # fmt: skip
    assert got["added"] == len(rest) == 2, got
    post = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"]
    for b in rest:
        row = next(p for p in post if p["proposal_code"] == b["proposal_code"])
        assert row["use"]["used:core-hour"] == 1_000_000, row
        assert row["use"].get("used:gpu-hour", 0) == 0, row
    # refused, nothing imported: an award of another project, and two lines that together
    # use more than the award
    b = rest[0]
    head = "award,kind,award_id,description,used_amount,started_on\n"
    wrong = f"{b['proposal_code']},other,{rest[1]['award_id']},x,10,2027-03-01\n"
    left = b["amount"] - 1_000_000
    twice = "".join(f"{b['proposal_code']},other,{b['award_id']},x,{left},2027-03-0{d}\n"
                    for d in (1, 2))  # fmt: skip
    for content, said in [(wrong, "not one of this proposal's"),
                          (twice, f"would come to {2 * left + 1_000_000:,.0f} core-hours")]:  # fmt: skip
        r = office.post(f"/api/v1/calls/{slug}/records/import",
                        {"content": head + content, "filename": "bad.csv"}, status=400)  # fmt: skip
        assert said in r["detail"], r
    assert office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"] == post
    # the project stops early: the office ends it, its unused core-hours return
    ended = office.post(f"/api/v1/calls/{slug}/awards/{a['award_id']}/end",
                        {"reason": "other", "note": "Project stopped.", "confirm": True})  # fmt: skip
    back = {r["unit"]: r["returned"] for r in ended["returned"]}
    assert back["core-hour"] == a["amount"] - 1_234_567, ended

    # ---- the hours the main call left unawarded, and those the ended award returned, go
    # to the preparatory track, still open: its budget is raised by what is free now
    res = office.get(f"/api/v1/resources/{core}")
    free = res["amount"] - res["committed"]
    assert free >= back["core-hour"], (res, back)
    office.send("PATCH", f"/api/v1/calls/{prep}/pools/{core}", {"amount": PREP_CORE + free})
    res = office.get(f"/api/v1/resources/{core}")
    assert res["committed"] == res["amount"], res
    # beyond what is free: refused, nothing changes
    r = office.send("PATCH", f"/api/v1/calls/{prep}/pools/{core}",
                    {"amount": PREP_CORE + free + 1}, status=400)  # fmt: skip
    assert f"at most {PREP_CORE + free:,.0f}" in r["detail"], r

    # ---- the outcomes report: by income group, region, LDC
    rep = office.get(f"/api/v1/calls/{slug}/report")
    awarded = {r["group"]: r for r in rep["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert awarded["all"]["count"] == len(by_code), (awarded, by_code)
    page = text_of(signed_in(web, "office@nhpc.example").get(f"/manage/calls/{slug}/report").text)
    assert not re.search(r"\de\+", page)

    # ---- the preparatory track's first batch, cut at its cut-off
    with time_machine.travel(cut1 + dt.timedelta(hours=1), tick=True):
        out = office.post(f"/api/v1/calls/{prep}/batches")
    b1 = out["batches"][0]["slug"]
    got = {p["pool_id"]: p["amount"] for p in office.get(f"/api/v1/calls/{b1}")["pools"]}
    assert got[core] == PREP_CORE + free, got
    office.post(f"/api/v1/calls/{b1}/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        run_step(web, office, b1, step)
    give_reviews(reviewers)
    calibrate_to_schedule(web, office, b1)
    office.post(f"/api/v1/calls/{b1}/release")
    assert office.post(f"/api/v1/calls/{b1}/publish")["status"] == "published"
    got = web.client().get(f"/api/v1/calls/{b1}/awards?limit=200").json()["items"]
    assert len({a["proposal_code"] for a in got}) == 2, got
