"""A multi-project-wafer (MPW) chip shuttle, set up by its operator through the JSON API and
the pages on a fresh install (branch trialfac22).

An open-silicon consortium in Kuala Lumpur offers university teams die area on one shuttle
run of a 130 nm process: the capacity is silicon area in square millimetres (a unit the
operator names in four languages, fractional: a 1.5 mm x 1.5 mm block is 2.25 mm²), with
the smallest block a design may take (1 mm²) and the largest (10 mm²); beside it, packaged
chips (whole, up to 40 a design). The shuttle has no slots: the tape-out is one deadline.
Applicants from eight countries (Bangladesh, Nepal, Ethiopia, Uganda among them, least
developed), a share of the area for least-developed countries, review, allocation,
publication and the outcomes report. What is looked at: the area shown with its
decimals and its unit's words in each language, never the unit's key.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_isotope_network_journey import csv_rows
from tests.api.test_operator_journey import (
    applicant_draft,
    ask_for,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

AREA = {
    "en": {"one": "mm² of die area", "other": "mm² of die area"},
    "zh": {"one": "平方毫米芯片面积", "other": "平方毫米芯片面积"},
    "fr": {"one": "mm² de surface de puce", "other": "mm² de surface de puce"},
    "es": {"one": "mm² de área de chip", "other": "mm² de área de chip"},
}
CHIPS = {
    "en": {"one": "packaged chip", "other": "packaged chips"},
    "zh": {"one": "封装芯片", "other": "封装芯片"},
    "fr": {"one": "puce encapsulée", "other": "puces encapsulées"},
    "es": {"one": "chip encapsulado", "other": "chips encapsulados"},
}
# (country, block in mm², chips)
TEAMS = [
    ("BGD", 2.25, 20),
    ("NPL", 3.5, 20),
    ("ETH", 1.75, 10),
    ("UGA", 4.0, 20),
    ("DEU", 6.25, 40),
    ("USA", 9.0, 40),
    ("BRA", 4.5, 20),
    ("IND", 5.5, 30),
]
PANEL = [
    ("vlsi1@panel.example", "VLSI expert 1", "JPN"),
    ("vlsi2@panel.example", "VLSI expert 2", "FRA"),
]


def test_an_mpw_shuttle_awards_die_area_in_square_millimetres(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    _admin, office, fac = open_facility(
        web, "osc", "Open Silicon Consortium", "MYS",
        {"name": "MPW shuttle, 130 nm", "slug": "mpw", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    area = office.post(res, {"name": "Shuttle 27A die area", "unit": "mm2", "unit_labels": AREA,
                             "amount": 25.0})  # fmt: skip
    chips = office.post(res, {"name": "Shuttle 27A packaging", "unit": "chip",
                              "unit_labels": CHIPS, "whole_units": True, "amount": 200})  # fmt: skip
    assert not area["whole_units"] and chips["whole_units"]

    reviewers = open_call(
        web, office,
        {"provider": "osc", "facility": "mpw", "slug": "mpw-27a", "code": "MPW27A",
         "cycle": "27A", "title": "Shuttle 27A, 130 nm"},
        {"group_shares": [{"group": "ldc", "min_share": 0.3}]}, PANEL,
        offers=[{"pool_id": area["id"], "amount": 25.0, "min_per_request": 1.0,
                 "max_per_request": 10.0},
                {"pool_id": chips["id"], "amount": 200, "max_per_request": 40}],
    )  # fmt: skip

    # the call's public page says the offer and its limits in the area's words (the
    # limits were bare numbers: "25 mm² of die area 1 10")
    page = text_of(web.client().get("/calls/mpw-27a").text)
    for said in (
        "25 mm² of die area 1 mm² of die area 10 mm² of die area",
        "200 packaged chips 40 packaged chips",
    ):
        assert said in page, page[:3000]
    assert "mm2" not in page, page[:3000]

    country_of: dict[str, str] = {}
    pid_of: dict[str, int] = {}
    for iso3, mm2, n in TEAMS:
        ac, pid = applicant_draft(web, "mpw-27a", f"chip-{iso3.lower()}@uni.example", iso3,
                                  f"A low-power sensor front end ({iso3})")  # fmt: skip
        if iso3 == "BGD":
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            # below the smallest block, above the largest: refused with the figures in words
            for bad, figure in ((0.5, "1 mm² of die area"), (12.5, "10 mm² of die area")):
                r = ask_for(ac, pid, area["id"], {"amount": bad}, status=400)
                assert figure in r["detail"], r
            r = ask_for(ac, pid, chips["id"], {"amount": 2.5}, status=400)
            assert "whole" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        ask_for(ac, pid, area["id"], {"amount": mm2}, bundle="tapeout")
        ask_for(ac, pid, chips["id"], {"amount": n}, bundle="tapeout")
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        country_of[p["code"]] = iso3
        pid_of[p["code"]] = pid

    review_and_publish(web, office, "mpw-27a", reviewers)

    anyone = web.client()
    awards = anyone.get("/api/v1/calls/mpw-27a/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    ldc_area = 0.0
    asked = {iso3: (mm2, n) for iso3, mm2, n in TEAMS}
    for a in awards:
        by_pool[a["unit"]] += a["amount"]
        iso3 = country_of[a["proposal_code"]]
        if a["unit"] == "mm2":
            assert a["amount"] == asked[iso3][0], a  # a die is all or nothing
            ldc_area += a["amount"] if iso3 in ldc else 0.0
        else:
            assert a["amount"] == asked[iso3][1], a
    assert 0 < by_pool["mm2"] <= 25.0 and by_pool["chip"] <= 200
    assert ldc_area >= 0.3 * by_pool["mm2"], (ldc_area, by_pool)

    # the public list: the area with its decimals, the unit's words, never its key
    area_awards = [a for a in awards if a["unit"] == "mm2"]
    quarter = next(a for a in area_awards if a["amount"] != int(a["amount"]))
    for lang, words, figure in (
        ("en", "mm² of die area", f"{quarter['amount']:g}"),
        ("fr", "mm² de surface de puce", f"{quarter['amount']:g}".replace(".", ",")),
        ("es", "mm² de área de chip", None),
        ("zh", "平方毫米芯片面积", None),
    ):
        page = text_of(web.client(lang).get("/calls/mpw-27a/awarded").text)
        assert words in page and "mm2" not in page, (lang, page[:3000])
        if figure:
            assert figure in page, (lang, figure, page[:3000])

    # the outcomes report: the area awarded in all and to LDCs, its unit in words
    report = office.get("/api/v1/calls/mpw-27a/report")
    assert sorted(report["call"]["units"]) == ["chip", "mm2"]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["mm2"] == pytest.approx(by_pool["mm2"])
    assert funnel["LDC"]["amounts"]["mm2"] == pytest.approx(ldc_area)
    staff = signed_in(web, "office@osc.example")
    page = text_of(staff.get("/manage/calls/mpw-27a/report").text)
    assert "mm² of die area" in page and "mm2" not in page, page[:4000]
    for fmt in ("csv",):
        r = staff.get(f"/manage/calls/mpw-27a/report.{fmt}")
        assert r.status_code == 200, r.text[:500]
    page = text_of(staff.get("/manage/calls/mpw-27a/decisions").text)
    assert "mm² of die area" in page and "mm2" not in page, page[:4000]
    csv_text = staff.get("/manage/calls/mpw-27a/decisions?format=csv").text
    assert f"{quarter['amount']:g}" in csv_text, csv_text[:2000]

    # the awarded team's outcome page, in French: its area with a decimal comma
    code = quarter["proposal_code"]
    iso3 = country_of[code]
    fr = signed_in(web, f"chip-{iso3.lower()}@uni.example", "fr")
    page = text_of(fr.get(f"/proposals/{pid_of[code]}/outcome").text)
    assert f"{quarter['amount']:g}".replace(".", ",") in page, page[:3000]
    assert "mm² de surface de puce" in page and "mm2" not in page, page[:3000]

    # the tape-out has no dates: the schedule says so rather than inventing them; each
    # entry's amount says its unit, in the API, the CSV and on the page (before, a bare
    # "2.25" and "20" side by side: die area and chips told apart by the label alone)
    sched = office.get("/api/v1/calls/mpw-27a/schedule")["items"]
    assert {(e["kind"], e["start"]) for e in sched} == {("period", None)}
    assert {(e["pool_id"], e["unit"]) for e in sched} == {
        (area["id"], "mm2"),
        (chips["id"], "chip"),
    }, sched
    rows = csv_rows(staff.get("/manage/calls/mpw-27a/schedule?format=csv").text)
    assert {(r["resource"], r["amount"], r["unit"]) for r in rows if r["proposal"] == code} == {
        ("Shuttle 27A die area", f"{quarter['amount']:g}", "mm2"),
        ("Shuttle 27A packaging", str(asked[iso3][1]), "chip"),
    }, rows
    page = text_of(signed_in(web, "office@osc.example", "fr").get(
        "/manage/calls/mpw-27a/schedule").text)  # fmt: skip
    assert f"{quarter['amount']:g} mm² de surface de puce".replace(".", ",") in page, page[:3000]
    assert f"{asked[iso3][1]} puces encapsulées" in page, page[:3000]
