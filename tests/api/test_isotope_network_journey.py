"""A network of stable-isotope labs run by three universities (Nairobi, Accra, Lima), set
up from nothing through the JSON API: each lab is a resource of its own (instrument days
on its own clock), applicants ship their samples to the lab that measures them, and each
lab's staff are given the lab's resources alone (``node-staff``), not a role on the call.

After the cycle, a lab's staff read their lab's awards, bookings and shipments (the JSON
API and the CSV export), record the shipments that reach them, and nothing of the other
labs: another lab's award, booking or record is 404 to them, as are the call-wide pages
and lists of the user office. The network's office (provider_admin) still sees every lab.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import Client, account, open_call, open_facility, signed_in
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

# lab: (country, time zone)
LABS = {
    "Nairobi IRMS": ("KEN", "Africa/Nairobi"),
    "Accra IRMS": ("GHA", "Africa/Accra"),
    "Lima IRMS": ("PER", "America/Lima"),
}
PERIOD = ("2028-03-06", "2028-03-10")  # five instrument days at every lab
# (country, lab, days)
APPLICANTS = [
    ("UGA", "Nairobi IRMS", 2), ("TZA", "Nairobi IRMS", 2), ("NGA", "Accra IRMS", 2),
    ("SEN", "Accra IRMS", 1), ("BOL", "Lima IRMS", 2), ("ECU", "Lima IRMS", 3),
]  # fmt: skip
SLUG = "isonet-2028"


@dataclass
class Network:
    office: Client
    lab_id: dict[str, int]
    staff: dict[str, Client]  # lab -> its staff's client
    staff_email: dict[str, str]
    lab_of: dict[str, str] = field(default_factory=dict)  # proposal code -> lab
    pid: dict[str, int] = field(default_factory=dict)  # proposal code -> id


def build_network(web: Web) -> Network:
    """The operator's set-up (facility, labs, node staff, call), the applicants, and the
    cycle up to publication."""
    _admin, office, fac = open_facility(
        web, "isonet", "Isotope Lab Network", "KEN",
        {"name": "Stable-isotope labs", "slug": "irms", "kind": "custom"},
        office_name="Network Office",
    )  # fmt: skip
    lab_id: dict[str, int] = {}
    for name, (_iso3, zone) in LABS.items():
        r = office.post(f"/api/v1/facilities/{fac['id']}/resources", {
            "name": name, "unit": "day", "amount": 5, "period_start": PERIOD[0],
            "period_end": PERIOD[1], "slot_hours": 24, "day_start_hour": 8, "time_zone": zone,
            "record_kinds": ["shipment", "other"]})  # fmt: skip
        lab_id[name] = r["id"]
    # each lab's own staff, at its own university, given their lab's resource alone
    staff: dict[str, Client] = {}
    staff_email: dict[str, str] = {}
    for name, (iso3, _zone) in LABS.items():
        address = f"lab-{iso3.lower()}@uni-{iso3.lower()}.example"
        staff[name] = account(web, address, f"Lab manager {iso3}", country_iso3=iso3,
                              institution=f"University of {iso3}")  # fmt: skip
        staff_email[name] = address
        given = office.post("/api/v1/providers/isonet/node-staff",
                            {"email": address, "resources": [lab_id[name]]})  # fmt: skip
        assert [(g["email"], g["resource_id"]) for g in given["items"]] == [
            (address, lab_id[name])
        ], given
    listed = office.get("/api/v1/providers/isonet/node-staff")["items"]
    assert sorted((g["resource"], g["email"]) for g in listed) == sorted(
        (lab, staff_email[lab]) for lab in LABS
    )
    reviewers = open_call(web, office, {
        "provider": "isonet", "facility": "irms", "slug": SLUG, "code": "IS28",
        "cycle": "2028", "title": "Isotope lab days, March 2028"},
        {"award_mode": "whole"},
        [(f"iso{i}@panel.example", f"Geochemist {i}", iso3)
         for i, iso3 in enumerate(["FRA", "CHL"])])  # fmt: skip
    net = Network(office, lab_id, staff, staff_email)
    for i, (iso3, lab, days) in enumerate(APPLICANTS):
        ac = account(web, f"pi{i}@geo.example", f"Geochemist {iso3} {i}", country_iso3=iso3,
                     institution=f"Geology Dept of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": SLUG, "title": f"Groundwater recharge in {iso3}",
            "abstract": "d18O and d2H of well water.",
            "science_case": "Recharge ages from stable isotopes."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": lab_id[lab],
            "details": {"amount": days}})  # fmt: skip
        p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
        net.lab_of[p["code"]] = lab
        net.pid[p["code"]] = p["id"]
    review_and_publish(web, office, SLUG, reviewers)
    return net


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_each_lab_sees_and_records_its_own_awards_only(web: Web, one_loop: None) -> None:
    net = build_network(web)
    office = net.office
    awarded = {a["proposal_code"] for a in office.get(f"/api/v1/calls/{SLUG}/node/awards",
                                                      limit=200)["items"]}  # fmt: skip
    assert awarded, "nothing awarded"
    # the office sees every lab's awards and bookings
    every = office.get(f"/api/v1/calls/{SLUG}/node/bookings", limit=200)["items"]
    assert {b["resource"] for b in every} == {net.lab_of[c] for c in awarded}

    for lab, staff in net.staff.items():
        mine = staff.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
        assert mine and {a["resource"] for a in mine} == {lab}, (lab, mine)
        assert {a["proposal_code"] for a in mine} == {c for c in awarded if net.lab_of[c] == lab}
        booked = staff.get(f"/api/v1/calls/{SLUG}/node/bookings", limit=200)["items"]
        assert booked and {b["resource"] for b in booked} == {lab}, (lab, booked)
        assert {b["time_zone"] for b in booked} == {LABS[lab][1]}
        # the lab records the shipment of samples that reached it
        a = mine[0]
        rec = staff.post(f"/api/v1/calls/{SLUG}/node/awards/{a['award_id']}/records", {
            "kind": "shipment", "data": {"description": "120 water vials",
                                         "shipped_on": "2028-02-20"}})  # fmt: skip
        assert rec["kind"] == "shipment" and rec["award_id"] == a["award_id"]
        staff.send("PUT", f"/api/v1/calls/{SLUG}/node/records/{rec['id']}", {"data": {
            "description": "120 water vials", "shipped_on": "2028-02-20",
            "delivered_on": "2028-02-27", "customs_status": "cleared"}})  # fmt: skip
        again = staff.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
        got = next(x for x in again if x["award_id"] == a["award_id"])
        assert [r["data"]["delivered_on"] for r in got["records"]] == ["2028-02-27"]
        # the CSV export and the page: the lab's bookings and awards alone, in French too
        browser = signed_in(web, net.staff_email[lab])
        for lang, heading in (("en", "Your resources' awards"), ("fr", "Attributions sur vos")):
            html = signed_in(web, net.staff_email[lab], lang).get(f"/node/calls/{SLUG}")
            assert html.status_code == 200 and heading in unescape(html.text), html.text[:2000]
            shown = {c for c in net.lab_of if c in html.text}
            assert shown == {a["proposal_code"] for a in mine}, (lab, shown)
        r = browser.get(f"/node/calls/{SLUG}/bookings.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert {row["resource"] for row in csv_rows(r.text)} == {lab}
        assert len(csv_rows(r.text)) == len(booked)

    # the office sees the shipments the labs recorded
    seen = office.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
    assert sum(len(a["records"]) for a in seen) == len(LABS)
    r = signed_in(web, "office@isonet.example").get(f"/node/calls/{SLUG}/bookings.csv")
    assert r.status_code == 200 and len(csv_rows(r.text)) == len(every)


def _lab_items(net: Network, lab: str) -> dict[str, Any]:
    awards = net.office.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
    a = next(x for x in awards if x["resource"] == lab)
    return a


def test_one_lab_cannot_read_or_act_on_another_labs_items(web: Web, one_loop: None) -> None:
    net = build_network(web)
    nairobi, accra = net.staff["Nairobi IRMS"], net.staff["Accra IRMS"]
    theirs = _lab_items(net, "Nairobi IRMS")
    rec = nairobi.post(f"/api/v1/calls/{SLUG}/node/awards/{theirs['award_id']}/records", {
        "kind": "shipment", "data": {"description": "vials"}})  # fmt: skip
    # a kind the lab's resource does not take is refused
    bad = nairobi.post(f"/api/v1/calls/{SLUG}/node/awards/{theirs['award_id']}/records",
                       {"kind": "berth", "data": {}}, status=400)  # fmt: skip
    assert "does not fit" in bad["detail"], bad
    before = net.office.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
    assert sum(len(a["records"]) for a in before) == 1
    # Accra's staff: Nairobi's award and record are not found; nothing changes
    accra.post(f"/api/v1/calls/{SLUG}/node/awards/{theirs['award_id']}/records", {
        "kind": "shipment", "data": {"description": "forged"}}, status=404)  # fmt: skip
    accra.send("PUT", f"/api/v1/calls/{SLUG}/node/records/{rec['id']}",
               {"data": {"description": "changed"}}, status=404)  # fmt: skip
    assert net.office.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"] == before
    listed = accra.get(f"/api/v1/calls/{SLUG}/node/awards", limit=200)["items"]
    assert theirs["proposal_code"] not in {a["proposal_code"] for a in listed}
    booked = accra.get(f"/api/v1/calls/{SLUG}/node/bookings", limit=200)["items"]
    assert theirs["proposal_code"] not in {b["proposal_code"] for b in booked}
    # the call-wide lists, pages and exports of the office stay closed to a lab's staff
    pid = net.pid[theirs["proposal_code"]]
    for path in (f"/api/v1/calls/{SLUG}/schedule", f"/api/v1/calls/{SLUG}/postaward",
                 f"/api/v1/calls/{SLUG}/decisions", f"/api/v1/awards/{pid}"):  # fmt: skip
        r = accra.http.get(path, headers=accra.headers)
        assert r.status_code == 404, (path, r.status_code)
    browser = signed_in(web, net.staff_email["Accra IRMS"])
    page = signed_in(web, net.staff_email["Accra IRMS"]).get(f"/node/calls/{SLUG}")
    assert page.status_code == 200 and theirs["proposal_code"] not in page.text
    for path in (f"/manage/calls/{SLUG}/schedule", f"/manage/calls/{SLUG}/schedule?format=csv",
                 f"/manage/calls/{SLUG}/postaward", f"/awards/{pid}"):  # fmt: skip
        assert browser.get(path).status_code == 404, path
    # a lab's staff cannot give node roles, nor see who holds them
    accra.post("/api/v1/providers/isonet/node-staff",
               {"email": net.staff_email["Accra IRMS"], "resources": [net.lab_id["Nairobi IRMS"]]},
               status=404)  # fmt: skip
    r = accra.http.get("/api/v1/providers/isonet/node-staff", headers=accra.headers)
    assert r.status_code == 404
    # a node role taken back: the lab's staff see nothing more
    grants = net.office.get("/api/v1/providers/isonet/node-staff")["items"]
    gid = next(g["id"] for g in grants if g["email"] == net.staff_email["Nairobi IRMS"])
    net.office.send("DELETE", f"/api/v1/providers/isonet/node-staff/{gid}")
    r = nairobi.http.get(f"/api/v1/calls/{SLUG}/node/awards", headers=nairobi.headers)
    assert r.status_code == 404


def test_node_roles_refuse_bad_input_and_change_nothing(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "isonet", "Isotope Lab Network", "KEN",
        {"name": "Stable-isotope labs", "slug": "irms", "kind": "custom"},
    )  # fmt: skip
    lab = office.post(f"/api/v1/facilities/{fac['id']}/resources",
                      {"name": "Nairobi IRMS", "unit": "day", "amount": 5})  # fmt: skip
    account(web, "lab@uni.example", "Lab manager")
    # another provider's resource
    _a2, office2, fac2 = open_facility(
        web, "other", "Other Network", "GHA", {"name": "Labs", "slug": "labs", "kind": "custom"}
    )
    foreign = office2.post(f"/api/v1/facilities/{fac2['id']}/resources",
                           {"name": "Accra IRMS", "unit": "day", "amount": 5})  # fmt: skip
    for body, words in [
        ({"email": "nobody@uni.example", "resources": [lab["id"]]}, "account"),
        ({"email": "lab@uni.example", "resources": [foreign["id"]]}, "resource"),
        ({"email": "lab@uni.example", "resources": [987654]}, "resource"),
        ({"email": "lab@uni.example", "resources": []}, "resource"),
    ]:
        r = office.post("/api/v1/providers/isonet/node-staff", body, status=400)
        assert words in r["detail"].lower(), r
    assert office.get("/api/v1/providers/isonet/node-staff")["items"] == []
    # given twice: one grant
    office.post("/api/v1/providers/isonet/node-staff",
                {"email": "lab@uni.example", "resources": [lab["id"]]})  # fmt: skip
    again = office.post("/api/v1/providers/isonet/node-staff",
                        {"email": "lab@uni.example", "resources": [lab["id"]]})  # fmt: skip
    assert len(office.get("/api/v1/providers/isonet/node-staff")["items"]) == 1
    assert again["items"][0]["resource_id"] == lab["id"]
    # another provider's grant is not found through this provider's address, nor by its office
    (theirs,) = office2.post("/api/v1/providers/other/node-staff",
                             {"email": "lab@uni.example", "resources": [foreign["id"]]})["items"]  # fmt: skip
    office.send("DELETE", f"/api/v1/providers/isonet/node-staff/{theirs['id']}", status=404)
    office.send("DELETE", f"/api/v1/providers/other/node-staff/{theirs['id']}", status=404)
    assert len(office2.get("/api/v1/providers/other/node-staff")["items"]) == 1
