"""A distributed instrument network, set up by its operator through the JSON API on a
fresh install: twelve sequencers in eight countries, each node a resource of its own on
its site's clock (sequencer days from 08:00 local: Nairobi, Lagos, Cape Town, Bengaluru
(UTC+05:30), Kathmandu (UTC+05:45), Hanoi, São Paulo, Lima).

An applicant asks for days at a named node, or at "any node": then they list the nodes
they would go to, the nearest (cheapest to travel to) first, under a policy of one award
per PI, so they get one node and the nearest that has room. Review, allocation,
schedule, release and publication; each booking is checked on its node's own clock (the
schedule CSV, the team's calendar file), and the who-benefits figures are checked per node
against the awards. A role on the call covers every node; a node's own staff are given
its resources as node staff (tests/api/test_isotope_network_journey.py, docs/operators.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

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

# node: (country, time zone, region)
NODES = {
    "Nairobi 1": ("KEN", "Africa/Nairobi", "Africa"),
    "Nairobi 2": ("KEN", "Africa/Nairobi", "Africa"),
    "Lagos": ("NGA", "Africa/Lagos", "Africa"),
    "Cape Town 1": ("ZAF", "Africa/Johannesburg", "Africa"),
    "Cape Town 2": ("ZAF", "Africa/Johannesburg", "Africa"),
    "Bengaluru 1": ("IND", "Asia/Kolkata", "Asia"),
    "Bengaluru 2": ("IND", "Asia/Kolkata", "Asia"),
    "Kathmandu": ("NPL", "Asia/Kathmandu", "Asia"),
    "Hanoi": ("VNM", "Asia/Ho_Chi_Minh", "Asia"),
    "Sao Paulo 1": ("BRA", "America/Sao_Paulo", "Americas"),
    "Sao Paulo 2": ("BRA", "America/Sao_Paulo", "Americas"),
    "Lima": ("PER", "America/Lima", "Americas"),
}
PERIOD = ("2028-06-05", "2028-06-08")  # four sequencer days at every node
DAYS = 4
# (country, region, days, a named node or None for any node)
APPLICANTS = [
    ("KEN", "Africa", 2, None), ("UGA", "Africa", 3, None), ("ETH", "Africa", 2, "Nairobi 1"),
    ("NGA", "Africa", 4, "Lagos"), ("GHA", "Africa", 3, None), ("ZAF", "Africa", 2, None),
    ("IND", "Asia", 3, None), ("BGD", "Asia", 2, None), ("NPL", "Asia", 4, "Kathmandu"),
    ("VNM", "Asia", 2, "Hanoi"), ("LAO", "Asia", 3, None), ("BRA", "Americas", 3, None),
    ("PER", "Americas", 2, "Lima"), ("BOL", "Americas", 4, None), ("MEX", "Americas", 2, None),
    ("DEU", "Europe", 3, None),
]  # fmt: skip


def nodes_for(region: str) -> list[str]:
    """Any node: those of the applicant's region first (cheaper to reach), then the rest
    of the network (a European applicant: any)."""
    near = [n for n, (_c, _z, r) in NODES.items() if r == region]
    return near + [n for n in NODES if n not in near]


def test_a_sequencer_network_books_each_node_on_its_own_clock(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        countries = {c.iso3: c for c in s.scalars(select(Country))}
    _admin, office, fac = open_facility(
        web, "seqnet", "Pan-Regional Sequencing Network", "KEN",
        {"name": "Sequencer network", "slug": "sequencers", "kind": "custom"},
        office_name="Network Office",
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    node_id: dict[str, int] = {}
    for name, (_iso3, zone, _region) in NODES.items():
        r = office.post(res, {"name": name, "unit": "day", "amount": DAYS,
                              "period_start": PERIOD[0], "period_end": PERIOD[1],
                              "slot_hours": 24, "day_start_hour": 8, "time_zone": zone})  # fmt: skip
        assert r["calendar"]["time_zone"] == zone and r["calendar"]["slot_capacity"] == DAYS, r
        start = dt.datetime.fromisoformat(r["calendar"]["starts_at"].replace("Z", "+00:00"))
        assert start.astimezone(ZoneInfo(zone)).hour == 8, (name, start)
        node_id[name] = r["id"]

    slug = "seqnet-2028"
    reviewers = open_call(web, office, {
        "provider": "seqnet", "facility": "sequencers", "slug": slug, "code": "SQ28",
        "cycle": "2028", "title": "Sequencer days, June 2028"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [(f"genomics{i}@panel.example", f"Genomicist {i}", iso3)
         for i, iso3 in enumerate(["GBR", "AUS"])])  # fmt: skip

    pis: dict[str, tuple[int, Client, str]] = {}
    asked: dict[str, tuple[str, str, int, list[str]]] = {}
    for i, (iso3, region, days, named) in enumerate(APPLICANTS):
        address = f"pi{i}@labs.example"
        ac = account(web, address, f"Genomicist {iso3} {i}", country_iso3=iso3,
                     institution=f"Genome Lab of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Pathogen surveillance in {iso3}",
            "abstract": "Whole-genome sequencing of field isolates.",
            "science_case": "Outbreak tracking needs local sequencing."})  # fmt: skip
        pid = p["id"]
        wanted = [named] if named else nodes_for(region)[:4]
        for node in wanted:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
            ac.post(f"/api/v1/proposals/{pid}/requests", {
                "version": version, "kind": "custom", "pool_id": node_id[node],
                "details": {"amount": days}})  # fmt: skip
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        pis[p["code"]] = (pid, ac, address)
        asked[p["code"]] = (iso3, region, days, wanted)

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: one node per applicant, all the days asked, within each node's days;
    # an "any node" applicant at the nearest of their list that had room
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    node_of: dict[str, str] = {}
    used: dict[str, float] = defaultdict(float)
    for a in awards:
        assert a["unit"] == "day" and a["proposal_code"] not in node_of, a
        node_of[a["proposal_code"]] = a["pool"]
        used[a["pool"]] += a["amount"]
        assert a["amount"] == asked[a["proposal_code"]][2], a
    assert all(v <= DAYS for v in used.values()), used
    for code, node in node_of.items():
        wanted = asked[code][3]
        assert node in wanted, (code, node)
        for better in wanted[: wanted.index(node)]:  # a nearer node was full
            assert used[better] + asked[code][2] > DAYS, (code, node, better, used)
    assert len({NODES[n][0] for n in node_of.values()}) >= 5, node_of

    # ---- the schedule: each booked day starts 08:00 on its node's clock
    staff = signed_in(web, "office@seqnet.example")
    r = staff.get(f"/manage/calls/{slug}/schedule?format=csv")
    assert r.status_code == 200, r.text[:500]
    rows = [x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if x["start"]]
    assert len(rows) == int(sum(used.values()))
    for x in rows:
        node = node_of[x["proposal"]]
        assert x["time_zone"] == NODES[node][1], (x, node)
        assert x["local_start"][11:16] == "08:00", x

    # the team's calendar file: its days on its node's clock
    for code in sorted(node_of)[:3]:
        pid, _ac, address = pis[code]
        ics = signed_in(web, address).get(f"/proposals/{pid}/slots.ics")
        assert ics.status_code == 200
        zone = NODES[node_of[code]][1]
        assert f"TZID={zone}" in ics.text, (code, zone)
        events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
        assert len(events) == asked[code][2]
        for ev in events:
            assert ev.decoded("dtstart").astimezone(ZoneInfo(zone)).hour == 8

    # the team's slots page: each day in UTC and on the node's clock
    code = sorted(node_of)[0]
    pid, _ac, address = pis[code]
    page = signed_in(web, address).get(f"/proposals/{pid}/slots").text
    # (as trialapp16 writes times: the reader's language, the zone named)
    assert len(re.findall(r"\b8:00\sAM \(", page)) >= asked[code][2], page[:3000]

    # ---- who benefits, per node: awarded days and applications by income group, at
    # each node, matching the awards
    income = {k: c.income_group for k, c in countries.items()}
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["day"]
    rows = [r for r in report["resources"] if r["grouping"] == "income_group"]
    got = {(r["resource"], r["group"]): r for r in rows}
    for node in NODES:
        asking = sum(1 for c in asked if node in asked[c][3])
        if not asking:  # a node nobody asked for has no rows
            assert (node, "all") not in got
            continue
        want: dict[str, float] = defaultdict(float)
        n: dict[str, int] = defaultdict(int)
        for code, at in node_of.items():
            if at == node:
                want[income[asked[code][0]]] += asked[code][2]
                n[income[asked[code][0]]] += 1
        assert got[node, "all"]["amount_awarded"] == used[node], (node, got[node, "all"])
        assert got[node, "all"]["unit"] == "day"
        for group, amount in want.items():
            assert got[node, group]["amount_awarded"] == amount, (node, group)
            assert got[node, group]["awarded"] == n[group], (node, group)
        assert got[node, "all"]["applied"] == asking, (node, got[node, "all"])
    # an "any node" application asked for its days once, not once per node it listed
    # (mend9b): the awarded's requested days are each one's days, by income group
    awarded_rows = {r["group"]: r for r in report["funnels"]["income_group"]
                    if r["stage"] == "awarded"}  # fmt: skip
    assert any(len(asked[c][3]) > 1 for c in node_of)
    assert awarded_rows["all"]["amounts_requested"]["day"] == sum(asked[c][2] for c in node_of)
    for group in {income[asked[c][0]] for c in node_of}:
        want_days = sum(asked[c][2] for c in node_of if income[asked[c][0]] == group)
        assert awarded_rows[group]["amounts_requested"]["day"] == want_days, group
    ldc_rows = {(r["resource"], r["group"]): r for r in report["resources"]
                if r["grouping"] == "ldc"}  # fmt: skip
    kathmandu = sum(asked[c][2] for c, at in node_of.items() if at == "Kathmandu"
                    and countries[asked[c][0]].ldc)  # fmt: skip
    assert kathmandu > 0 and ldc_rows["Kathmandu", "LDC"]["amount_awarded"] == kathmandu
    # and on the report page, in the reader's words
    page = text_of(staff.get(f"/manage/calls/{slug}/report").text)
    assert "Kathmandu" in page and "Lima" in page, page[:3000]
