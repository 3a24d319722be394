"""An underground laboratory's low-background gamma spectrometers, set up by its operator
through the JSON API and the pages on a fresh install (branch trialfac22).

Two high-purity germanium detectors in a road tunnel under the Andes, run from Santiago
(``America/Santiago``: UTC-3 in summer, UTC-4 from 4 April 2027, when Chile's clocks go
back an hour). A detector counts one team's samples at a time, in weeks that begin on
Monday at 09:00 on the site's clock; a measurement cannot pause (``"unbroken": true``): a
sample taken off the detector loses its shielding and starts again. Samples are mailed
in: teams abroad need 100 days between the allocation (1 December 2026) and their first
week, teams in Chile one week (``country_rules.lead_days``), counted to the team's own
first week, not the season's (before, every team abroad was refused: the season began in
90 days). The road tunnel is closed for inspection the week after the clock change.
Capacity: 13 counting weeks a detector from
1 March to 30 May 2027, one of them across the clock change (169 hours long). Applicants
from Haiti, Mozambique, Senegal and Bangladesh (least developed) among others; review,
allocation with a share for least-developed countries, schedule, publication. What is
looked at: every booked week starts and ends at 09:00 on the site's clock on either side
of the change, in the API, the CSV and the team's pages, and each run is unbroken.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_isotope_network_journey import csv_rows
from tests.api.test_operator_journey import (
    applicant_draft,
    ask_for,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SANTIAGO = ZoneInfo("America/Santiago")
WEEKS = {
    "en": {"one": "counting week", "other": "counting weeks"},
    "zh": {"one": "计数周", "other": "计数周"},
    "fr": {"one": "semaine de comptage", "other": "semaines de comptage"},
    "es": {"one": "semana de conteo", "other": "semanas de conteo"},
}
FIELDS = [
    {"key": "matrix", "type": "choice", "required": True,
     "options": ["sediment", "water", "biota", "material"],
     "labels": {"en": "Sample matrix", "es": "Matriz de la muestra", "fr": "Matrice",
                "zh": "样品基质"}},
]  # fmt: skip
# (country, detector, weeks); LDCs: HTI, MOZ, SEN, BGD
TEAMS = [
    ("HTI", "GeMPI", 3),
    ("MOZ", "GeMPI", 2),
    ("CHL", "GeMPI", 4),
    ("DEU", "GeMPI", 4),
    ("SEN", "Gator", 3),
    ("BGD", "Gator", 2),
    ("ARG", "Gator", 4),
    ("JPN", "Gator", 5),
    ("KEN", "Gator", 12),  # 11 weeks are left after its 100 days: refused, saying so
]


def _local(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(SANTIAGO)


def test_underground_detectors_count_in_unbroken_weeks_across_the_clock_change(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    _admin, office, fac = open_facility(
        web, "andes-ul", "Andes Underground Laboratory", "CHL",
        {"name": "Low-background counting", "slug": "lowbg", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    det = {}
    for name in ("GeMPI", "Gator"):
        det[name] = office.post(res, {
            "name": f"HPGe {name}", "unit": "countweek", "unit_labels": WEEKS, "amount": 13,
            "slot_hours": 168, "day_start_hour": 9, "time_zone": "America/Santiago",
            "period_start": "2027-03-01", "period_end": "2027-05-30", "unbroken": True,
            "request_fields": FIELDS,
            "country_rules": {"lead_days": {"CHL": 7, "*": 100}}})  # fmt: skip
        cal = det[name]["calendar"]
        # 13 weeks, the sixth 169 hours long: the grid follows the site's wall clock
        assert cal["slot_capacity"] == 13, cal
        assert _local(cal["starts_at"]) == dt.datetime(2027, 3, 1, 9, tzinfo=SANTIAGO), cal
        assert _local(cal["ends_at"]).replace(tzinfo=None) == dt.datetime(2027, 5, 31, 9), cal

    # the tunnel's road is closed for its yearly inspection the week after the clock change
    # (given on the site's clock, no offset): GeMPI loses that week, its amount lowered
    closed = office.post(f"/api/v1/resources/{det['GeMPI']['id']}/unavailable", {
        "starts_at": "2027-04-05T09:00:00", "ends_at": "2027-04-12T09:00:00",
        "reason": "road tunnel inspection", "lower_amount": True})  # fmt: skip
    got_det = office.get(f"/api/v1/resources/{det['GeMPI']['id']}")
    assert got_det["calendar"]["slot_capacity"] == 12 and got_det["amount"] == 12, (closed, got_det)

    reviewers = open_call(
        web, office,
        {"provider": "andes-ul", "facility": "lowbg", "slug": "lowbg-27", "code": "LB27",
         "cycle": "2027A", "title": "Low-background counting, autumn 2027"},
        {"award_mode": "whole", "group_shares": [{"group": "ldc", "min_share": 0.3}]},
        [("gamma1@panel.example", "Gamma spectroscopist", "ITA"),
         ("gamma2@panel.example", "Radiochemist", "CAN")],
    )  # fmt: skip

    # the call's public page: when each detector runs, on the site's clock
    page = text_of(web.client("es").get("/calls/lowbg-27").text)
    assert "13 semanas de conteo" in page and "countweek" not in page, page[:3000]

    code_of: dict[str, str] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for iso3, name, weeks in TEAMS:
        address = f"gamma-{iso3.lower()}@uni.example"
        ac, pid = applicant_draft(web, "lowbg-27", address, iso3,
                                  f"Radionuclides in river sediment ({iso3})")  # fmt: skip
        ask_for(ac, pid, det[name]["id"], {"amount": weeks, "matrix": "sediment"})
        code_of[iso3] = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]
        team_of[iso3] = (pid, address)

    review_and_publish(web, office, "lowbg-27", reviewers)

    awards = office.get("/api/v1/calls/lowbg-27/awards", limit=50)["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    assert sum(got.values()) <= 26 and got, got
    country = {code: iso3 for iso3, code in code_of.items()}
    ldc_weeks = sum(n for code, n in got.items() if country[code] in ldc)
    assert ldc_weeks >= 0.3 * sum(got.values()), (ldc_weeks, got)

    # a team whose weeks cannot all follow its lead time reads why (before, every team
    # abroad was refused, the season's first day being nearer than 100 days)
    decisions = {d["proposal_code"]: d for d in
                 office.get("/api/v1/calls/lowbg-27/decisions", limit=50)["items"]}  # fmt: skip
    assert code_of["KEN"] not in got, got
    assert "needs 100 days before its first slot of HPGe Gator, and only 11 usable slots" in str(
        decisions[code_of["KEN"]]), decisions[code_of["KEN"]]  # fmt: skip

    entries = office.get("/api/v1/calls/lowbg-27/schedule", limit=200)["items"]
    runs: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    pool_of: dict[str, int] = {}
    for e in entries:
        start, end = _local(e["start"]), _local(e["end"])
        # every week starts and ends at 09:00 on the site's clock, either side of 4 April
        assert (start.weekday(), start.hour, end.weekday(), end.hour) == (0, 9, 0, 9), e
        assert e["unit"] == "countweek", e
        runs.setdefault(e["proposal_code"], []).append((start, end))
        pool_of[e["proposal_code"]] = e["pool_id"]
    assert set(runs) == set(got), (runs, got)
    for code, spans in runs.items():
        spans.sort()
        weeks = sum(round((b.date() - a.date()).days / 7) for a, b in spans)
        assert weeks == got[code], (code, spans)
        # one unbroken run: each span begins where the one before ends
        assert all(spans[k][1] == spans[k + 1][0] for k in range(len(spans) - 1)), spans
        # abroad: 100 days after the allocation (1 December 2026) at the earliest, so
        # from 15 March; a Chilean team from 1 March; none in GeMPI's closed week
        first = dt.date(2027, 3, 1) if country[code] == "CHL" else dt.date(2027, 3, 15)
        assert spans[0][0].date() >= first, (country[code], spans)
        assert all(not (a.date() <= dt.date(2027, 4, 5) < b.date()) for a, b in spans
                   if pool_of[code] == det["GeMPI"]["id"]), spans  # fmt: skip

    # the CSV says the site's clock beside UTC, with the offset of each side of the change
    staff = signed_in(web, "office@andes-ul.example")
    rows = csv_rows(staff.get("/manage/calls/lowbg-27/schedule?format=csv").text)
    assert rows and all(r["time_zone"] == "America/Santiago" for r in rows), rows
    for r in rows:
        for at in (r["local_start"], r["local_end"]):
            local = dt.datetime.fromisoformat(at)
            want = "-03:00" if local.date() < dt.date(2027, 4, 4) else "-04:00"
            assert local.hour == 9 and at.endswith(want), r

    # a team reads its weeks on the site's clock, in Spanish, and the week's unit
    code = max(got, key=lambda c: got[c])
    pid, address = team_of[country[code]]
    page = text_of(signed_in(web, address, "es").get(f"/proposals/{pid}/outcome").text)
    assert f"{got[code]:g} semanas de conteo" in page and "countweek" not in page, page[:3000]
    assert "9:00 (hora de Chile" in page, page[:3000]
