"""A joint call of two providers, set up from nothing through the JSON API: a marine
institute (its research vessel's ship days and ROV dives) and a university's sediment
lab (core-scanning days, on its own clock) pool their capacity in one call.

The call belongs to the institute, which invites the university as a partner; the
university's office accepts (nothing of the university's is offered before), and the
call then offers the lab's days beside the ship's. Applicants from several countries and
income groups ask for either or both; the cycle reviews, allocates and schedules on each
provider's calendars. Afterwards the university's office and its lab technician (node
staff) read and record the awards and bookings of the lab alone, by proposal code (never
an applicant's name), and each provider's figures are read apart. Withdrawing the
partner once its resources are offered is refused with a clear message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import Client, account, open_facility, signed_in
from tests.web.conftest import Web, csrf

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SLUG = "joint-2028"
PERIOD = ("2028-03-06", "2028-03-15")  # ten days on the ship and at the lab
# (country, what is asked: {resource: days or dives})
APPLICANTS = [
    ("MOZ", {"Ship days": 2, "Core scanning": 2}),
    ("KEN", {"Ship days": 3}),
    ("VNM", {"Core scanning": 3}),
    ("BRA", {"Ship days": 2, "ROV dives": 2}),
    ("DEU", {"Core scanning": 2}),
    ("NPL", {"Core scanning": 1}),
    ("PER", {"Ship days": 1, "Core scanning": 1}),
]
LAB_ZONE = "Africa/Nairobi"
SHIP_ZONE = "Asia/Shanghai"


@dataclass
class Joint:
    ocean: Client  # the institute's office (the call's owner)
    uni: Client  # the university's office (the partner)
    tech: Client  # the lab's technician (node staff of the university)
    res: dict[str, int]  # resource name -> id
    asked: dict[str, dict[str, int]] = field(default_factory=dict)  # code -> asked
    country: dict[str, str] = field(default_factory=dict)  # code -> iso3
    names: list[str] = field(default_factory=list)  # the applicants' names


def resource(office: Client, fac: dict[str, Any], name: str, unit: str, **kw: Any) -> int:
    return int(
        office.post(
            f"/api/v1/facilities/{fac['id']}/resources",
            {
                "name": name,
                "unit": unit,
                "amount": 10,
                "period_start": PERIOD[0],
                "period_end": PERIOD[1],
                **kw,
            },
        )["id"]  # fmt: skip
    )


def two_providers(web: Web) -> tuple[Client, Client, Client, dict[str, int]]:
    """The institute (ship days and ROV dives) and the university (core scanning), each
    with its office; the university's lab technician is node staff of the lab."""
    _a1, ocean, ship = open_facility(
        web, "ocean", "Marine Institute", "CHN",
        {"name": "R/V Explorer", "slug": "explorer", "kind": "custom"},
    )  # fmt: skip
    _a2, uni, lab = open_facility(
        web, "sedlab", "Coastal University", "KEN",
        {"name": "Sediment core lab", "slug": "cores", "kind": "custom"},
    )  # fmt: skip
    res = {
        "Ship days": resource(
            ocean, ship, "Ship days", "day", slot_hours=24, time_zone=SHIP_ZONE
        ),  # fmt: skip
        "ROV dives": resource(ocean, ship, "ROV dives", "dive"),
        "Core scanning": resource(
            uni,
            lab,
            "Core scanning",
            "day",
            slot_hours=24,
            day_start_hour=8,
            time_zone=LAB_ZONE,
            record_kinds=["shipment", "other"],
        ),  # fmt: skip
    }
    tech = account(web, "tech@uni-ke.example", "Lab technician", country_iso3="KEN")
    uni.post("/api/v1/providers/sedlab/node-staff",
             {"email": "tech@uni-ke.example", "resources": [res["Core scanning"]]})  # fmt: skip
    return ocean, uni, tech, res


def draft_call(ocean: Client) -> dict[str, Any]:
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return ocean.post("/api/v1/calls", {
        "provider": "ocean", "facility": "explorer", "slug": SLUG, "code": "JT28",
        "cycle": "2028", "title": "Joint ship and core-lab time, March 2028",
        "anonymity": "single", "allocation_policy": {"award_mode": "whole"},
        "offer_all_pools": True,
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40}})  # fmt: skip


def offered(client: Client) -> set[str]:
    return {p["name"] for p in client.get(f"/api/v1/calls/{SLUG}")["pools"]}


def partner_up(ocean: Client, uni: Client, res: dict[str, int]) -> None:
    """The invitation, the refusals before acceptance, the acceptance and the offer."""
    lab = res["Core scanning"]
    # not a partner yet: the lab cannot be offered
    r = ocean.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": lab}, status=400)
    assert "partner" in r["detail"], r
    # the partner's office has no say in the call before it is invited
    uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept", status=404)
    inv = ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    assert (inv["provider"], inv["status"]) == ("sedlab", "invited"), inv
    # invited twice, or the owner itself, or nobody: refused, nothing changes
    for body, words in (({"provider": "sedlab"}, "already"), ({"provider": "ocean"}, "own"),
                        ({"provider": "nobody"}, "no provider")):  # fmt: skip
        r = ocean.post(f"/api/v1/calls/{SLUG}/partners", body, status=400)
        assert words in r["detail"], r
    # invited but not accepted: still nothing of the university's is offered
    r = ocean.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": lab}, status=400)
    assert "not accepted" in r["detail"], r
    assert offered(ocean) == {"Ship days", "ROV dives"}
    # the owner cannot accept for the partner; the partner cannot offer in the call
    ocean.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept", status=404)
    uni.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": lab}, status=404)
    # the partner's office sees the invitation and accepts it
    listed = uni.get(f"/api/v1/calls/{SLUG}/partners")["items"]
    assert [(p["provider"], p["status"]) for p in listed] == [("sedlab", "invited")]
    acc = uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept")
    assert acc["status"] == "accepted" and acc["accepted_at"], acc
    # the owner's offers may now take the lab's days; never another provider's
    ocean.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": lab})
    assert offered(ocean) == {"Ship days", "ROV dives", "Core scanning"}


def build_joint(web: Web) -> Joint:
    ocean, uni, tech, res = two_providers(web)
    draft_call(ocean)
    partner_up(ocean, uni, res)
    ocean.post(f"/api/v1/calls/{SLUG}/transition", {"target": "open"})
    reviewers = []
    for i, iso3 in enumerate(["FRA", "CHL", "IND"]):
        address = f"rev{i}@panel.example"
        reviewers.append(account(web, address, f"Marine geologist {i}", country_iso3=iso3,
                                 institution=f"Institute {iso3}"))  # fmt: skip
        ocean.post("/api/v1/providers/ocean/roles", {"email": address, "role": "reviewer"})
    joint = Joint(ocean, uni, tech, res)
    for i, (iso3, asks) in enumerate(APPLICANTS):
        name = f"Oceanographer {iso3} Zed{i}"
        ac = account(web, f"pi{i}@sea.example", name, country_iso3=iso3,
                     institution=f"Marine Lab of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": SLUG, "title": f"Sediment records off {iso3}",
            "abstract": "Cores and dives.", "science_case": "Past climate from cores."})  # fmt: skip
        for name_, amount in asks.items():
            version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
            ac.post(f"/api/v1/proposals/{p['id']}/requests", {
                "version": version, "kind": "custom", "pool_id": res[name_],
                "details": {"amount": amount}})  # fmt: skip
        p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
        joint.asked[p["code"]] = asks
        joint.country[p["code"]] = iso3
        joint.names.append(name)
    review_and_publish(web, ocean, SLUG, reviewers)
    return joint


def test_a_joint_call_of_two_providers_through_the_api(web: Web, one_loop: None) -> None:
    j = build_joint(web)
    lab = j.res["Core scanning"]
    # ---- allocation across both providers: every award within each resource
    awards = j.ocean.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
    used: dict[str, float] = defaultdict(float)
    for a in awards:
        used[a["resource"]] += a["amount"]
        assert a["amount"] == j.asked[a["proposal_code"]][a["resource"]], a
    assert set(used) == {"Ship days", "ROV dives", "Core scanning"}, used
    assert all(v <= 10 for v in used.values()), used
    # ---- scheduling on each provider's calendar: the lab's days at 08:00 in Nairobi
    booked = j.ocean.get(f"/api/v1/calls/{SLUG}/node/bookings", limit=200)["items"]
    by_res: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in booked:
        by_res[b["resource"]].append(b)
    assert {b["time_zone"] for b in by_res["Core scanning"]} == {LAB_ZONE}
    assert {b["local_start"][11:16] for b in by_res["Core scanning"]} == {"08:00"}
    assert {b["time_zone"] for b in by_res["Ship days"]} == {SHIP_ZONE}
    assert len(by_res["Core scanning"]) == used["Core scanning"]

    # ---- the partner's office and its technician: the lab's awards and bookings alone
    lab_awards = sorted(a["award_id"] for a in awards if a["resource"] == "Core scanning")
    for client in (j.uni, j.tech):
        mine = client.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
        assert sorted(a["award_id"] for a in mine) == lab_awards
        theirs = client.get(f"/api/v1/calls/{SLUG}/node/bookings", limit=200)["items"]
        assert {b["resource_id"] for b in theirs} == {lab}
        assert len(theirs) == len(by_res["Core scanning"])
        raw = client.http.get(f"/api/v1/calls/{SLUG}/node/awards", headers=client.headers)
        assert not [n for n in j.names if n in raw.text], "an applicant named to the partner"
        # the call-wide lists of the owner's office stay closed to the partner
        for path in (f"/api/v1/calls/{SLUG}/decisions", f"/api/v1/calls/{SLUG}/schedule",
                     f"/api/v1/calls/{SLUG}/report", f"/api/v1/calls/{SLUG}/postaward"):  # fmt: skip
            r = client.http.get(path, headers=client.headers)
            assert r.status_code == 404, (path, r.status_code)
    # the partner's node page: the lab's awards alone, by code
    page = signed_in(web, "office@sedlab.example").get(f"/node/calls/{SLUG}")
    assert page.status_code == 200
    lab_codes = {a["proposal_code"] for a in awards if a["resource"] == "Core scanning"}
    assert {c for c in j.asked if c in page.text} == lab_codes
    assert not [n for n in j.names if n in page.text]
    # the technician records a core shipment that reached the lab; a ship award is 404
    rec = j.tech.post(f"/api/v1/calls/{SLUG}/node/awards/{lab_awards[0]}/records", {
        "kind": "shipment", "data": {"description": "4 gravity cores"}})  # fmt: skip
    assert rec["award_id"] == lab_awards[0]
    ship_award = next(a["award_id"] for a in awards if a["resource"] == "Ship days")
    j.uni.post(f"/api/v1/calls/{SLUG}/node/awards/{ship_award}/records",
               {"kind": "shipment", "data": {"description": "forged"}}, status=404)  # fmt: skip

    # ---- each provider's figures, read apart: offered, awarded, bookings, records
    figures = j.ocean.get(f"/api/v1/calls/{SLUG}/node/providers")["items"]
    assert [(f["provider"], f["role"]) for f in figures] == [
        ("ocean", "owner"), ("sedlab", "partner")]  # fmt: skip
    got = {(f["provider"], r["name"]): r for f in figures for r in f["resources"]}
    assert set(got) == {("ocean", "Ship days"), ("ocean", "ROV dives"),
                        ("sedlab", "Core scanning")}  # fmt: skip
    for (_prov, name), row in got.items():
        assert row["offered"] == 10 and row["awarded"] == used[name], row
        assert row["awards"] == sum(1 for a in awards if a["resource"] == name)
        assert row["bookings"] == len(by_res[name])
    assert got["sedlab", "Core scanning"]["records"] == 1
    assert got["ocean", "Ship days"]["records"] == 0
    # the partner reads its own provider's figures alone
    own = j.uni.get(f"/api/v1/calls/{SLUG}/node/providers")["items"]
    assert [f["provider"] for f in own] == ["sedlab"]
    assert own[0]["resources"] == figures[1]["resources"]

    # ---- who applied and who was awarded, by income group, in the owner's report
    report = j.ocean.get(f"/api/v1/calls/{SLUG}/report")
    with web.factory() as s:
        income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
    rows = {(r["resource"], r["group"]): r for r in report["resources"]
            if r["grouping"] == "income_group"}  # fmt: skip
    want: dict[tuple[str, str], float] = defaultdict(float)
    for a in awards:
        want[a["resource"], income[j.country[a["proposal_code"]]]] += a["amount"]
    for key, amount in want.items():
        assert rows[key]["amount_awarded"] == amount, key
    assert len({g for _r, g in want}) >= 3, want

    # ---- withdrawing the partner while its lab is offered: refused, nothing changes
    for client in (j.ocean, j.uni):
        r = client.send("DELETE", f"/api/v1/calls/{SLUG}/partners/sedlab", status=400)
        assert "Core scanning" in r["detail"] and "offer" in r["detail"], r
    listed = j.ocean.get(f"/api/v1/calls/{SLUG}/partners")["items"]
    assert [(p["provider"], p["status"]) for p in listed] == [("sedlab", "accepted")]


def test_a_partner_withdraws_before_anything_is_offered(web: Web) -> None:
    ocean, uni, _tech, res = two_providers(web)
    draft_call(ocean)
    ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    # the partner declines the invitation: it is gone, and its lab cannot be offered
    uni.send("DELETE", f"/api/v1/calls/{SLUG}/partners/sedlab")
    assert ocean.get(f"/api/v1/calls/{SLUG}/partners")["items"] == []
    r = ocean.post(f"/api/v1/calls/{SLUG}/pools", {"pool_id": res["Core scanning"]}, status=400)
    assert "partner" in r["detail"], r
    # invited and accepted again, then withdrawn by the owner before any offer
    ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept")
    uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept", status=400)  # already
    ocean.send("DELETE", f"/api/v1/calls/{SLUG}/partners/sedlab")
    assert ocean.get(f"/api/v1/calls/{SLUG}/partners")["items"] == []
    # a partner's office sees nothing of a call it is not (or no longer) part of
    r = uni.http.get(f"/api/v1/calls/{SLUG}/partners", headers=uni.headers)
    assert r.status_code == 404


def test_the_cockpit_offers_an_accepted_partners_resources(web: Web) -> None:
    """The owner's cockpit lists the partner's resources once it accepted (named with
    their facility), and its form offers them; before, the page refuses them."""
    ocean, uni, _tech, res = two_providers(web)
    draft_call(ocean)
    browser = signed_in(web, "office@ocean.example")
    lab = res["Core scanning"]
    ocean.post(f"/api/v1/calls/{SLUG}/partners", {"provider": "sedlab"})
    page = browser.get(f"/manage/calls/{SLUG}")
    assert page.status_code == 200 and "Core scanning" not in page.text
    r = browser.post(f"/manage/calls/{SLUG}/pools",
                     data={"csrf_token": csrf(browser), "pool_id": str(lab)})  # fmt: skip
    assert r.status_code == 404
    uni.post(f"/api/v1/calls/{SLUG}/partners/sedlab/accept")
    page = browser.get(f"/manage/calls/{SLUG}")
    assert "Sediment core lab: Core scanning" in unescape(page.text), page.text[:3000]
    r = browser.post(f"/manage/calls/{SLUG}/pools",
                     data={"csrf_token": csrf(browser), "pool_id": str(lab)})  # fmt: skip
    assert r.status_code == 303, r.text[:2000]
    assert offered(ocean) == {"Ship days", "ROV dives", "Core scanning"}
