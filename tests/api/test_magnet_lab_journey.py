"""A high-field magnet laboratory, set up by its operator through the JSON API on a fresh
install, runs one spring call for its three identical resistive-magnet cells.

Each cell is a resource of its own, counted in whole magnet days (the built-in unit
``day``), 24-hour days that begin at 08:00 on the site's clock in Grenoble
(``Europe/Paris``, so the day of the change to summer time lasts 23 hours). Cell 1 has a
maintenance week. A user's configuration (the insert, the field, the temperature) is
the resource's request form. Two teams need two cells at once (a pump-probe experiment
across two magnets): they bundle a request on each cell, all or nothing, kept together.
Applicants from least-developed, lower-middle-, upper-middle- and high-income countries;
a policy giving at least 30 % of the magnet days to low- and lower-middle-income
applicants; review, calibration, allocation, schedule, release, publication, post-award
records, and the outcomes by income group, UN region and LDC status. Every figure a user
reads is checked: the days add up, no cell gives more than it has, nothing falls in the
maintenance week, the unit is named in the reader's language.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from opencall.people.models import Country
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import (
    Client,
    account,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

PARIS = ZoneInfo("Europe/Paris")
FIELDS = [
    {"key": "insert", "type": "choice", "required": True,
     "options": ["dilution fridge", "He-3 insert", "VTI"], "labels": {"en": "Insert"}},
    {"key": "field_t", "type": "number", "unit": "T", "min": 0, "max": 36, "required": True,
     "labels": {"en": "Highest field"}},
    {"key": "temperature_k", "type": "number", "unit": "K", "min": 0.01, "max": 300,
     "labels": {"en": "Lowest temperature"}},
]  # fmt: skip
# (country, magnet days asked, two cells at once?); LDCs: NPL, ETH; lower-middle: IND, KEN
APPLICANTS = [
    ("NPL", 4, False), ("ETH", 3, True), ("IND", 5, False), ("KEN", 3, False),
    ("BRA", 4, True), ("CHN", 6, False), ("ZAF", 3, False), ("FRA", 5, False),
    ("DEU", 4, False), ("USA", 6, False),
]  # fmt: skip
# the cells' spring period: 2028-03-20 to 2028-04-09 (21 days), 08:00 Paris each day
PERIOD = ("2028-03-20", "2028-04-09")
MAINTENANCE = (dt.datetime(2028, 3, 27, 8, tzinfo=PARIS), dt.datetime(2028, 4, 3, 8, tzinfo=PARIS))
OFFER = 10  # days of each cell offered to the call
LOW_SHARE = 0.3


def test_a_magnet_lab_awards_whole_days_of_identical_cells(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        countries = {c.iso3: c for c in s.scalars(select(Country))}
    income = {k: c.income_group for k, c in countries.items()}
    assert {countries[c].ldc for c in ("NPL", "ETH")} == {True}
    _admin, office, fac = open_facility(
        web, "hfml", "High Field Magnet Laboratory", "FRA",
        {"name": "Resistive magnets", "slug": "magnets", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"

    def cell(name: str, amount: int, **kw: Any) -> dict[str, Any]:
        return {"name": name, "unit": "day", "amount": amount, "request_fields": FIELDS,
                "period_start": PERIOD[0], "period_end": PERIOD[1], "slot_hours": 24,
                "day_start_hour": 8, "time_zone": "Europe/Paris", **kw}  # fmt: skip

    week = {"starts_at": "2028-03-27T08:00:00", "ends_at": "2028-04-03T08:00:00",
            "reason": "coil maintenance"}  # fmt: skip
    # 21 days, less the maintenance week: 14 days fit in cell 1; 15 are refused, with figures
    r = office.post(res, cell("Cell 1", 15, unavailable=[week]), status=400)
    assert "14" in r["detail"] and "15" in r["detail"], r
    cells = [office.post(res, cell("Cell 1", 14, unavailable=[week]))]
    cells += [office.post(res, cell(f"Cell {i}", 21)) for i in (2, 3)]
    for c in cells:
        assert c["unit"] == "day" and c["whole_units"], c
        assert c["calendar"]["slot_hours"] == 24
    (u,) = cells[0]["calendar"]["unavailable"]
    assert (u["starts_at"], u["ends_at"]) == ("2028-03-27T06:00:00Z", "2028-04-03T06:00:00Z")
    cal = office.get(f"/api/v1/resources/{cells[1]['id']}/calendar")
    assert cal["slot_capacity"] == 21

    # ---- the call: 10 days of each cell, 30 % of the days to low-income applicants
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    office.post("/api/v1/calls", {
        "provider": "hfml", "facility": "magnets", "slug": "hfml-2028", "code": "HF28",
        "cycle": "2028", "title": "Magnet time, spring 2028",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(), "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "whole", "group_shares": [
            {"group": "low_lmic", "min_share": LOW_SHARE}]}})  # fmt: skip
    for c in cells:
        office.post("/api/v1/calls/hfml-2028/pools",
                    {"pool_id": c["id"], "amount": OFFER, "max_per_request": 6})  # fmt: skip
    office.post("/api/v1/calls/hfml-2028/transition", {"target": "open"})
    reviewers = []
    for i, iso3 in enumerate(["GBR", "JPN"]):
        reviewers.append(account(web, f"mag{i}@panel.example", f"Magnet Physicist {i}",
                                 country_iso3=iso3, institution=f"Physics Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/hfml/roles",
                    {"email": f"mag{i}@panel.example", "role": "reviewer"})  # fmt: skip

    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    pairs: set[str] = set()
    for i, (iso3, n, two) in enumerate(APPLICANTS):
        address = f"pi{i}@applicants.example"
        ac = account(web, address, f"Physicist {i}", country_iso3=iso3,
                     institution=f"University of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "hfml-2028", "title": f"Quantum oscillations in sample {i}, {iso3}",
            "abstract": "De Haas-van Alphen oscillations at high field.",
            "science_case": "The Fermi surface of a new metal."})  # fmt: skip
        pid = p["id"]

        def ask(amount: Any, pool: int, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool,
                    "bundle": details.pop("bundle", None),
                    "details": {"amount": amount, "insert": "He-3 insert", "field_t": 35,
                                **details}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        if i == 0:  # half a day, a field the magnet cannot reach: refused, nothing changes
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(1.5, cells[0]["id"], status=400)
            assert "1.5 is not a whole number of days" in r["detail"], r
            r = ask(2, cells[0]["id"], status=400, field_t=45)
            assert "Highest field" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        if two:  # the same days on two cells at once
            ask(n, cells[1]["id"], bundle="pump-probe", bundle_together=True)
            ask(n, cells[2]["id"], bundle="pump-probe", bundle_together=True)
        else:
            ask(n, cells[i % 3]["id"])
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)
        if two:
            pairs.add(p["code"])

    # ---- close, review, allocate, schedule, release, publish
    slug = "hfml-2028"
    review_and_publish(web, office, slug, reviewers)

    # ---- awards: whole days, within each cell's offer; the pairs both or neither
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        assert a["amount"] == int(a["amount"]) and a["unit"] == "day", a
        by_pool[a["pool"]] += a["amount"]
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
    assert all(v <= OFFER for v in by_pool.values()), by_pool
    total = sum(by_pool.values())
    low = sum(sum(v.values()) for c, v in by_code.items()
              if income[country_of[c]] in ("low", "lower-middle"))  # fmt: skip
    assert total > 0 and low >= LOW_SHARE * total - 1e-9, (low, total)
    for code in pairs:
        assert set(by_code.get(code, {})) in (set(), {"Cell 2", "Cell 3"}), by_code[code]

    # ---- the schedule: each magnet day a site day (23 hours on 26 March), none in the
    # maintenance week, no cell booked twice, the pairs on their two cells at once
    with web.factory() as s:
        slots = list(s.scalars(select(ScheduleEntry).where(ScheduleEntry.kind == "slot")))
    assert len(slots) == int(total) and all(e.start is not None for e in slots)
    seen: set[tuple[int, dt.datetime]] = set()
    for e in slots:
        start, end = e.start.astimezone(PARIS), e.end.astimezone(PARIS)
        assert (start.hour, end.hour) == (8, 8) and (end.date() - start.date()).days == 1
        if start.date() == dt.date(2028, 3, 25):
            assert e.end - e.start == dt.timedelta(hours=23)
        assert (e.pool_id, e.start) not in seen
        seen.add((e.pool_id, e.start))
        if e.pool_id == cells[0]["id"]:
            assert e.end <= MAINTENANCE[0] or e.start >= MAINTENANCE[1], e.start
    for code in pairs:
        if by_code.get(code):
            pid = pis[code][0]
            starts: dict[int, set[dt.datetime]] = defaultdict(set)
            for e in slots:
                if e.proposal_id == pid:
                    starts[e.pool_id].add(e.start)
            assert starts[cells[1]["id"]] == starts[cells[2]["id"]], (code, starts)

    # the team's own slots, as a calendar file: its days, in Paris time
    code = next(c for c in sorted(by_code) if by_code[c])
    pid, _ac, address = pis[code]
    team = signed_in(web, address)
    ics = team.get(f"/proposals/{pid}/slots.ics")
    assert ics.status_code == 200
    events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    assert len(events) == int(sum(by_code[code].values()))
    assert "TZID=Europe/Paris" in ics.text

    # ---- the decisions and the schedule as CSV: the days add up, named as days
    staff = signed_in(web, "office@hfml.example")
    r = staff.get(f"/manage/calls/{slug}/decisions?format=csv")
    assert r.status_code == 200, r.text[:500]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == len(APPLICANTS)
    for row in rows:
        want = "; ".join(f"{pool}: {int(n)} day{'s' if n != 1 else ''}"
                         for pool, n in sorted(by_code.get(row["proposal"], {}).items()))  # fmt: skip
        assert row["awarded"] == want, (row, want)
    r = staff.get(f"/manage/calls/{slug}/schedule?format=csv")
    assert r.status_code == 200, r.text[:500]
    rows = [x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if x["start"]]
    assert len(rows) == int(total) and {x["time_zone"] for x in rows} == {"Europe/Paris"}
    assert all(x["local_start"][11:16] == "08:00" for x in rows), rows[:3]
    print("PAIRS", {c: by_code.get(c) for c in pairs}, dict(by_pool))

    # ---- the public list, in each reader's words for the unit
    for lang, word, not_word in (("fr", "jour", "days"), ("es", "día", "days"),
                                 ("zh", "天", "days")):  # fmt: skip
        page = text_of(anyone.get(f"/calls/{slug}/awarded",
                                  headers={"Accept-Language": lang}).text)  # fmt: skip
        assert word in page and not_word not in page, (lang, page[:3000])

    # the team's outcome, read in Chinese: its days in its own words, nothing in English
    code = next(c for c in sorted(pairs) if by_code.get(c))
    pid, _ac, address = pis[code]
    page = text_of(signed_in(web, address, "zh").get(f"/proposals/{pid}/outcome").text)
    assert "Cell 2" in page and "Cell 3" in page and "天" in page, page[:3000]
    for english in ("days", "awarded in full", "slots", "custom"):
        assert english not in page, (english, page[:3000])

    # ---- after the award: each team records the days it used
    awarded_codes = sorted(c for c in by_code if by_code[c])
    for code in awarded_codes:
        pid, ac, _address = pis[code]
        got = ac.get(f"/api/v1/awards/{pid}")
        n = sum(by_code[code].values())
        ac.post(f"/api/v1/awards/{pid}/records", {
            "kind": "other", "data": {"description": "measured at 35 T", "used_amount": n,
                                      "started_on": "2028-03-21", "completed": True}})  # fmt: skip
        assert "other" in got["kinds"], got
    stages = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"]
    assert len(stages) == len(awarded_codes) and all(x["completed"] for x in stages)

    # ---- who benefits: by income group, UN region and LDC status, matching the awards
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["day"]
    rows = {r["group"]: r for r in report["funnels"]["income_group"] if r["stage"] == "awarded"}
    assert rows["all"]["amount_awarded"] == pytest.approx(total)
    assert sum(v["amount_awarded"] for k, v in rows.items() if k != "all") == pytest.approx(total)
    regions = {r["group"] for r in report["funnels"]["un_region"]}
    assert {"Africa", "Asia", "Europe", "Americas"} <= regions, regions
