"""A marine station's coral-spawning mesocosms, set up by its operator through the JSON API.

Two tanks, each a resource of whole days (`"unit": "day"` with a period: 24-hour slots
from 06:00 on the station's clock, Australia/Brisbane) over November, when the corals
spawn after the full moon; tank 2 has its chiller serviced for five days. A team's
experiment has to run inside its species' spawning window: the request form asks for the
species and the window (a `date_range` field), and the team lists the days outside the
window as impossible (`impossible_dates`). A team that asks for more days than its window
holds on its tank cannot be scheduled whatever is awarded: the allocation says so ("not
feasible: only 4 slots ... usable") and gives the days to the next team instead of awarding them
and leaving them off the schedule (before, it awarded them). Every booked day lies in its
team's window, outside the service, and no two teams share a tank on a day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_genebank_journey import give_reviews
from tests.api.test_operator_journey import (
    account,
    calibrate_to_schedule,
    close_and_assign,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

BRISBANE = ZoneInfo("Australia/Brisbane")
FIRST, LAST = dt.date(2027, 11, 1), dt.date(2027, 11, 30)
SERVICE = ("2027-11-24T06:00:00", "2027-11-29T06:00:00")  # tank 2: five days
FIELDS = [
    {"key": "species", "type": "text", "max_length": 120, "required": True,
     "labels": {"en": "Coral species", "fr": "Espèce de corail", "es": "Especie de coral",
                "zh": "珊瑚物种"}},
    {"key": "window", "type": "date_range", "required": True,
     "labels": {"en": "Spawning window"}},
]  # fmt: skip
# (country, tank, days, window first, window last, species)
TEAMS = [
    ("FJI", 1, 8, "2027-11-10", "2027-11-25", "Acropora millepora"),
    ("PNG", 1, 10, "2027-11-18", "2027-11-22", "Acropora tenuis"),  # 10 days in a 5-day window
    ("IDN", 1, 6, "2027-11-15", "2027-11-28", "Montipora digitata"),
    ("SLB", 2, 9, "2027-11-12", "2027-11-23", "Platygyra daedalea"),
    ("PHL", 2, 7, "2027-11-05", "2027-11-20", "Pocillopora damicornis"),
    ("VUT", 2, 5, "2027-11-14", "2027-11-30", "Porites lutea"),
]  # fmt: skip


def outside(
    first: str, last: str, season: tuple[dt.date, dt.date] = (FIRST, LAST)
) -> list[list[str]]:
    """The impossible dates of a window ``first``..``last``: the season's days around it
    (November's, by default)."""
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    out = []
    if a > season[0]:
        out.append([season[0].isoformat(), (a - dt.timedelta(days=1)).isoformat()])
    if b < season[1]:
        out.append([(b + dt.timedelta(days=1)).isoformat(), season[1].isoformat()])
    return out


def favourite_left_out(
    web: Web, office: Any, slug: str, reviewers: list[Any], code: str, explanation: str
) -> dict[str, float]:
    """The call reviewed with ``code`` the panel's favourite, calibrated to its schedule;
    ``code`` not awarded, explained by ``explanation``; the awards ``{code: amount}``."""
    close_and_assign(web, office, slug)
    give_reviews(reviewers, lambda a, k: 5.0 if a["proposal_code"] == code
                 else 3.0 + ((a["id"] + k) % 3) * 0.5)  # fmt: skip
    calibrate_to_schedule(web, office, slug)
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    assert decisions[code]["outcome"] != "awarded", decisions[code]
    assert decisions[code]["explanation"] == explanation, decisions[code]
    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    assert code not in got, got
    return got


def test_coral_mesocosms_book_each_team_inside_its_spawning_window(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "sims", "Tropical Marine Station", "AUS",
        {"name": "Coral spawning mesocosms", "slug": "mesocosms", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    tank = {}
    for n in (1, 2):
        body = {"name": f"Mesocosm tank {n}", "unit": "day", "amount": 30 if n == 1 else 25,
                "period_start": FIRST.isoformat(), "period_end": LAST.isoformat(),
                "day_start_hour": 6, "time_zone": "Australia/Brisbane", "request_fields": FIELDS}  # fmt: skip
        if n == 2:
            body["unavailable"] = [{"starts_at": SERVICE[0], "ends_at": SERVICE[1],
                                    "reason": "chiller service"}]  # fmt: skip
        r = office.post(res, body)
        assert r["calendar"]["slot_capacity"] == body["amount"], r
        tank[n] = r["id"]
    slug = "spawn-2027"
    reviewers = open_call(web, office, {
        "provider": "sims", "facility": "mesocosms", "slug": slug, "code": "SP27",
        "cycle": "2027", "title": "Coral spawning season, November 2027"},
        {"award_mode": "whole"},
        [("reef1@panel.example", "Reef ecologist", "JPN"),
         ("reef2@panel.example", "Coral physiologist", "USA")])  # fmt: skip
    code_of: dict[str, str] = {}
    window_of: dict[str, tuple[dt.date, dt.date]] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, n, days, first, last, species) in enumerate(TEAMS):
        address = f"reef-team{i}@uni.example"
        ac = account(web, address, f"Coral team {iso3}", country_iso3=iso3,
                     institution=f"Marine institute of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Thermal tolerance of {species} larvae",
            "abstract": "Larval settlement under heat stress.",
            "science_case": "Reef restoration."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": tank[n],
            "details": {"amount": days, "species": species, "window": [first, last],
                        "impossible_dates": outside(first, last)}})  # fmt: skip
        code = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        code_of[iso3] = code
        window_of[code] = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        team_of[iso3] = (p["id"], address)

    # the panel's favourite is the team with too short a window: its window (18-22 November)
    # holds 4 of the tank's days: a day runs from 06:00 to 06:00, so the one that begins on
    # the 22nd ends on the 23rd, a date the team declared impossible
    got = favourite_left_out(web, office, slug, reviewers, code_of["PNG"], (
        "not feasible: only 4 slots of Mesocosm tank 1 are usable outside the dates the "
        "request declares impossible (10 asked)"))  # fmt: skip
    # the others fit: every one of them is awarded what it asked
    for iso3, _n, days, *_rest in TEAMS:
        if iso3 != "PNG":
            assert got.get(code_of[iso3]) == days, (iso3, got)

    booked: dict[str, int] = defaultdict(int)
    taken: set[tuple[int, dt.datetime]] = set()
    tank_of = {code_of[t[0]]: t[1] for t in TEAMS}
    service = tuple(dt.datetime.fromisoformat(x).replace(tzinfo=BRISBANE) for x in SERVICE)
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        w0, w1 = window_of[e["proposal_code"]]
        for k in range((end - start) // dt.timedelta(days=1)):
            s = (start + dt.timedelta(days=k)).astimezone(BRISBANE)
            assert s.hour == 6, e
            assert w0 <= s.date() <= w1, ("outside the spawning window", e)
            if tank_of[e["proposal_code"]] == 2:
                assert not service[0] <= s < service[1], ("during the service", e)
            assert (tank_of[e["proposal_code"]], s) not in taken, ("two teams in one tank", e)
            taken.add((tank_of[e["proposal_code"]], s))
            booked[e["proposal_code"]] += 1
    assert dict(booked) == {c: int(v) for c, v in got.items()}, (booked, got)

    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    pid, address = team_of["PNG"]
    page = text_of(signed_in(web, address, "fr").get(f"/proposals/{pid}/outcome").text)
    # the team reads why in its language
    assert "non accordé" in page and "seuls 4 créneaux de Mesocosm tank 1" in page, page[:3000]
