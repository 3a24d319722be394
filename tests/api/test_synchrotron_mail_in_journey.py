"""A synchrotron beamline in 8-hour shifts with on-site, remote and mail-in access, set up by
its operator through the JSON API on a fresh install (branch trialfac18).

The beamline (a light source in Amman, Asia/Amman) runs three shifts a day from 08:00 on
the site's clock over April 2027 and is down every Tuesday for maintenance (a weekly rule).
An experiment's shifts are one block: a sample environment, once mounted, stays until the
team is done, so the resource books each award in one unbroken run (`"unbroken": true`),
never across a Tuesday; a team asking for more shifts than the six days between two
Tuesdays hold is not awarded, and told why. The request form asks for the mode of access
(on site, remote, mail-in) and, for mail-in, the number of sample pucks. After the award,
each team's shifts are recorded as sessions, the mail-in teams' pucks as shipments; the
report counts the shifts awarded and the hours the teams observed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
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

AMMAN = ZoneInfo("Asia/Amman")
FIELDS: list[dict[str, Any]] = [
    {"key": "mode", "type": "choice", "required": True,
     "options": ["on_site", "remote", "mail_in"],
     "labels": {"en": "Mode of access", "zh": "使用方式", "fr": "Mode d'accès",
                "es": "Modo de acceso"}},
    {"key": "pucks", "type": "number", "integer": True, "min": 1, "max": 8,
     "labels": {"en": "Sample pucks mailed", "fr": "Rondelles d'échantillons envoyées"}},
]  # fmt: skip
# (country, shifts, mode): 18 shifts fit between two Tuesdays; 21 never do
TEAMS = [("JOR", 9, "on_site"), ("EGY", 6, "mail_in"), ("PAK", 12, "remote"),
         ("TUR", 9, "on_site"), ("CYP", 6, "remote"), ("IRN", 15, "on_site"),
         ("PSE", 3, "mail_in"), ("YEM", 6, "mail_in"), ("SDN", 21, "remote"),
         ("DEU", 12, "on_site"), ("ISR", 6, "remote")]  # fmt: skip


def test_a_beamline_books_unbroken_blocks_of_shifts_around_a_weekly_maintenance_day(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    _admin, office, fac = open_facility(
        web, "sesame", "Synchrotron Light Source", "JOR",
        {"name": "Beamlines", "slug": "beamlines", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    beamline = office.post(res, {
        "name": "XAFS/XRF beamline", "unit": "shift", "amount": 66,
        "period_start": "2027-04-01", "period_end": "2027-04-30", "slot_hours": 8,
        "day_start_hour": 8, "time_zone": "Asia/Amman", "unbroken": True,
        "request_fields": FIELDS, "record_kinds": ["session", "shipment"]})  # fmt: skip
    assert beamline["calendar"]["slot_capacity"] == 90
    # maintenance every Tuesday from 08:00 for 24 hours: four Tuesdays in April 2027
    cal = office.post(f"/api/v1/resources/{beamline['id']}/unavailable/rule", {
        "rule": "FREQ=WEEKLY;BYDAY=TU", "start_time": "08:00", "hours": 24,
        "reason": "maintenance"})  # fmt: skip
    assert cal["slot_capacity"] == 90 - 4 * 3

    slug = "xafs-2027"
    reviewers = open_call(web, office, {
        "provider": "sesame", "facility": "beamlines", "slug": slug, "code": "XA27",
        "cycle": "2027", "title": "XAFS/XRF beamtime, April 2027"},
        {"award_mode": "whole", "group_shares": [{"group": "ldc", "min_share": 0.2}]},
        [(f"xray{i}@panel.example", f"X-ray Scientist {i}", iso3)
         for i, iso3 in enumerate(["ITA", "GBR", "JPN"])])  # fmt: skip

    teams: dict[str, tuple[int, Client, str, int, str]] = {}
    for i, (iso3, shifts, mode) in enumerate(TEAMS):
        address = f"xafs{i}@users.example"
        ac = account(web, address, f"Spectroscopist {i}", country_iso3=iso3,
                     institution=f"Materials Institute {i}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Speciation of trace metals {i}", "abstract": "XANES.",
            "science_case": "Oxidation states in soils."})["id"]  # fmt: skip

        def ask(amount: float, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": beamline["id"],
                    "details": {"amount": amount, **details}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        form: dict[str, Any] = {"mode": mode, **({"pucks": 2} if mode == "mail_in" else {})}
        if i == 1:  # half a shift, nine pucks, an unknown mode: refused, nothing kept
            r = ask(1.5, status=400, **form)
            assert "1.5" in r["detail"] and "shifts" in r["detail"], r
            r = ask(3, status=400, mode="mail_in", pucks=9)
            assert "Sample pucks mailed" in r["detail"], r
            r = ask(3, status=400, mode="courier")
            assert "Mode of access" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full")["requests"] == []
        ask(shifts, **form)
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        teams[p["code"]] = (pid, ac, iso3, shifts, mode)

    review_and_publish(web, office, slug, reviewers)
    # ---- the 21-shift block is never awarded: no week between two Tuesdays holds it
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=200)["items"]}  # fmt: skip
    long_one = next(c for c, t in teams.items() if t[3] == 21)
    assert decisions[long_one]["outcome"] == "not_awarded"
    assert "longest run of usable slots is 18 (21 asked)" in decisions[long_one]["explanation"]
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    assert all(a["unit"] == "shift" for a in awards)
    assert all(n == teams[c][3] for c, n in got.items()) and sum(got.values()) <= 66
    ldc_shifts = sum(n for c, n in got.items() if teams[c][2] in ldc)
    ldc_asked = sum(t[3] for t in teams.values() if t[2] in ldc and t[3] <= 18)
    assert ldc_shifts >= min(ldc_asked, 0.2 * sum(got.values())), (ldc_shifts, got)

    # ---- the schedule: each award one block of consecutive 8-hour shifts, no Tuesday
    part = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)
    assert part["page"]["next_cursor"] is None
    blocks: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for e in part["items"]:
        if e["start"] is None:
            continue
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(AMMAN)
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00")).astimezone(AMMAN)
        assert end - start == dt.timedelta(hours=8) and start.hour in (0, 8, 16), start
        tuesday = start.weekday() == 1 and start.hour >= 8 or (
            start.weekday() == 2 and start.hour < 8)  # fmt: skip
        assert not tuesday, start
        blocks[e["proposal_code"]].append((start, end))
    for code, slots in blocks.items():
        slots.sort()
        assert all(a[1] == b[0] for a, b in zip(slots, slots[1:], strict=False)), code
    assert {c: len(s) for c, s in blocks.items()} == got, (blocks.keys(), got)

    # ---- what a team reads: its shifts in French, its block on "My slots"
    code = next(iter(blocks))
    pid, ac, _iso3, shifts, _mode = teams[code]
    team_fr = signed_in(web, f"xafs{list(teams).index(code)}@users.example", "fr")
    page = text_of(team_fr.get(f"/proposals/{pid}/outcome").text)
    assert f"{shifts} postes" in page, page[:2000]
    assert team_fr.get(f"/proposals/{pid}/slots").status_code == 200

    # ---- after the award: shifts observed as sessions (8 hours a shift, one lost to a
    # fault), the mail-in pucks as shipments; the report in shifts and observed hours
    observed = 0.0
    for code, n in got.items():
        pid, ac, _iso3, _shifts, mode = teams[code]
        hours = 8 * n - 8
        observed += hours
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "session", "data": {
            "observed_on": "2027-04-05", "observed_hours": hours, "lost_hours": 8,
            "lost_reason": "fault", "completed": True}})  # fmt: skip
        if mode == "mail_in":
            ac.post(f"/api/v1/awards/{pid}/records", {"kind": "shipment", "data": {
                "description": "2 pucks in a dry shipper", "shipped_on": "2027-03-20",
                "delivered_on": "2027-03-27", "customs_status": "cleared"}})  # fmt: skip
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["shift"]
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["amounts"]["shift"] == sum(got.values())
    figures = {r["group"]: r["figures"] for r in report["after_award"]["use"]["ldc"]}
    # the hours observed, and as many of the award's 8-hour shifts (on main: 0 shifts used
    # beside 440 hours observed, as if no team had used its beamtime)
    assert figures["all"]["used:h"] == observed, figures
    assert figures["all"]["used:shift"] == observed / 8 == sum(got.values()) - len(got), figures
    assert figures["all"]["lost_hours:fault"] == 8 * len(got)
    # the public after-award page, in Spanish: every award used and completed
    page = text_of(anyone.get(f"/calls/{slug}/after-award",
                              headers={"Accept-Language": "es"}).text)  # fmt: skip
    assert f"Todos {len(got)} {len(got)} · 100 %" in page, page[:3000]
