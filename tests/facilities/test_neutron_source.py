"""A neutron source's user programme, set up by its user office through the JSON API and
the pages on a fresh install (branch trialfac24).

Three instruments, each with its own capacity in 8-hour shifts (a powder diffractometer,
a small-angle scattering instrument, a triple-axis spectrometer), and a travel-support
fund in euros (EUR 120,000 for the round, at most EUR 6,000 a proposal). A proposal may
ask for several instruments and, for a team from a low- or lower-middle-income country,
for travel support. Every proposal's samples get a SAFETY review by the source's safety
officer: its hazard class, and for the classes the call says need it (biological,
radioactive) the officer's approval before the award is final; a refused safety review
blocks the award whatever the grade (the call's ``review_settings``: ``hazard_classes``,
``approval_required``; ``POST /api/v1/safety/proposals/{id}``; the page
``/technical/proposals/{id}``). The cycle runs to publication and the outcomes report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.people.models import Country
from tests.api.test_genebank_journey import give_reviews
from tests.api.test_operator_journey import (
    account,
    calibrate_to_schedule,
    close_and_assign,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web, csrf

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

EUR = {
    "en": {"one": "euro", "other": "euros"},
    "zh": {"one": "欧元", "other": "欧元"},
    "fr": {"one": "euro", "other": "euros"},
    "es": {"one": "euro", "other": "euros"},
}
INSTRUMENTS = {"powder": ("Powder diffractometer", 30), "sans": ("Small-angle scattering", 24),
               "tas": ("Triple-axis spectrometer", 18)}  # fmt: skip
FUND, PER_PROPOSAL, PER_PERSON = 120_000, 6_000, 3_000
# travel support goes to the team members from low- and lower-middle-income countries,
# at most EUR 3,000 each (the resource's limits: max_per_person, income_groups)
TRAVEL_LIMITS = {"max_per_proposal": PER_PROPOSAL, "max_per_person": PER_PERSON,
                 "income_groups": ["low", "lower-middle"]}  # fmt: skip
SAFETY = {"hazard_classes": ["none", "chemical", "biological", "radioactive"],
          "approval_required": ["biological", "radioactive"]}  # fmt: skip
# (PI's country, shifts per instrument, travel asked in EUR, hazard class, safety decision);
# the team from Ethiopia has a co-investigator from Kenya: two travellers
TEAMS: list[tuple[str, dict[str, int], int, str, str]] = [
    ("ETH", {"powder": 6, "sans": 3}, 5_200, "none", "pending"),
    ("NGA", {"tas": 6}, 2_800, "radioactive", "refused"),  # the panel's favourite
    ("IND", {"powder": 6, "tas": 4}, 6_000, "chemical", "pending"),  # one traveller: 3,000
    ("PAK", {"sans": 6}, 2_900, "biological", "pending"),  # awaits approval at the release
    ("BRA", {"powder": 9}, 2_500, "chemical", "pending"),  # upper-middle: no travel support
    ("DEU", {"sans": 6, "tas": 4}, 0, "none", "pending"),
    ("JPN", {"powder": 6}, 0, "radioactive", "approved"),
]  # fmt: skip


def _ask(ac: Any, pid: int, pool: int, amount: float) -> None:
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    ac.post(f"/api/v1/proposals/{pid}/requests",
            {"version": version, "kind": "custom", "pool_id": pool, "details": {"amount": amount}})  # fmt: skip


def test_a_neutron_source_gates_awards_on_a_safety_review(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
    _admin, office, fac = open_facility(
        web, "ness", "National Neutron Source", "ZAF",
        {"name": "Neutron instruments", "slug": "instruments", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    pool: dict[str, int] = {}
    for key, (name, shifts) in INSTRUMENTS.items():
        pool[key] = office.post(res, {
            "name": name, "unit": "shift", "amount": shifts, "slot_hours": 8,
            "period_start": "2027-04-01", "period_end": "2027-04-30"})["id"]  # fmt: skip
    pool["travel"] = office.post(res, {
        "name": "Travel support", "unit": "eur", "unit_labels": EUR, "whole_units": True,
        "amount": FUND})["id"]  # fmt: skip

    slug = "ness-2027a"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    call = {"provider": "ness", "facility": "instruments", "slug": slug, "code": "NS27",
            "cycle": "2027A", "title": "Neutron beam time 2027A", "anonymity": "single",
            "offer_all_pools": True,
            "opens_at": (now - dt.timedelta(days=1)).isoformat(),
            "closes_at": (now + dt.timedelta(days=30)).isoformat(),
            "allocation_policy": {"award_mode": "whole", "resource_limits": {
                str(pool["travel"]): TRAVEL_LIMITS}}}  # fmt: skip
    # an approval asked for a hazard class the call does not name: refused, nothing made
    bad = {**SAFETY, "approval_required": ["biological", "explosive"]}
    r = office.post("/api/v1/calls", {**call, "review_settings": bad}, status=400)
    assert "explosive" in r["detail"], r
    with web.factory() as s:
        assert s.scalar(select(Call).where(Call.slug == slug)) is None
    office.post("/api/v1/calls", {**call, "review_settings": {
        "reviewers_per_proposal": 2, "max_load": 40, **SAFETY}})  # fmt: skip
    with web.factory() as s:
        made = s.scalar(select(Call).where(Call.slug == slug))
        assert made is not None
        assert made.review_settings["approval_required"] == ["biological", "radioactive"]
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    reviewers = []
    for address, name, iso3 in [("n1@panel.example", "Crystallographer", "FRA"),
                                ("n2@panel.example", "Soft-matter physicist", "ARG")]:  # fmt: skip
        reviewers.append(account(web, address, name, country_iso3=iso3,
                                 institution=f"Institute of {name}"))  # fmt: skip
        office.post("/api/v1/providers/ness/roles", {"email": address, "role": "reviewer"})
    officer = account(web, "safety@ness.example", "Safety Officer", country_iso3="ZAF")
    office.post("/api/v1/providers/ness/roles",
                {"email": "safety@ness.example", "role": "technical_reviewer"})  # fmt: skip

    code_of: dict[str, str] = {}
    pid_of: dict[str, int] = {}
    for i, (iso3, shifts, travel, _hazard, _decision) in enumerate(TEAMS):
        ac = account(web, f"pi{i}@uni.example", f"PI of {iso3}", country_iso3=iso3,
                     institution=f"University of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Magnetic order in new materials ({iso3})",
            "abstract": "Neutron scattering.", "science_case": "Spin waves."})["id"]  # fmt: skip
        if iso3 == "ETH":  # a co-investigator from Kenya joins the team
            ac.post(f"/api/v1/proposals/{pid}/members", {
                "version": ac.get(f"/api/v1/proposals/{pid}/full")["version"],
                "email": "coi@uni.example", "name": "Co-investigator", "institution": "UoN",
                "country_iso3": "KEN"})  # fmt: skip
            coi = account(web, "coi@uni.example", "Co-investigator", country_iso3="KEN",
                          institution="UoN")  # fmt: skip
            invitation = coi.get("/api/v1/team-invitations")[0]["id"]
            coi.post(f"/api/v1/team-invitations/{invitation}/answer", {"accept": True})
        for key, n in shifts.items():  # several instruments in one proposal
            _ask(ac, pid, pool[key], n)
        if travel:
            _ask(ac, pid, pool["travel"], travel)
        code_of[iso3] = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]
        pid_of[iso3] = pid

    close_and_assign(web, office, slug)
    # the safety officer's list: every proposal, none reviewed yet
    listed = officer.get(f"/api/v1/safety/calls/{slug}", limit=50)["items"]
    assert {it["code"] for it in listed} == set(code_of.values())
    assert all(it["hazard_class"] is None for it in listed)
    # a hazard class the call does not name is refused, naming the classes; nothing kept
    eth = f"/api/v1/safety/proposals/{pid_of['ETH']}"
    r = officer.post(eth, {"hazard_class": "explosive", "decision": "pending"}, status=400)
    assert "explosive" in r["detail"] and "radioactive" in r["detail"], r
    assert officer.get(eth)["hazard_class"] is None
    for iso3, _s, _t, hazard, decision in TEAMS:
        out = officer.post(f"/api/v1/safety/proposals/{pid_of[iso3]}", {
            "hazard_class": hazard, "decision": decision,
            "notes_to_applicants": "Sealed sources are not accepted on TAS."
            if decision == "refused" else ""})  # fmt: skip
        assert out["needs_approval"] == (hazard in SAFETY["approval_required"]), out
    # the panel prefers the refused sample to every other
    give_reviews(reviewers, lambda a, k: 5.0 if a["proposal_code"] == code_of["NGA"]
                 else 3.0 + ((a["id"] + k) % 3) * 0.5)  # fmt: skip
    calibrate_to_schedule(web, office, slug)

    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    refused = decisions[code_of["NGA"]]
    assert refused["outcome"] != "awarded" and "safety review" in str(refused), refused
    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=100)["items"]
    awarded = {a["proposal_code"] for a in awards}
    assert code_of["NGA"] not in awarded and code_of["PAK"] in awarded, awards
    for key, (name, shifts) in INSTRUMENTS.items():
        assert sum(a["amount"] for a in awards if a["pool_id"] == pool[key]) <= shifts, name
    travel = [a for a in awards if a["pool_id"] == pool["travel"]]
    assert travel and sum(a["amount"] for a in travel) <= FUND
    assert all(a["amount"] <= PER_PROPOSAL for a in travel), travel
    # two travellers from eligible countries: EUR 5,200 within 2 x 3,000; one traveller
    # asking 6,000 and a team from an upper-middle-income country: no travel support, and
    # their decisions say why (their instruments are awarded)
    travelled = {a["proposal_code"]: a["amount"] for a in travel}
    assert travelled == {code_of["ETH"]: 5_200, code_of["PAK"]: 2_900}, travelled
    assert (
        income["ETH"] == "low"
        and income["KEN"] == "lower-middle"
        and income["BRA"] == "upper-middle"
    )
    assert {code_of["IND"], code_of["BRA"]} <= awarded, awards
    said = str(decisions[code_of["IND"]])
    assert "per team member" in said and "1 counted" in said, said
    said = str(decisions[code_of["BRA"]])
    assert "low, lower-middle" in said, said

    # the award is not final while a biological sample awaits the officer's approval
    r = office.post(f"/api/v1/calls/{slug}/release", status=400)
    assert code_of["PAK"] in r["detail"] and "safety" in r["detail"], r
    with web.factory() as s:
        row = s.scalar(select(Call).where(Call.slug == slug))
        assert row is not None and row.decisions_released_at is None
    # the officer approves it on the page, in French
    fr = signed_in(web, "safety@ness.example", "fr")
    assert f'href="/technical/calls/{slug}/safety"' in fr.get("/review").text
    listing = text_of(fr.get(f"/technical/calls/{slug}/safety").text)
    assert "Revues de sécurité" in listing and code_of["PAK"] in listing, listing[:3000]
    page = fr.get(f"/technical/proposals/{pid_of['PAK']}/safety")
    assert "Revue de sécurité" in text_of(page.text), text_of(page.text)[:3000]
    form = {"hazard_class": "biological", "decision": "approved", "notes_to_panel": "",
            "notes_to_applicants": "BSL-2 sample environment booked.",
            "csrf_token": csrf(fr, f"/technical/proposals/{pid_of['PAK']}/safety")}  # fmt: skip
    saved = fr.post(f"/technical/proposals/{pid_of['PAK']}/safety", data=form,
                    follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303, text_of(saved.text)[:3000]
    assert officer.get(f"/api/v1/safety/proposals/{pid_of['PAK']}")["decision"] == "approved"

    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    # the call's published policy says the gate
    policy = text_of(web.client().get(f"/calls/{slug}/awarded").text)
    assert "safety review" in policy and "radioactive" in policy, policy[:4000]
    assert "Travel support: at most 3,000 euros per team member" in policy, policy[:4000]
    assert "Low income, Lower-middle income" in policy, policy[:4000]
    # the team refused travel support reads why, in French and in euros
    out = signed_in(web, "pi2@uni.example", "fr").get(f"/proposals/{pid_of['IND']}/outcome")
    said = text_of(out.text)
    assert "par membre de l’équipe" in said and "3 000 euros" in said, said[:3000]
    # the refused team reads why
    out = signed_in(web, "pi1@uni.example").get(f"/proposals/{pid_of['NGA']}/outcome")
    assert "Sealed sources are not accepted" in text_of(out.text), text_of(out.text)[:3000]

    # the outcomes report: the travel support by income group equals the awards
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows = [
        r
        for r in report["funnels"]["income_group"]
        if r["stage"] == "awarded" and r["group"] != "all"
    ]
    assert sum(r["amounts"].get("eur", 0) for r in rows) == pytest.approx(
        sum(a["amount"] for a in travel)
    ), rows
