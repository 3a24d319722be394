"""An NMR spectrometer's automated sample changer shared by several groups in one shift,
set up by its operator through the JSON API on a fresh install (branch trialfac20).

The changer runs 8-hour shifts from 08:00 on the site's clock (Africa/Johannesburg) over
two weeks, down for a helium fill one day; each shift takes 4 groups' sample tubes at
once (``"groups_per_slot": 4``), so the resource holds 4 places a shift. What the operator
first tries is refused and changes nothing: 0 groups, 2.5 groups, a changeover between
groups who share a shift, more places than the shifts hold. Ten teams ask for several
shifts each (more than the places): the allocation awards whole requests within the places,
the schedule books each team's shifts with never more than 4 groups in one and shares
shifts, each team reads only its own bookings with how full its shifts are (never another
team's code or title), the operator cannot lower the groups below a shift's bookings (the
refusal names it), and the outcomes report counts the awarded shifts by LDC status.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SAST = ZoneInfo("Africa/Johannesburg")
PERIOD = ("2027-05-03", "2027-05-16")  # two weeks: 14 days of 3 shifts, 42 shifts
HELIUM = ("2027-05-10T08:00:00", "2027-05-11T08:00:00")  # the magnet's helium fill
FIELDS = [
    {"key": "nucleus", "type": "choice", "required": True, "options": ["1H", "13C", "15N"],
     "labels": {"en": "Nucleus"}},
]  # fmt: skip
# (country, shifts asked); LDCs: MWI, ETH, UGA
TEAMS = [("ZAF", 10), ("MWI", 8), ("ETH", 12), ("KEN", 10), ("NGA", 14), ("UGA", 9),
         ("BWA", 11), ("NAM", 13), ("GHA", 12), ("ZWE", 15)]  # fmt: skip


def test_a_shared_nmr_sample_changer_from_call_to_outcomes(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "nmrsa", "National NMR Centre", "ZAF",
        {"name": "600 MHz NMR", "slug": "nmr600", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    base = {
        "name": "Sample changer", "unit": "shift", "slot_hours": 8, "period_start": PERIOD[0],
        "period_end": PERIOD[1], "day_start_hour": 8, "time_zone": "Africa/Johannesburg",
        "request_fields": FIELDS,
        "unavailable": [{"starts_at": HELIUM[0], "ends_at": HELIUM[1], "reason": "helium"}],
    }  # fmt: skip
    # 42 shifts less the 3 of the helium day: 39 shifts, 156 places with 4 groups a shift
    for bad, said in (
        ({"groups_per_slot": 0, "amount": 39}, "whole number from 1"),
        ({"groups_per_slot": 2.5, "amount": 39}, ""),
        ({"groups_per_slot": 4, "changeover_slots": 1, "amount": 39}, "keeps no changeover"),
        ({"groups_per_slot": 4, "amount": 157}, "hold at most 156"),
    ):
        r = office.post(res, {**base, **bad}, status=(422 if said == "" else 400))
        assert said in str(r["detail"]), r
    assert office.get(f"/api/v1/facilities/{fac['id']}")["resources"] == []
    changer = office.post(res, {**base, "groups_per_slot": 4, "amount": 156})
    cal = office.get(f"/api/v1/resources/{changer['id']}")["calendar"]
    assert cal["groups_per_slot"] == 4 and cal["slot_capacity"] == 156, cal

    slug = "nmr-2027"
    reviewers = open_call(web, office, {
        "provider": "nmrsa", "facility": "nmr600", "slug": slug, "code": "NMR27",
        "cycle": "2027", "title": "NMR sample changer, May 2027"},
        {"award_mode": "whole"},
        [("nmr1@panel.example", "Structural biologist", "DEU"),
         ("nmr2@panel.example", "Chemist", "BRA")],
        [{"pool_id": changer["id"], "amount": 100}])  # fmt: skip
    code_of: dict[str, str] = {}
    team_of: dict[str, tuple[int, str, str]] = {}
    for i, (iso3, shifts) in enumerate(TEAMS):
        address = f"nmr-team{i}@uni.example"
        ac = account(web, address, f"NMR team {iso3}", country_iso3=iso3,
                     institution=f"University of {iso3}")  # fmt: skip
        title = f"Metabolite profiles of crops grown in {iso3}"
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": title, "abstract": "Spectra.",
            "science_case": "Food."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": changer["id"],
            "details": {"amount": shifts, "nucleus": "1H"}})  # fmt: skip
        code_of[iso3] = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        team_of[iso3] = (p["id"], address, title)

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    asked = {code_of[c]: n for c, n in TEAMS}
    assert all(got[c] == asked[c] for c in got), got
    assert sum(got.values()) <= 100 and len(got) < len(TEAMS), got  # 114 asked

    # the schedule: every awarded shift booked at 08:00, 16:00 or 00:00 site time, none on
    # the helium day, never more than 4 groups in one shift, and shifts shared
    per_shift: Counter[dt.datetime] = Counter()
    booked: Counter[str] = Counter()
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        assert not e["needs_rescheduling"], e
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        for k in range(round((end - start) / dt.timedelta(hours=8))):
            shift = start + dt.timedelta(hours=8 * k)
            local = shift.astimezone(SAST)
            assert local.hour in (0, 8, 16), e
            assert not (dt.datetime(2027, 5, 10, 8, tzinfo=SAST) <= local
                        < dt.datetime(2027, 5, 11, 8, tzinfo=SAST)), e  # fmt: skip
            per_shift[shift] += 1
            booked[e["proposal_code"]] += 1
    assert booked == {c: int(v) for c, v in got.items()}, (booked, got)
    assert max(per_shift.values()) <= 4 and max(per_shift.values()) > 1, per_shift

    # each team reads its own shifts and how full they are, never another team's
    for iso3, (pid, address, _title) in team_of.items():
        if code_of[iso3] not in got:
            continue
        page = text_of(signed_in(web, address).get(f"/proposals/{pid}/slots").text)
        assert "Sample changer" in page and "places booked" in page, page[:2000]
        for other, (_p, _a, title) in team_of.items():
            if other != iso3:
                assert code_of[other] not in page and title not in page, (iso3, other)
        ics = signed_in(web, address).get(f"/proposals/{pid}/slots.ics").text
        assert ics.count("BEGIN:VEVENT") == got[code_of[iso3]], iso3
        assert all(code_of[o] not in ics for o in code_of if o != iso3)

    # the operator cannot make the shifts hold fewer groups than they already do
    fullest = max(per_shift.values())
    r = office.send(
        "PATCH", f"/api/v1/resources/{changer['id']}", {"groups_per_slot": fullest - 1}, 400
    )
    assert f"already hold more groups than {fullest - 1}" in r["detail"], r
    assert "NMR27" in r["detail"], r
    assert office.get(f"/api/v1/resources/{changer['id']}")["calendar"]["groups_per_slot"] == 4

    # the outcomes report: the shifts awarded, all and to LDC teams
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["amounts"]["shift"] == sum(got.values()), rows
    ldc = sum(got.get(code_of[c], 0) for c in ("MWI", "ETH", "UGA"))
    assert rows["LDC"]["amounts"]["shift"] == ldc and rows["LDC"]["count"] == 2, rows
    assert rows["non-LDC"]["amounts"]["shift"] == sum(got.values()) - ldc, rows
