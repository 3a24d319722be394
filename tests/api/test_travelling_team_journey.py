"""A travelling demonstration team (a juncao grass and mushroom team of the kind that
visits smallholders' sites, as hybrid-rice teams do), set up from nothing through the JSON
API on a fresh install.

What differs from the other journeys: the capacity is one team's days on the road, and the
team goes to the applicants, not the applicants to it. Each applicant hosts a visit at a
site in their own country (its coordinates and area on the request form) and can only be
visited in their country's season: they list the dates outside it as impossible. Between
two hosts the team travels: the resource keeps three days free between two visits of
different proposals (``changeover_slots``). A visit is one stretch of days; the policy gives
at most one visit per PI and at least 40 % of the team's days to least-developed countries.
The clock is pinned (1 December 2026): the season runs March to May 2027.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_operator_journey import (
    Client,
    account,
    close_and_assign,
    open_call,
    open_facility,
    run_step,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

START, END = dt.date(2027, 3, 1), dt.date(2027, 5, 31)  # 92 days on the road
TEAM_DAYS = 92  # the whole season offered
TRAVEL = 3  # days between two hosts
FIELDS: list[dict[str, Any]] = [
    {"key": "site", "type": "coordinates", "required": True,
     "labels": {"en": "Host site", "zh": "示范点", "fr": "Site d'accueil", "es": "Sitio anfitrión"}},
    {"key": "hectares", "type": "number", "unit": "ha", "min": 0.5, "max": 50, "required": True,
     "labels": {"en": "Demonstration plot", "zh": "示范田", "fr": "Parcelle", "es": "Parcela"}},
    {"key": "farmers", "type": "number", "integer": True, "min": 1, "max": 500,
     "labels": {"en": "Farmers trained", "zh": "培训农户", "fr": "Agriculteurs formés",
                "es": "Agricultores formados"}},
]  # fmt: skip


def season(first: str, last: str) -> list[list[str]]:
    """The impossible dates of a host whose season runs ``first``..``last`` (inclusive):
    the team's days before and after it."""
    out = []
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    if a > START:
        out.append([START.isoformat(), (a - dt.timedelta(days=1)).isoformat()])
    if b < END:
        out.append([(b + dt.timedelta(days=1)).isoformat(), END.isoformat()])
    return out


# (country, days of the visit, season, site): smallholders from low-, lower-middle- and
# upper-middle-income countries, most of them least developed; two weeks of demonstration
# each, 98 days asked of a season of 92
HOSTS = [
    ("RWA", 14, ("2027-03-01", "2027-04-30"), (-1.95, 30.06)),
    ("ETH", 14, ("2027-04-01", "2027-05-31"), (9.03, 38.74)),
    ("NPL", 14, ("2027-03-01", "2027-05-31"), (27.7, 85.3)),
    ("LSO", 14, ("2027-03-01", "2027-04-15"), (-29.3, 27.5)),
    ("FJI", 14, ("2027-04-15", "2027-05-31"), (-18.1, 178.4)),
    ("NGA", 14, ("2027-03-01", "2027-05-31"), (9.08, 7.4)),
    ("BRA", 14, ("2027-03-01", "2027-05-31"), (-15.8, -47.9)),
]


def test_a_travelling_demonstration_team_visits_hosts_in_their_season(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        countries = {c.iso3: c for c in s.scalars(select(Country))}
    _admin, office, fac = open_facility(
        web, "juncao", "Juncao Technology Centre", "CHN",
        {"name": "Travelling juncao demonstration team", "slug": "juncao-team",
         "kind": "custom"},
        office_name="Programme Office",
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    team = office.post(res, {
        "name": "Demonstration team", "unit": "day", "amount": TEAM_DAYS,
        "period_start": START.isoformat(), "period_end": END.isoformat(),
        "changeover_slots": TRAVEL, "request_fields": FIELDS})  # fmt: skip
    cal = team["calendar"]
    assert (cal["slot_hours"], cal["changeover_slots"], cal["slot_capacity"]) == (24, TRAVEL, 92)

    slug = "juncao-2027"
    reviewers = open_call(web, office, {
        "provider": "juncao", "facility": "juncao-team", "slug": slug, "code": "JT27",
        "cycle": "2027", "title": "Juncao demonstrations on smallholders' fields, 2027"},
        {"award_mode": "whole", "pi_cap_awards": 1,
         "group_shares": [{"group": "ldc", "min_share": 0.4}]},
        [(f"agronomist{i}@panel.example", f"Agronomist {i}", iso3)
         for i, iso3 in enumerate(["CHN", "KEN", "IDN"])])  # fmt: skip

    asked: dict[str, tuple[str, int, tuple[str, str]]] = {}
    pids: dict[str, tuple[int, Client, int]] = {}
    for i, (iso3, days, (first, last), (lat, lon)) in enumerate(HOSTS):
        ac = account(web, f"host{i}@farms.example", f"Host Farmer {i}", country_iso3=iso3,
                     institution=f"Smallholders' cooperative of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Juncao for soil and mushrooms, site {i}",
            "abstract": "A demonstration plot of juncao grass on eroded slopes.",
            "science_case": "Fodder, mushroom substrate and erosion control."})  # fmt: skip
        pid = p["id"]

        def ask(status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": team["id"],
                    "details": {"amount": days, "site": {"lat": lat, "lon": lon},  # noqa: B023
                                "hectares": 2, "farmers": 40,
                                "impossible_dates": season(first, last),  # noqa: B023
                                **details}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        if i == 0:  # the form's refusals name the field in the applicant's words
            r = ask(status=400, hectares=0.1)
            assert "Demonstration plot" in r["detail"], r
            r = ask(status=400, site={"lat": -1.95, "lon": 190})
            assert "Host site" in r["detail"] or "longitude" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full")["requests"] == []
        ask()
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        asked[p["code"]] = (iso3, days, (first, last))
        pids[p["code"]] = (pid, ac, i)

    # ---- review, rank and allocate
    close_and_assign(web, office, slug)
    for k, rc in enumerate(reviewers):
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": 3.0 + ((a["id"] + k) % 5) * 0.4, "confidence": 4,
                "comments_to_applicants": "A good plot."})  # fmt: skip
    run_step(web, office, slug, "calibration")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "ranking"})
    office.post(f"/api/v1/calls/{slug}/ranking/freeze")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "allocation"})
    run_step(web, office, slug, "allocation")
    # the chair cannot push a host left out onto the road by an override: the season has
    # the days but not the travel to and from one more host (on main the override was
    # accepted, and the schedule then left a host off the road)
    first = {d["proposal_code"]: d for d in
             office.get(f"/api/v1/calls/{slug}/decisions", limit=200)["items"]}  # fmt: skip
    out = next(c for c, d in first.items() if d["outcome"] == "not_awarded")
    r = office.post(f"/api/v1/calls/{slug}/decisions/{pids[out][0]}/override",
                    {"outcome": "awarded", "reason": "a host we promised"}, status=400)  # fmt: skip
    assert "changeover" in r["detail"] and "'Demonstration team'" in r["detail"], r
    assert "(99 of 92 days with the changeovers)" in r["detail"], r  # 5 x 14 + 14 + 5 x 3
    assert office.get(f"/api/v1/calls/{slug}/decisions", limit=200)["items"] == list(first.values())
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "scheduling"})
    run_step(web, office, slug, "scheduling")
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"

    # ---- awards: whole visits, at most the team's days, the LDC share where reachable
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    awarded = {a["proposal_code"]: a["amount"] for a in awards}
    for code, amount in awarded.items():
        assert amount == asked[code][1], (code, amount)  # a visit is never cut short
    assert sum(awarded.values()) <= TEAM_DAYS
    ldc_days = sum(v for c, v in awarded.items() if countries[asked[c][0]].ldc)
    assert ldc_days >= 0.4 * sum(awarded.values()), awarded

    # ---- a host left out reads why: the season has no room for one more visit and its
    # travel (it read "capacity remained, but the solver stopped ...": days were left)
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=200)["items"]}  # fmt: skip
    left_out = sorted(set(asked) - set(awarded))
    assert left_out
    for code in left_out:
        assert "Demonstration team full once the changeover" in decisions[code]["explanation"]
    pid, _ac, host_no = pids[left_out[0]]
    host = signed_in(web, f"host{host_no}@farms.example", "zh")
    page = text_of(host.get(f"/proposals/{pid}/outcome").text)
    assert "计入两个提案之间保留的转换时间后" in page, page[:3000]

    # ---- the schedule: each visit one stretch of days inside its host's season, and
    # the travel days kept between two hosts
    sched: dict[str, Any] = {"items": []}
    cursor = None
    while True:  # the schedule by pages of 200 entries
        part = office.get(f"/api/v1/calls/{slug}/schedule", limit=200,
                          **({"cursor": cursor} if cursor else {}))  # fmt: skip
        sched["items"] += part["items"]
        cursor = part["page"]["next_cursor"]
        if not cursor:
            break
    placed: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for e in sched["items"]:
        if e["start"] is None:
            continue
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        placed[e["proposal_code"]].append((start, end))
    unplaced = {e["proposal_code"]: e["explanation"] for e in sched["items"] if e["start"] is None}
    # the allocation counts the travel days between two hosts: the visits it awards and
    # the travel between them fit in the season (on main it awarded 6 visits, 84 days
    # and 5 x 3 travel days in a season of 92, and the schedule left one off the road)
    assert sum(awarded.values()) + TRAVEL * (len(awarded) - 1) <= (END - START).days + 1
    days: list[tuple[dt.datetime, str]] = []
    for code, slots in placed.items():
        first, last = (dt.date.fromisoformat(d) for d in asked[code][2])
        for start, end in slots:  # every day of a visit in its host's season
            assert end - start == dt.timedelta(days=1), (code, start, end)
            assert first <= start.date() <= last, (code, start)
            days.append((start, code))
        assert len(slots) == asked[code][1], (code, len(slots))  # placed in full
    days.sort()
    for (d1, c1), (d2, c2) in zip(days, days[1:], strict=False):
        if c1 != c2:  # the team travels between two hosts
            assert (d2 - d1).days > TRAVEL, (c1, d1, c2, d2)
    # an awarded visit the season left no room for is not on the road: the schedule says
    # why, for the office to act on (docs/operators.md, "A travelling team")
    assert set(placed) | set(unplaced) == set(awarded), (set(placed), unplaced, awarded)
    assert all(unplaced.values()), unplaced

    # ---- what each persona sees, in Chinese and in French
    office_zh = signed_in(web, "office@juncao.example", "zh")
    page = text_of(office_zh.get(f"/manage/calls/{slug}/schedule").text)
    assert "Demonstration team" in page
    host_code = next(iter(placed))
    pid, _ac, host_no = pids[host_code]
    host = signed_in(web, f"host{host_no}@farms.example", "zh")
    mine = host.get(f"/proposals/{pid}/slots")
    assert mine.status_code == 200, mine.text[:500]
    first_day = placed[host_code][0][0].date().isoformat()
    assert first_day in mine.text
    public_fr = anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "fr"})
    text = text_of(public_fr.text)
    assert "jours" in text and "days" not in text
    for code in awarded:  # the public list names the visits, never a host's site
        assert code in text
    for _iso3, _days, _season, (lat, lon) in HOSTS:
        assert f"{lat}" not in public_fr.text or f"{lon}" not in public_fr.text

    # ---- who benefits: the team's days by income group, UN region and LDC status
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["amounts"]["day"] == pytest.approx(sum(awarded.values()))
    assert rows["all"]["count"] == len(awarded)
