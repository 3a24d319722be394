"""A genebank sending seed samples of its accessions to researchers and breeders
worldwide, and training genebank staff from developing countries, set up by its
programme manager through the JSON API on a fresh install (branch trialfac23b).

Each accession is a small resource of its own, counted in whole seeds, its stock the
resource's amount (some nearly exhausted). A request is a sample of one accession sent
to a destination country under the Standard Material Transfer Agreement (SMTA): the
destination is a required choice of country codes, the SMTA a required choice whose one
option is "accepted", and the phytosanitary certificate's and import permit's lead time
is the destination's (``country_rules`` reading ``destination``), counted to the first
day of the shipping season (the resource's period). An application asks for several
accessions. The allocation keeps a share for least-developed countries; what one call
awards of an accession's stock a later call cannot offer, and what a decline frees is
never given twice (once in its own call, once in the next). The training course's seats
go only to staff from the income groups the call names.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_genebank_journey import give_reviews, review_and_publish
from tests.api.test_operator_journey import calibrate_to_schedule, close_and_assign
from tests.factories import PINNED_NOW
from tests.journeys import (
    Client,
    account,
    ask,
    open_call,
    open_facility,
    resource,
    submitted,
)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

SEEDS = {
    "en": {"one": "seed", "other": "seeds"},
    "zh": {"one": "粒种子", "other": "粒种子"},
    "fr": {"one": "graine", "other": "graines"},
    "es": {"one": "semilla", "other": "semillas"},
}
DESTINATIONS = ["ETH", "MWI", "NPL", "KEN", "IND", "PER", "FRA", "USA", "AUS"]
FIELDS = [
    {"key": "destination", "type": "choice", "required": True, "options": DESTINATIONS,
     "labels": {"en": "Destination country", "fr": "Pays de destination",
                "es": "País de destino", "zh": "目的国"}},
    {"key": "smta", "type": "choice", "required": True, "options": ["accepted"],
     "labels": {"en": "SMTA accepted for this sample", "fr": "ATM accepté pour cet échantillon",
                "es": "ANTM aceptado para esta muestra", "zh": "已接受本样品的标准材料转让协议"}},
]  # fmt: skip
# import permits and phytosanitary certificates: days before the shipping season opens;
# Australia's quarantine takes no seed of these crops
RULES = {"country_field": "destination", "barred": ["AUS"],
         "lead_days": {"NPL": 150, "ETH": 60, "MWI": 45, "*": 21}}  # fmt: skip
SEASON = (PINNED_NOW + dt.timedelta(days=120)).date()
# accession -> stock in seeds (the last nearly exhausted)
ACCESSIONS = {
    "Sorghum IS 1001": 600, "Sorghum IS 2040": 400, "Teff TF 77": 300, "Pearl millet PM 12": 300,
    "Chickpea ICC 4958": 250, "Pigeonpea ICP 8863": 250, "Finger millet IE 2957": 200,
    "Bambara groundnut VSSP 11": 60,
}  # fmt: skip
# (PI's country, destination, [(accession, seeds)]); LDCs: ETH, MWI, NPL
APPLICANTS = [
    ("ETH", "ETH", [("Teff TF 77", 100), ("Sorghum IS 1001", 100), ("Bambara groundnut VSSP 11", 30)]),
    ("MWI", "MWI", [("Pigeonpea ICP 8863", 100), ("Bambara groundnut VSSP 11", 30)]),
    ("USA", "NPL", [("Finger millet IE 2957", 100), ("Sorghum IS 2040", 100)]),  # 150 days: late
    ("KEN", "KEN", [("Pearl millet PM 12", 100), ("Chickpea ICC 4958", 100), ("Bambara groundnut VSSP 11", 30)]),
    ("IND", "IND", [("Chickpea ICC 4958", 100), ("Pigeonpea ICP 8863", 100)]),
    ("PER", "PER", [("Sorghum IS 1001", 100), ("Teff TF 77", 100)]),
    ("FRA", "FRA", [("Sorghum IS 2040", 100), ("Pearl millet PM 12", 100), ("Finger millet IE 2957", 100)]),
    ("NPL", "IND", [("Finger millet IE 2957", 100), ("Sorghum IS 1001", 100)]),  # a Nepalese trial in India
]  # fmt: skip


def genebank(web: Web) -> tuple[Client, dict[str, Any]]:
    """The provider, its programme manager (the office) and the seed collection."""
    _admin, office, fac = open_facility(
        web, "igb", "International Crop Genebank", "ETH",
        {"name": "Seed and germplasm collection", "slug": "seeds", "kind": "custom"},
        office_name="Programme Manager",
    )  # fmt: skip
    return office, fac


def accession(office: Client, fac: dict[str, Any], name: str, stock: int) -> dict[str, Any]:
    """One accession: a resource of ``stock`` whole seeds, sent in the shipping season,
    followed by its shipment and its sample loan."""
    return resource(office, fac, {
        "name": name, "unit": "seed", "unit_labels": SEEDS, "whole_units": True,
        "amount": stock, "request_fields": FIELDS, "country_rules": RULES,
        "record_kinds": ["shipment", "loan"], "period_start": SEASON.isoformat(),
        "period_end": (SEASON + dt.timedelta(days=150)).isoformat()})  # fmt: skip


def apply(
    web: Web, address: str, iso3: str, slug: str, dest: str, asks: list[tuple[int, int]]
) -> tuple[Client, int]:
    """A researcher of ``iso3`` applies to ``slug`` for samples (``asks``: resource id,
    seeds) sent to ``dest``, the SMTA accepted for each, and submits: client and id."""
    ac = account(web, address, f"Breeder {iso3}", country_iso3=iso3,
                 institution=f"Crop Research Institute of {iso3}")  # fmt: skip
    pid = ac.post("/api/v1/proposals", {
        "call": slug, "title": f"Landrace screening in {dest} by a team of {iso3}",
        "abstract": "Screening.", "science_case": "Field trials."})["id"]  # fmt: skip
    for pool_id, seeds in asks:
        ask(ac, pid, pool_id, seeds, destination=dest, smta="accepted")
    submitted(ac, pid)
    return ac, int(pid)


def awarded_by_code(web: Web, slug: str) -> dict[str, dict[str, float]]:
    """The call's public awards: {proposal code: {resource name: amount}}."""
    items = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for a in items:
        out[a["proposal_code"]][a["pool"]] = a["amount"]
    return out


CALL = {"provider": "igb", "facility": "seeds", "cycle": "2027"}
PANEL = [("gb1@panel.example", "Panel One", "JPN"), ("gb2@panel.example", "Panel Two", "MEX")]
# favouring least-developed and low/lower-middle-income countries: shares of the seeds
POLICY = {"award_mode": "whole", "group_shares": [{"group": "ldc", "min_share": 0.3},
                                                  {"group": "low_lmic", "min_share": 0.5}]}  # fmt: skip


def test_a_genebank_ships_samples_of_many_accessions_through_a_whole_cycle(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    office, fac = genebank(web)
    pools = {name: accession(office, fac, name, stock) for name, stock in ACCESSIONS.items()}
    # a sample is at least 30 seeds and at most 100 of an accession
    offers = [{"pool_id": p["id"], "min_per_request": 30, "max_per_request": 100}
              for p in pools.values()]  # fmt: skip
    slug = "seeds-2027"
    reviewers = open_call(web, office, {**CALL, "slug": slug, "code": "SD27",
                                        "title": "Seed samples 2027"}, POLICY, PANEL, offers)  # fmt: skip
    code_of: dict[str, str] = {}
    team: dict[str, tuple[Client, int]] = {}
    for i, (iso3, dest, asks) in enumerate(APPLICANTS):
        ac, pid = apply(web, f"breeder{i}@applicants.example", iso3, slug, dest,
                        [(pools[n]["id"], seeds) for n, seeds in asks])  # fmt: skip
        code_of[iso3] = ac.get(f"/api/v1/proposals/{pid}/full")["code"]
        team[iso3] = (ac, pid)
    # an application without the SMTA accepted is refused, naming the field
    ac = account(web, "nosmta@applicants.example", "No SMTA", country_iso3="KEN",
                 institution="Kenya Seed Institute")  # fmt: skip
    pid = ac.post("/api/v1/proposals", {"call": slug, "title": "Without the agreement",
                                        "abstract": "A.", "science_case": "B."})["id"]  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    r = ac.post(f"/api/v1/proposals/{pid}/requests", {
        "version": version, "kind": "custom", "pool_id": pools["Teff TF 77"]["id"],
        "details": {"amount": 50, "destination": "KEN"}}, status=400)  # fmt: skip
    assert "SMTA accepted for this sample" in r["detail"], r
    # a destination under quarantine is refused at the submission, naming it
    r = ac.post(f"/api/v1/proposals/{pid}/requests", {
        "version": version, "kind": "custom", "pool_id": pools["Teff TF 77"]["id"],
        "details": {"amount": 50, "destination": "AUS", "smta": "accepted"}})  # fmt: skip
    r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
    assert "cannot be sent to AUS" in r["detail"], r

    review_and_publish(web, office, slug, reviewers)

    got = awarded_by_code(web, slug)
    # the permit for Nepal takes 150 days and the season opens in 120: not feasible
    assert code_of["USA"] not in got, got
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    assert "a shipment to Nepal needs 150 days" in decisions[code_of["USA"]]["explanation"]
    # every accession's awards fit in its stock; the nearly exhausted one went to two
    by_pool: dict[str, float] = defaultdict(float)
    for awards in got.values():
        for name, amount in awards.items():
            by_pool[name] += amount
            assert amount == int(amount) and 30 <= amount <= 100
    for name, total in by_pool.items():
        assert total <= ACCESSIONS[name], (name, total)
    assert by_pool["Bambara groundnut VSSP 11"] == 60
    # the shares, measured on the seeds of every accession (one unit): at least 30% to
    # least-developed countries and half to low- and lower-middle-income ones
    country = {code: iso3 for iso3, code in code_of.items()}
    seeds = sum(by_pool.values())
    assert sum(sum(a.values()) for c, a in got.items() if country[c] in ldc) >= 0.3 * seeds
    lmic = {"ETH", "MWI", "NPL", "KEN", "IND"}
    assert sum(sum(a.values()) for c, a in got.items() if country[c] in lmic) >= 0.5 * seeds

    # a second call the same year offers what the first did not award, never more
    slug2 = "seeds-2027b"
    office.post("/api/v1/calls", {**CALL, "slug": slug2, "code": "SE27", "title": "Second round",
                                  "anonymity": "single", "allocation_policy": POLICY,
                                  "opens_at": PINNED_NOW.isoformat(),
                                  "closes_at": (PINNED_NOW + dt.timedelta(days=30)).isoformat()})  # fmt: skip
    bambara = pools["Bambara groundnut VSSP 11"]
    r = office.post(f"/api/v1/calls/{slug2}/pools", {"pool_id": bambara["id"]}, status=400)
    assert "nothing left to offer" in r["detail"], r
    sorghum = pools["Sorghum IS 1001"]
    r = office.post(f"/api/v1/calls/{slug2}/pools",
                    {"pool_id": sorghum["id"], "amount": 600}, status=400)  # fmt: skip
    assert f"at most {600 - by_pool['Sorghum IS 1001']:g}" in r["detail"], r
    cp = office.post(f"/api/v1/calls/{slug2}/pools", {"pool_id": sorghum["id"]})
    offered = {p["pool_id"]: p["amount"] for p in cp["pools"]}
    assert offered[sorghum["id"]] == 600 - by_pool["Sorghum IS 1001"], offered

    # after the award: the samples shipped with their SMTA, received, germinated, published
    for iso3, (ac, pid) in team.items():
        if code_of[iso3] not in got:
            continue
        n = sum(got[code_of[iso3]].values())
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "shipment", "data": {
            "description": f"{n:g} seeds under the SMTA",
            "shipped_on": (SEASON + dt.timedelta(days=3)).isoformat(),
            "delivered_on": (SEASON + dt.timedelta(days=15)).isoformat(),
            "tracking_ref": f"SD-{iso3}", "customs_status": "cleared"}})  # fmt: skip
        if iso3 in ldc:
            ac.post(f"/api/v1/awards/{pid}/outputs", {
                "title": f"Germination of landraces in {iso3}", "year": 2028,
                "countries": [iso3]})  # fmt: skip
    stages = office.get(f"/api/v1/calls/{slug}/postaward", limit=50)["items"]
    assert len(stages) == len(got) and all(x["used"] for x in stages), stages
    assert sum(x["produced_results"] for x in stages) == sum(
        iso3 in ldc for iso3 in team if code_of[iso3] in got
    )
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["seed"]
    assert {"income_group", "un_region", "ldc"} <= set(report["funnels"])
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["seed"] == sum(by_pool.values())


def test_a_decline_frees_stock_once_not_in_two_calls(web: Web, one_loop: None) -> None:
    """A nearly exhausted accession of 60 seeds: the first call awards 50 (two samples of
    25) and releases; one awardee declines; a second call is offered what is left (35);
    the first call's chair may then not give the declined 25 to its next in line, which
    would send 85 seeds of a stock of 60."""
    office, fac = genebank(web)
    bambara = accession(office, fac, "Bambara groundnut VSSP 11", 60)
    slug = "bambara-2027"
    reviewers = open_call(web, office, {**CALL, "slug": slug, "code": "BB27",
                                        "title": "Bambara samples"}, {"award_mode": "whole"},
                          PANEL, [{"pool_id": bambara["id"]}])  # fmt: skip
    team = {}
    for i, iso3 in enumerate(["ETH", "KEN", "IND"]):
        ac, pid = apply(web, f"bb{i}@applicants.example", iso3, slug, iso3,
                        [(bambara["id"], 25)])  # fmt: skip
        team[pid] = ac
    review_and_publish(web, office, slug, reviewers)
    got = awarded_by_code(web, slug)
    assert sorted(sum(a.values()) for a in got.values()) == [25, 25], got
    awarded = [pid for pid in team if ac_code(team[pid], pid) in got]
    first = awarded[0]
    team[first].post(f"/api/v1/awards/{first}/decline",
                     {"reason": "funding", "note": "Trial cancelled.", "confirm": True})  # fmt: skip
    # the stock the decline freed returns to the accession: a second call takes it all
    slug2 = "bambara-2027b"
    office.post("/api/v1/calls", {**CALL, "slug": slug2, "code": "BC27", "title": "Second round",
                                  "anonymity": "single", "allocation_policy": {"award_mode": "whole"},
                                  "opens_at": PINNED_NOW.isoformat(),
                                  "closes_at": (PINNED_NOW + dt.timedelta(days=30)).isoformat()})  # fmt: skip
    cp = office.post(f"/api/v1/calls/{slug2}/pools", {"pool_id": bambara["id"]})
    assert [p["amount"] for p in cp["pools"]] == [35], cp
    # so the first call has nothing free of it: its next in line is not offered the 25
    declines = office.get(f"/api/v1/calls/{slug}/declines")
    assert declines["next_in_line"] == [], declines
    nxt = next(pid for pid in team if pid not in awarded)
    before = awarded_by_code(web, slug)
    r = office.post(f"/api/v1/calls/{slug}/declines/{nxt}/offer",
                    {"reason": "Next in line after a decline."}, status=400)  # fmt: skip
    assert r["detail"] == (
        "Awarding this proposal would overdraw 'Bambara groundnut VSSP 11': it has 60 seeds, "
        "and other calls now hold what this call no longer uses of it (this call can award "
        "at most 0 seeds more)."
    ), r
    assert awarded_by_code(web, slug) == before
    # what every call holds of the accession never exceeds its stock
    res = office.get(f"/api/v1/resources/{bambara['id']}")
    assert res["amount"] == 60
    total = sum(sum(a.values()) for a in awarded_by_code(web, slug).values()) + 35
    assert total <= 60, total


def ac_code(ac: Client, pid: int) -> str:
    return str(ac.get(f"/api/v1/proposals/{pid}/full")["code"])


def seat_asked(web: Web, address: str, iso3: str, seats: int) -> tuple[Client, int]:
    """A curator of ``iso3``'s genebank asking for one seat of the course: client, draft."""
    ac = account(web, address, f"Curator {iso3}", country_iso3=iso3,
                 institution=f"Genebank of {iso3}")  # fmt: skip
    pid = ac.post("/api/v1/proposals", {"call": "course-2027", "title": "Curator training",
                                        "abstract": "A.", "science_case": "B."})["id"]  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    ac.post(f"/api/v1/proposals/{pid}/requests", {"version": version, "kind": "custom",
                                                  "pool_id": seats, "details": {"amount": 1}})  # fmt: skip
    return ac, int(pid)


def test_a_training_course_takes_staff_only_from_the_income_groups_it_names(
    web: Web, one_loop: None
) -> None:
    """A course for genebank staff from low- and lower-middle-income countries: the call's
    eligible income groups are checked (a group the reference data does not know is
    refused, naming it), and an applicant from another group is told at the submission,
    nothing changed; the seats go only to those eligible."""
    office, fac = genebank(web)
    seats = resource(office, fac, {
        "name": "Seed conservation course, Addis Ababa", "unit": "seat", "amount": 3,
        "period_start": SEASON.isoformat(),
        "period_end": (SEASON + dt.timedelta(days=11)).isoformat(),
        "country_rules": {"lead_days": {"*": 30}}})  # fmt: skip
    course = {**CALL, "slug": "course-2027", "code": "TC27", "title": "Genebank staff course",
              "anonymity": "single", "allocation_policy": {"award_mode": "whole"},
              "opens_at": (PINNED_NOW - dt.timedelta(days=1)).isoformat(),
              "closes_at": (PINNED_NOW + dt.timedelta(days=30)).isoformat(),
              "review_settings": {"reviewers_per_proposal": 2, "max_load": 40}}  # fmt: skip
    r = office.post("/api/v1/calls", {**course, "eligibility": {"income_groups": ["LIC"]}},
                    status=400)  # fmt: skip
    assert "LIC" in r["detail"], r
    office.post(
        "/api/v1/calls", {**course, "eligibility": {"income_groups": ["low", "lower-middle"]}}
    )
    office.post("/api/v1/calls/course-2027/pools", {"pool_id": seats["id"]})
    office.post("/api/v1/calls/course-2027/transition", {"target": "open"})
    reviewers = []
    for address, name, iso3 in PANEL:
        reviewers.append(account(web, address, name, country_iso3=iso3,
                                 institution=f"Institute of {name}"))  # fmt: skip
        office.post("/api/v1/providers/igb/roles", {"email": address, "role": "reviewer"})
    # staff from the United States and Peru (high, upper-middle income) are told first
    for iso3, group in (("USA", "high"), ("PER", "upper-middle")):
        ac, pid = seat_asked(web, f"staff-{iso3}@genebanks.example", iso3, seats["id"])
        before = ac.get(f"/api/v1/proposals/{pid}/full")
        r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
        assert (
            "This call is open only to teams whose PI works in a country of the income groups "
            f"low, lower-middle; the PI's country, {iso3}, is in the income group {group}."
        ) in r["detail"], r
        assert ac.get(f"/api/v1/proposals/{pid}/full") == before
    codes = []
    for i, iso3 in enumerate(["ETH", "NPL", "KEN", "MWI"]):
        ac, pid = seat_asked(web, f"staff{i}@genebanks.example", iso3, seats["id"])
        codes.append(ac.post(f"/api/v1/proposals/{pid}/submit")["code"])
    # the public call page says who may apply
    page = web.client().get("/calls/course-2027").text
    assert "income groups: Low income, Lower-middle income." in page, page
    page = web.client("fr").get("/calls/course-2027").text
    assert "Ouvert uniquement aux équipes dont le responsable travaille" in page, page
    close_and_assign(web, office, "course-2027")
    give_reviews(reviewers)
    calibrate_to_schedule(web, office, "course-2027")
    office.post("/api/v1/calls/course-2027/release")
    decided = office.get("/api/v1/calls/course-2027/decisions", limit=50)["items"]
    assert {d["proposal_code"] for d in decided} == set(codes), decided
    assert sorted(d["outcome"] for d in decided) == ["awarded"] * 3 + ["not_awarded"], decided


def test_an_award_whose_permit_cannot_come_in_time_any_more_is_not_released(
    web: Web, one_loop: None
) -> None:
    """The lead times are read at the allocation; when the decisions are released weeks
    later, a shipment to Ethiopia (60 days) in a season that now begins in 50 can no
    longer be sent: the release is refused, naming the proposal and why, nothing changes;
    the chair overrides it to 'not awarded' and releases."""
    import time_machine

    office, fac = genebank(web)
    teff = accession(office, fac, "Teff TF 77", 300)
    slug = "teff-2027"
    reviewers = open_call(web, office, {**CALL, "slug": slug, "code": "TF27",
                                        "title": "Teff samples"}, {"award_mode": "whole"},
                          PANEL, [{"pool_id": teff["id"]}])  # fmt: skip
    code, pid_of = {}, {}
    for i, iso3 in enumerate(["ETH", "KEN"]):
        ac, pid = apply(web, f"tf{i}@applicants.example", iso3, slug, iso3, [(teff["id"], 100)])
        code[iso3], pid_of[iso3] = ac_code(ac, pid), pid
    close_and_assign(web, office, slug)
    give_reviews(reviewers)
    calibrate_to_schedule(web, office, slug)  # allocated 120 days before the season
    decided = {d["proposal_code"]: d["outcome"] for d in
               office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    assert decided == {code["ETH"]: "awarded", code["KEN"]: "awarded"}, decided
    sched = office.get(f"/api/v1/calls/{slug}/schedule")["items"]
    assert {e["proposal_code"] for e in sched} == {code["ETH"], code["KEN"]}, sched
    with time_machine.travel(PINNED_NOW + dt.timedelta(days=70), tick=True):
        r = office.post(f"/api/v1/calls/{slug}/release", status=400)
        assert code["ETH"] in r["detail"] and "a shipment to Ethiopia needs 60 days" in r["detail"]
        assert code["KEN"] not in r["detail"], r
        assert office.get(f"/api/v1/calls/{slug}")["decisions_released_at"] is None
        office.post(f"/api/v1/calls/{slug}/decisions/{pid_of['ETH']}/override",
                    {"outcome": "not_awarded",
                     "reason": "The phytosanitary certificate cannot come in time."})  # fmt: skip
        # the override after the scheduling step takes the award's entries off the schedule
        sched = office.get(f"/api/v1/calls/{slug}/schedule")["items"]
        assert {e["proposal_code"] for e in sched} == {code["KEN"]}, sched
        office.post(f"/api/v1/calls/{slug}/release")
    got = {d["proposal_code"]: d["outcome"] for d in
           office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    assert got == {code["ETH"]: "not_awarded", code["KEN"]: "awarded"}, got
