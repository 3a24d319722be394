"""A visiting-scientist fellowship programme, set up by its operator through the JSON API on
a fresh install: its capacity is money (a stipend fund in euros, cents kept) and places in
host laboratories (whole places), and nothing is scheduled in slots.

Each fellow asks for one host-lab place and a stipend of their own size (months times a
monthly rate: from a little over 7,000 to 18,000 euros), the two as one all-or-nothing
bundle: a place without its stipend is no fellowship. The policy gives at least 30 % of
the euros to fellows from least-developed countries and one fellowship per person.
Applicants from LDCs, lower-middle-, upper-middle- and high-income countries, names and
titles in Arabic and Chinese, three from one country: the policy allows at most two
fellows from one country (``group_caps``; before mend10a the product could not say it and
refused the key). Review, allocation,
release, publication; then every page a person reads: the public list, the outcomes,
the office's report (page, CSV, PDF) in French, Spanish and Chinese, amounts of
thousands of euros written as each language writes numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from opencall.inputs import local_number
from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import (
    Client,
    account,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

EUR = {
    "en": {"one": "euro", "other": "euros"},
    "zh": {"one": "欧元", "other": "欧元"},
    "fr": {"one": "euro", "other": "euros"},
    "es": {"one": "euro", "other": "euros"},
}
PLACE = {
    "en": {"one": "host-lab place", "other": "host-lab places"},
    "zh": {"one": "个接待实验室名额", "other": "个接待实验室名额"},
    "fr": {"one": "place en laboratoire", "other": "places en laboratoire"},
    "es": {"one": "plaza en laboratorio", "other": "plazas en laboratorio"},
}
FUND = 60_000.0  # euros of the call
PLACES = 5
# (country, applicant's name, title, stipend in euros); LDCs: ETH, NPL, SEN, BGD
APPLICANTS = [
    ("ETH", "Abebe Bikila", "Groundwater recharge in the Rift", 9_000.0),
    ("NPL", "Sita Gurung", "Glacial lake outburst floods", 12_500.5),
    ("SEN", "Awa Ndiaye", "Sahel rainfall and the monsoon", 7_250.75),
    ("BGD", "Rahim Uddin", "Delta subsidence from radar", 18_000.0),
    ("EGY", "مريم حسن", "نمذجة الفيضانات في دلتا النيل", 15_000.0),
    ("CHN", "王小明", "季风降水的年代际变化", 16_000.0),
    ("KEN", "Achieng Otieno", "Lake Victoria water balance", 10_000.0),
    ("KEN", "Kamau Njoroge", "Rangeland drought indices", 11_000.0),
    ("KEN", "Wanjiru Mwangi", "Mount Kenya glacier retreat", 9_500.0),
    ("BRA", "Ana Souza", "Amazon moisture recycling", 14_000.0),
    ("FRA", "Claire Martin", "Alpine snow and runoff", 13_000.0),
]  # fmt: skip


def number(value: float, lang: str) -> str:
    """``value`` as ``lang`` writes it, as :func:`text_of` reads a page (a narrow no-break
    space is a space)."""
    return re.sub(r"\s", " ", local_number(value, lang))


def test_a_fellowship_programme_awards_stipends_and_host_lab_places(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    assert {"ETH", "NPL", "SEN", "BGD"} <= ldc and not {"KEN", "EGY"} & ldc
    _admin, office, fac = open_facility(
        web, "vsp", "Visiting Scientist Programme", "ITA",
        {"name": "Visiting fellowships", "slug": "fellowships", "kind": "custom"},
        office_name="Fellowship Office",
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    fund = office.post(res, {"name": "Stipend fund", "unit": "eur", "unit_labels": EUR,
                             "amount": FUND})  # fmt: skip
    places = office.post(res, {"name": "Host-lab places", "unit": "place", "unit_labels": PLACE,
                               "whole_units": True, "amount": PLACES})  # fmt: skip
    assert not fund["whole_units"] and places["whole_units"]

    slug = "vsp-2028"
    panel = [("hydro1@panel.example", "Hydrologist One", "NLD"),
             ("hydro2@panel.example", "Hydrologist Two", "IND")]  # fmt: skip
    reviewers = open_call(
        web, office,
        {"provider": "vsp", "facility": "fellowships", "slug": slug, "code": "VS28",
         "cycle": "2028", "title": "Visiting fellowships 2028"},
        {"award_mode": "whole", "pi_cap_awards": 1,
         "group_shares": [{"group": "ldc", "min_share": 0.3}],
         "group_caps": [{"per": "country", "max_awards": 2}]},
        panel,
    )  # fmt: skip
    # the call offers the whole facility: the fund and the places
    got = office.get(f"/api/v1/calls/{slug}")["pools"]
    assert {p["pool_id"] for p in got} == {fund["id"], places["id"]}, got

    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    asked: dict[str, float] = {}
    for i, (iso3, name, title, stipend) in enumerate(APPLICANTS):
        address = f"fellow{i}@applicants.example"
        ac = account(web, address, name, country_iso3=iso3,
                     institution=f"University of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": title, "abstract": "Three to six months in a host lab.",
            "science_case": "Training and a joint paper."})["id"]  # fmt: skip

        def ask(amount: Any, pool: int, status: int | None = None) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool,
                    "bundle": "fellowship", "details": {"amount": amount}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        if i == 0:  # half a place: refused in the unit's own words, nothing changes
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(0.5, places["id"], status=400)
            assert "0.5 is not a whole number of host-lab places" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        ask(1, places["id"])
        ask(stipend, fund["id"])
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)
        asked[p["code"]] = stipend

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: a place and its whole stipend together, within the fund and the places
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        by_code[a["proposal_code"]][a["unit"]] = a["amount"]
    assert by_code, awards
    for code, got in by_code.items():
        assert got == {"place": 1, "eur": asked[code]}, (code, got)
    euros = sum(g["eur"] for g in by_code.values())
    assert euros <= FUND and len(by_code) <= PLACES
    ldc_euros = sum(g["eur"] for c, g in by_code.items() if country_of[c] in ldc)
    assert ldc_euros >= 0.3 * euros - 1e-6, (ldc_euros, euros)
    per_country: dict[str, int] = defaultdict(int)
    for code in by_code:
        per_country[country_of[code]] += 1
    assert max(per_country.values()) <= 2, per_country

    # ---- the public list, in each reader's words and numbers
    for lang, word in (("fr", "euros"), ("es", "euros"), ("zh", "欧元")):
        page = text_of(anyone.get(f"/calls/{slug}/awarded",
                                  headers={"Accept-Language": lang}).text)  # fmt: skip
        assert word in page and not re.search(r"\beur\b", page), (lang, page)
        cap = {"fr": "Au plus 2 attributions par pays", "es": "Como máximo 2 asignaciones por país",
               "zh": "每个国家（以项目负责人所在国计）最多 2 项授予"}[lang]  # fmt: skip
        assert cap in page, (lang, page)
        for code, got in by_code.items():
            assert number(got["eur"], lang) in page, (lang, code, page)
    # a fellow's outcome, in Spanish, with an Arabic title
    code = next(c for c in by_code if country_of[c] == "EGY") if any(
        country_of[c] == "EGY" for c in by_code) else next(iter(sorted(by_code)))  # fmt: skip
    pid, _ac, address = pis[code]
    page = text_of(signed_in(web, address, "es").get(f"/proposals/{pid}/outcome").text)
    assert number(asked[code], "es") in page and "euros" in page, page[:3000]
    assert "plaza en laboratorio" in page, page[:3000]

    # ---- after the award: the stipend paid, the visit made
    for code, got in sorted(by_code.items()):
        pid, ac, _address = pis[code]
        # the euros paid are of the stipend award, not the host-lab place (usecount17)
        awards = ac.get(f"/api/v1/awards/{pid}")["awards"]
        stipend = next(a["id"] for a in awards if a["unit"] == "eur")
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "award_id": stipend, "data": {
            "description": "stipend paid, visit made", "used_amount": got["eur"],
            "started_on": "2028-09-01", "completed": True}})  # fmt: skip

    # ---- the office's report: euros and places by group, each language's numbers
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert sorted(report["call"]["units"]) == ["eur", "place"]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["eur"] == pytest.approx(euros)
    assert funnel["all"]["amounts"]["place"] == len(by_code)
    assert funnel["LDC"]["amounts"]["eur"] == pytest.approx(ldc_euros)
    for lang, word in (("fr", "euros"), ("es", "euros"), ("zh", "欧元")):
        staff = signed_in(web, "office@vsp.example", lang)
        page = text_of(staff.get(f"/manage/calls/{slug}/report").text)
        said = f"{number(round(euros), lang)} {word}"
        assert said in page, (lang, said, page[:4000])
        if lang != "zh":  # the English thousands separator is a decimal comma in fr, es
            assert f"{round(euros):,}" not in page, (lang, page[:4000])
    rows = list(csv.DictReader(io.StringIO(staff.get(f"/manage/calls/{slug}/report.csv")
                                           .content.decode("utf-8-sig"))))  # fmt: skip
    row = next(r for r in rows if (r["grouping"], r["group"], r["stage"])
               == ("ldc", "all", "awarded"))  # fmt: skip
    assert float(row["amount:eur"]) == pytest.approx(euros) and float(row["amount:place"]) == len(
        by_code
    )
    fr = signed_in(web, "office@vsp.example", "fr")
    pdf = fr.get(f"/manage/calls/{slug}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join(x.extract_text() for x in PdfReader(io.BytesIO(pdf.content)).pages)
    assert number(round(euros), "fr") in re.sub(r"\s", " ", text), text[:4000]
    assert f"{round(euros):,}" not in text
