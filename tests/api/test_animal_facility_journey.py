"""An animal research facility housing other institutions' animals, set up by its operator
through the JSON API on a fresh install (branch trialfac18).

Capacity is housing: mouse cages and zebrafish tanks, each counted by the week in a unit the
operator names in en/zh/fr/es ("cage-week", "tank-week"), whole numbers only, with no
calendar (a colony is housed when its animals arrive). Every request names the ethics
committee's protocol (a text field) and its approval letter (a file the submission waits
for) and the biosafety level (a choice). Partial awards are allowed down to half of what
was asked, in whole cage-weeks. The protocol numbers are the teams' own: the public list of
awards and the reviewers' view never show them. After the award the facility records the
cage-weeks each colony used; the outcomes report counts both units apart.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_clean_room_journey import attach_and_submit
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

UNITS = {
    "cage-week": {"en": {"one": "cage-week", "other": "cage-weeks"},
                  "zh": {"one": "笼周", "other": "笼周"},
                  "fr": {"one": "cage-semaine", "other": "cages-semaines"},
                  "es": {"one": "jaula-semana", "other": "jaulas-semana"}},
    "tank-week": {"en": {"one": "tank-week", "other": "tank-weeks"},
                  "zh": {"one": "缸周", "other": "缸周"},
                  "fr": {"one": "bac-semaine", "other": "bacs-semaines"},
                  "es": {"one": "tanque-semana", "other": "tanques-semana"}},
}  # fmt: skip
FIELDS: list[dict[str, Any]] = [
    {"key": "protocol", "type": "text", "required": True, "max_length": 40,
     "labels": {"en": "Ethics protocol number", "fr": "Numéro de protocole éthique",
                "es": "Número de protocolo ético", "zh": "伦理审批编号"}},
    {"key": "approval", "type": "file", "required": True,
     "labels": {"en": "Ethics approval letter"}},
    {"key": "bsl", "type": "choice", "required": True, "options": ["ABSL-1", "ABSL-2"],
     "labels": {"en": "Biosafety level"}},
]  # fmt: skip
CAGES, TANKS = 300, 60
# (country, cage-weeks, tank-weeks)
TEAMS = [("BRA", 60, 0), ("ARG", 80, 10), ("MOZ", 40, 0), ("HTI", 30, 12), ("ZAF", 90, 0),
         ("USA", 100, 20), ("PRT", 50, 0), ("BOL", 40, 15), ("TZA", 30, 0), ("CHL", 70, 10)]  # fmt: skip


def test_an_animal_facility_houses_colonies_by_the_week(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    _admin, office, fac = open_facility(
        web, "vivarium", "Regional Animal Research Facility", "BRA",
        {"name": "Animal housing", "slug": "housing", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    cages = office.post(res, {"name": "Mouse cages", "unit": "cage-week",
                              "unit_labels": UNITS["cage-week"], "whole_units": True,
                              "amount": CAGES, "request_fields": FIELDS})  # fmt: skip
    tanks = office.post(res, {"name": "Zebrafish tanks", "unit": "tank-week",
                              "unit_labels": UNITS["tank-week"], "whole_units": True,
                              "amount": TANKS, "request_fields": FIELDS})  # fmt: skip
    slug = "housing-2027"
    reviewers = open_call(web, office, {
        "provider": "vivarium", "facility": "housing", "slug": slug, "code": "AH27",
        "cycle": "2027", "title": "Animal housing for visiting colonies, 2027"},
        {"award_mode": "partial", "min_fraction": 0.5,
         "group_shares": [{"group": "ldc", "min_share": 0.25}]},
        [(f"vet{i}@panel.example", f"Veterinarian {i}", iso3)
         for i, iso3 in enumerate(["MEX", "ESP", "IND"])],
        offers=[{"pool_id": cages["id"], "amount": CAGES, "min_per_request": 10},
                {"pool_id": tanks["id"], "amount": TANKS}])  # fmt: skip

    teams: dict[str, tuple[int, Client, str, str]] = {}
    for i, (iso3, n_cages, n_tanks) in enumerate(TEAMS):
        address = f"lab{i}@animals.example"
        ac = account(web, address, f"Lab Head {i}", country_iso3=iso3,
                     institution=f"Biomedical Institute {i}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Host response to infection, colony {i}",
            "abstract": "A knock-out line.", "science_case": "Survival curves."})["id"]  # fmt: skip
        protocol = f"CEUA-{iso3}-{4711 + i}"

        def ask(pool: int, amount: float, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool,
                    "details": {"amount": amount, "protocol": protocol,  # noqa: B023
                                "approval": "approval.pdf", "bsl": "ABSL-1", **details}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        if i == 0:  # a fraction, too few, a protocol too long, no level: refused, nothing kept
            r = ask(cages["id"], 12.5, status=400)
            assert "12.5" in r["detail"] and "cage-weeks" in r["detail"], r
            r = ask(cages["id"], 5, status=400)
            assert "10" in r["detail"], r
            r = ask(cages["id"], 20, status=400, protocol="X" * 41)
            assert "Ethics protocol number" in r["detail"], r
            r = ask(cages["id"], 20, status=400, bsl="ABSL-3")
            assert "Biosafety level" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full")["requests"] == []
        p = ask(cages["id"], n_cages)
        if n_tanks:
            p = ask(tanks["id"], n_tanks)
        if i == 1:  # the approval letter named but not attached: submission waits
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "Ethics approval letter" in r["detail"] and "approval.pdf" in r["detail"], r
        p = attach_and_submit(ac, pid, p["version"], "approval.pdf")
        teams[p["code"]] = (pid, ac, iso3, protocol)

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: whole cage- and tank-weeks, at least half of each request, within the offers
    asked = {(teams_code, u): 0.0 for teams_code in teams for u in ("cage-week", "tank-week")}
    for code, (_pid, _ac, iso3, _p) in teams.items():
        row = next(t for t in TEAMS if t[0] == iso3)
        asked[(code, "cage-week")], asked[(code, "tank-week")] = row[1], row[2]
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    total: dict[str, float] = defaultdict(float)
    for a in awards:
        assert a["amount"] == int(a["amount"]), a  # whole cage-weeks, even when cut
        assert 0.5 * asked[(a["proposal_code"], a["unit"])] <= a["amount"], a
        assert a["amount"] <= asked[(a["proposal_code"], a["unit"])], a
        total[a["unit"]] += a["amount"]
    assert 0 < total["cage-week"] <= CAGES and total["tank-week"] <= TANKS
    ldc_cages = sum(a["amount"] for a in awards
                    if a["unit"] == "cage-week" and teams[a["proposal_code"]][2] in ldc)  # fmt: skip
    assert ldc_cages >= 0.25 * total["cage-week"], (ldc_cages, total)

    # ---- the public list, in Chinese and Spanish: the units, never a protocol number
    for lang, word in (("zh", "笼周"), ("es", "jaulas-semana")):
        page = anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": lang}).text
        assert word in text_of(page), lang
        assert "CEUA-" not in page and "approval.pdf" not in page
    # a reviewer reads the request's form, but an outcome is the team's own
    code = next(iter(teams))
    pid, ac, _iso3, protocol = teams[code]
    page = text_of(signed_in(web, f"lab{list(teams).index(code)}@animals.example", "es")
                   .get(f"/proposals/{pid}/outcome").text)  # fmt: skip
    assert "jaulas-semana" in page or "jaula-semana" in page, page[:2000]

    # ---- after the award: cage-weeks used by each colony, counted apart from tanks
    used = 0.0
    for code in sorted({a["proposal_code"] for a in awards}):
        pid, ac, _iso3, _p = teams[code]
        mine = [a for a in ac.get(f"/api/v1/awards/{pid}")["awards"] if a["unit"] == "cage-week"]
        if not mine:
            continue
        n = mine[0]["amount"] - 2  # two cage-weeks unused: the colony bred faster
        used += n
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "award_id": mine[0]["id"],
                "data": {"description": "colony housed", "used_amount": n,
                         "started_on": "2027-02-01", "completed": True}})  # fmt: skip
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert sorted(report["call"]["units"]) == ["cage-week", "tank-week"]
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["amounts"]["cage-week"] == total["cage-week"]
    assert rows["all"]["amounts"].get("tank-week", 0) == total["tank-week"]
    # the after-award figures: the cage-weeks used, in cage-weeks (never summed with tanks)
    figures = {r["group"]: r["figures"] for r in report["after_award"]["use"]["ldc"]}
    assert figures["all"]["used:cage-week"] == used, figures
    assert figures["all"]["awarded:cage-week"] == total["cage-week"], figures
