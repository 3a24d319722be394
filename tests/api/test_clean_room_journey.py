"""A nanofabrication clean room lending tool time, set up by its operator through the JSON
API on a fresh install (branch trialfac18).

The electron-beam writer is booked in 4-hour sessions from 08:00 on the site's clock
(Asia/Singapore), six a day, over March 2027, with the tool down every Monday for
maintenance (a weekly rule). Beside it, process engineers' hours with no calendar: a team
that cannot travel mails its wafers in and an engineer runs the recipe for it (remote
mode), so a remote request for the writer must come with engineer hours in one
all-or-nothing bundle. The request form asks for the mode, the wafer size and the
cleanroom safety certificate (a file). What an operator first tries, counting the writer in
hours with 4-hour slots, is refused: an hour is an hour, and the slots would have made
"8 hours" 32 (on main it was accepted, every figure then four times too small).
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
from tests.pdf_samples import plain_pdf
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SGT = ZoneInfo("Asia/Singapore")
FIELDS: list[dict[str, Any]] = [
    {"key": "mode", "type": "choice", "required": True, "options": ["on_site", "remote"],
     "labels": {"en": "Mode of access", "zh": "使用方式", "fr": "Mode d'accès",
                "es": "Modo de acceso"}},
    {"key": "wafer", "type": "choice", "required": True, "options": ["2in", "4in", "6in"],
     "labels": {"en": "Wafer size", "fr": "Taille de plaquette"}},
    {"key": "safety", "type": "file", "required": True,
     "labels": {"en": "Cleanroom safety certificate"}},
]  # fmt: skip
# (country, sessions, remote?): on-site users from richer countries, remote ones elsewhere
TEAMS = [("SGP", 6, False), ("JPN", 8, False), ("DEU", 6, False), ("VNM", 4, True),
         ("BGD", 6, True), ("KEN", 4, True), ("NPL", 5, True), ("USA", 8, False),
         ("IDN", 6, True), ("GBR", 6, False)]  # fmt: skip


def attach_and_submit(ac: Client, pid: int, version: int, filename: str) -> dict[str, Any]:
    """The file a request's file field names attached to the proposal, which is then
    submitted; the submitted proposal."""
    up = ac.http.post(
        f"/api/v1/proposals/{pid}/attachments", headers=ac.headers,
        data={"version": str(version)},
        files={"file": (filename, plain_pdf(), "application/pdf")},
    )  # fmt: skip
    assert up.status_code == 201, up.text
    p: dict[str, Any] = ac.post(f"/api/v1/proposals/{pid}/submit")
    assert p["status"] == "submitted", p
    return p


def test_a_clean_room_lends_4_hour_tool_sessions_and_engineer_hours(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    _admin, office, fac = open_facility(
        web, "nanofab", "Nanofabrication Centre", "SGP",
        {"name": "Clean room", "slug": "cleanroom", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    period = {"period_start": "2027-03-01", "period_end": "2027-03-31", "slot_hours": 4,
              "day_start_hour": 8, "time_zone": "Asia/Singapore", "unbroken": False}  # fmt: skip
    # hours in 4-hour slots: refused, naming both lengths; nothing is created
    r = office.post(res, {"name": "E-beam writer", "unit": "h", "amount": 100, **period},
                    status=400)  # fmt: skip
    assert "hour" in r["detail"] and "4" in r["detail"], r
    r = office.post(res, {"name": "E-beam writer", "unit": "day", "amount": 10, **period},
                    status=400)  # fmt: skip
    assert "day" in r["detail"] and "4" in r["detail"], r
    assert office.get(f"/api/v1/facilities/{fac['id']}")["resources"] == []
    writer = office.post(res, {"name": "E-beam writer", "unit": "session", "amount": 120,
                               "request_fields": FIELDS, "record_kinds": ["session"],
                               **period})  # fmt: skip
    assert writer["calendar"]["slot_capacity"] == 31 * 6
    cal = office.post(f"/api/v1/resources/{writer['id']}/unavailable/rule", {
        "rule": "FREQ=WEEKLY;BYDAY=MO", "start_time": "08:00", "hours": 24,
        "reason": "maintenance"})  # fmt: skip
    assert cal["slot_capacity"] == (31 - 5) * 6  # five Mondays in March 2027
    engineers = office.post(res, {"name": "Process engineer hours", "unit": "h", "amount": 60})
    # the writer's remote use needs an engineer: offered only in a bundle with their hours
    # (the rule is per resource, so on-site users ask for engineer hours too, one each)
    office.send("PATCH", f"/api/v1/resources/{writer['id']}", {"bundle_with": [engineers["id"]]})

    slug = "nanofab-2027"
    reviewers = open_call(web, office, {
        "provider": "nanofab", "facility": "cleanroom", "slug": slug, "code": "NF27",
        "cycle": "2027", "title": "Clean-room access, March 2027"},
        {"award_mode": "whole", "group_shares": [{"group": "ldc", "min_share": 0.2}]},
        [(f"fab{i}@panel.example", f"Fab Expert {i}", iso3)
         for i, iso3 in enumerate(["KOR", "FRA", "AUS"])])  # fmt: skip

    teams: dict[str, tuple[int, Client, str, int]] = {}
    for i, (iso3, sessions, remote) in enumerate(TEAMS):
        address = f"team{i}@fab.example"
        ac = account(web, address, f"Device Maker {i}", country_iso3=iso3,
                     institution=f"Microsystems Lab {i}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Nanophotonic gratings {i}", "abstract": "Gratings.",
            "science_case": "Sub-100 nm lines."})["id"]  # fmt: skip

        def ask(pool: int, amount: float, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool, "bundle": "fab",
                    "details": {"amount": amount, **details}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        form = {"mode": "remote" if remote else "on_site", "wafer": "4in", "safety": "cert.pdf"}
        if i == 0:  # a fraction of a session, an unknown wafer: refused, nothing kept
            r = ask(writer["id"], 2.5, status=400, **form)
            assert "2.5" in r["detail"] and "session" in r["detail"], r
            r = ask(writer["id"], 2, status=400, **{**form, "wafer": "8in"})
            assert "Wafer size" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full")["requests"] == []
        ask(writer["id"], sessions, **form)
        p = ask(engineers["id"], sessions * 2 if remote else 1)
        if i == 1:  # the certificate named but not attached: submission waits
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "Cleanroom safety certificate" in r["detail"], r
        p = attach_and_submit(ac, pid, p["version"], "cert.pdf")
        teams[p["code"]] = (pid, ac, iso3, sessions)

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: whole sessions within the free ones, a team's bundle whole or nothing
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    got: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        got[a["proposal_code"]][a["unit"]] = a["amount"]
    assert got and all(set(v) == {"session", "h"} for v in got.values()), got
    assert sum(v["session"] for v in got.values()) <= 120
    assert sum(v["h"] for v in got.values()) <= 60
    ldc_sessions = sum(v["session"] for c, v in got.items() if teams[c][2] in ldc)
    ldc_asked = sum(n for _p, _c, iso3, n in teams.values() if iso3 in ldc)
    assert ldc_sessions >= min(ldc_asked, 0.2 * sum(v["session"] for v in got.values()))

    # ---- the schedule: 4-hour sessions on the site's grid, never on a Monday
    part = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)
    assert part["page"]["next_cursor"] is None  # at most 120 sessions and the hours
    sched = part["items"]
    booked: dict[str, int] = defaultdict(int)
    for e in sched:
        if e["start"] is None or not e["label"].endswith(" · E-beam writer"):
            continue
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(SGT)
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00")).astimezone(SGT)
        assert end - start == dt.timedelta(hours=4) and start.hour in (8, 12, 16, 20, 0, 4)
        assert start.weekday() != 0, start  # Monday: maintenance
        booked[e["proposal_code"]] += 1
    assert booked == {c: v["session"] for c, v in got.items()}, (booked, got)

    # ---- what the public and a team read, in their languages
    page = text_of(anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "es"}).text)
    assert "sesiones" in page and "horas" in page
    code = next(iter(got))
    pid, _ac, _iso3, _n = teams[code]
    page = text_of(signed_in(web, f"team{list(teams).index(code)}@fab.example", "fr")
                   .get(f"/proposals/{pid}/outcome").text)  # fmt: skip
    n, h = int(got[code]["session"]), int(got[code]["h"])
    assert f"{n} sessions" in page and f"{h} heure" in page, page[:2000]

    # ---- after the award: each team's runs recorded (the last two sessions as a session
    # record of 8 hours observed), and the report in sessions and hours
    for code, v in got.items():
        pid, ac, _iso3, _n = teams[code]
        award_id = next(a["id"] for a in ac.get(f"/api/v1/awards/{pid}")["awards"]
                        if a["unit"] == "session")  # fmt: skip
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "award_id": award_id, "data": {
            "description": "gratings written", "used_amount": v["session"] - 2,
            "started_on": "2027-03-02", "completed": True}})  # fmt: skip
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "session", "award_id": award_id,
                "data": {"observed_on": "2027-03-09", "observed_hours": 8}})  # fmt: skip
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert sorted(report["call"]["units"]) == ["h", "session"]
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["amounts"]["session"] == sum(v["session"] for v in got.values())
    assert rows["all"]["amounts"]["h"] == sum(v["h"] for v in got.values())
    # the 8 hours on the writer are 2 of its sessions, not engineer hours used (on main:
    # 0 engineer hours were used, yet the report said 8 a team)
    figures = {r["group"]: r["figures"] for r in report["after_award"]["use"]["ldc"]}
    assert figures["all"]["used:session"] == sum(v["session"] for v in got.values()), figures
    assert figures["all"]["used:h"] == 0, figures
