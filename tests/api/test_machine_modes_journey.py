"""A synchrotron beamline whose 8-hour shifts run in two machine modes, set up by its
operator through the JSON API and the pages on a fresh install (branch trialfac21).

The storage ring (a light source in Campinas, ``America/Sao_Paulo``, shifts from 08:00 on
the site's clock) runs in multibunch mode most weeks and in single-bunch (timing) mode in
blocks the operator sets for the run; a timing experiment can only use single-bunch
shifts, a diffraction experiment only multibunch ones. The product has no notion of a
mode: the operator states each mode as a resource of its own, the beamline's shifts in
that mode, closed (unavailable, the other mode named as the reason) in the other mode's
blocks, and a machine-development day closed in both. A proposal asks for the mode it
needs by asking for that resource; a team needing both asks for both in one
all-or-nothing bundle. Applicants in five countries; the allocation, the schedule (every
shift booked inside its mode's blocks, the two modes never on the same shift, never more
than one team a shift), the team's own calendar, the public busy calendar and the outcomes
report by LDC status are read back; before applying, the call's page says when each mode
runs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api import test_operator_journey as oj
from tests.api.test_genebank_journey import review_and_publish
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

BRT = ZoneInfo("America/Sao_Paulo")
PERIOD = ("2027-08-02", "2027-08-29")  # four weeks, 28 days of 3 shifts: 84 shifts
# the single-bunch blocks, in the site's local time: the second week and the last four days
SINGLE = [("2027-08-09T08:00:00", "2027-08-16T08:00:00"),
          ("2027-08-26T08:00:00", "2027-08-30T08:00:00")]  # fmt: skip
MULTI = [("2027-08-02T08:00:00", "2027-08-09T08:00:00"),
         ("2027-08-16T08:00:00", "2027-08-26T08:00:00")]  # fmt: skip
DEVELOPMENT = ("2027-08-18T08:00:00", "2027-08-19T08:00:00")  # the ring's machine day
FIELDS = [{"key": "technique", "type": "choice", "required": True,
           "options": ["diffraction", "pump-probe", "XPCS"], "labels": {"en": "Technique"}}]  # fmt: skip
SHIFTS: dict[str, Any] = {
    "unit": "shift", "slot_hours": 8, "period_start": PERIOD[0], "period_end": PERIOD[1],
    "day_start_hour": 8, "time_zone": "America/Sao_Paulo", "request_fields": FIELDS,
}  # fmt: skip
# (country, multibunch shifts, single-bunch shifts); LDCs: BGD, MOZ, SEN
TEAMS = [("BRA", 12, 0), ("ARG", 0, 9), ("BGD", 9, 0), ("MOZ", 0, 6), ("SEN", 6, 6),
         ("MEX", 15, 0), ("CHL", 0, 12), ("COL", 12, 0), ("PER", 9, 3)]  # fmt: skip


def _local(when: str) -> dt.datetime:
    return dt.datetime.fromisoformat(when).replace(tzinfo=BRT)


def _inside(shift: dt.datetime, blocks: list[tuple[str, str]]) -> bool:
    return any(_local(a) <= shift < _local(b) for a, b in blocks)


def test_a_beamline_in_two_machine_modes_from_call_to_outcomes(web: Web, one_loop: None) -> None:
    _admin, office, fac = oj.open_facility(
        web, "lnls", "Brazilian Synchrotron Light Laboratory", "BRA",
        {"name": "Sirius beamline CATERETE", "slug": "caterete", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    base = SHIFTS

    def closed(blocks: list[tuple[str, str]], reason: str) -> list[dict[str, str]]:
        return [{"starts_at": a, "ends_at": b, "reason": reason} for a, b in blocks]

    dev = closed([DEVELOPMENT], "machine development")
    # the multibunch shifts: 84 less the single-bunch 33 and the machine day's 3 = 48; the
    # operator first types the whole beamline's 84 and reads how many fit
    # the two modes share one beamline (trialfac21b): never in use at once
    multi_body = {**base, "name": "Multibunch shifts", "exclusive_group": "CATERETE",
                  "unavailable": closed(SINGLE, "single-bunch mode") + dev}  # fmt: skip
    r = office.post(res, {**multi_body, "amount": 84}, status=400)
    assert "48" in str(r["detail"]), r
    multi = office.post(res, {**multi_body, "amount": 48})
    single = office.post(res, {**base, "name": "Single-bunch shifts", "amount": 33,
                               "exclusive_group": "CATERETE",
                               "unavailable": closed(MULTI, "multibunch mode")})  # fmt: skip
    for pool, n in ((multi, 48), (single, 33)):
        cal = office.get(f"/api/v1/resources/{pool['id']}")["calendar"]
        # the beamline's open shifts, counted once: 84 less the machine day's 3
        assert (cal["slot_capacity"], cal["instrument_hours"]) == (n, 81 * 8), cal

    slug = "caterete-2027b"
    reviewers = oj.open_call(web, office, {
        "provider": "lnls", "facility": "caterete", "slug": slug, "code": "CAT27B",
        "cycle": "2027-II", "title": "CATERETE, second run 2027"},
        {"award_mode": "whole"},
        [("xr1@panel.example", "Crystallographer", "DEU"),
         ("xr2@panel.example", "Ultrafast physicist", "IND")],
        [{"pool_id": multi["id"], "amount": 48}, {"pool_id": single["id"], "amount": 33}])  # fmt: skip
    # an applicant reads on the call's page when each mode runs, on the site's clock
    page = oj.text_of(web.client("es").get(f"/calls/{slug}").text)
    runs = page[page.index("Single-bunch shifts:") :]
    assert "9 ago 2027" in runs.split(";")[0] and "26 ago 2027" in runs.split(";")[1], runs
    code_of: dict[str, str] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, m, s) in enumerate(TEAMS):
        address = f"cat-team{i}@uni.example"
        ac, pid = oj.applicant_draft(web, slug, address, iso3, f"Coherent imaging, {iso3}")
        both = "modes" if m and s else None
        for pool, amount, technique in ((multi, m, "diffraction"), (single, s, "pump-probe")):
            if amount:
                oj.ask_for(ac, pid, pool["id"], {"amount": amount, "technique": technique}, both)
        code_of[iso3] = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]
        team_of[iso3] = (pid, address)

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got: dict[tuple[str, int], float] = {(a["proposal_code"], a["pool_id"]): a["amount"]
                                         for a in awards}  # fmt: skip
    asked = {(code_of[c], multi["id"]): m for c, m, _s in TEAMS if m}
    asked |= {(code_of[c], single["id"]): s for c, _m, s in TEAMS if s}
    assert all(got[k] == asked[k] for k in got), got  # whole requests only
    for c, m, s in TEAMS:  # a team needing both modes gets both or neither
        if m and s:
            pair = ((code_of[c], multi["id"]) in got, (code_of[c], single["id"]) in got)
            assert pair in ((True, True), (False, False)), (c, got)
    assert sum(v for (_c, p), v in got.items() if p == multi["id"]) <= 48
    assert sum(v for (_c, p), v in got.items() if p == single["id"]) <= 33

    # the schedule: each mode's shifts inside its blocks, outside the machine day, at
    # 08:00, 16:00 or 00:00 on the site's clock, and one team a shift on the beamline
    on_shift: Counter[dt.datetime] = Counter()
    booked: Counter[tuple[str, int]] = Counter()
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        blocks = MULTI if e["pool_id"] == multi["id"] else SINGLE
        for k in range(round((end - start) / dt.timedelta(hours=8))):
            shift = (start + dt.timedelta(hours=8 * k)).astimezone(BRT)
            assert shift.hour in (0, 8, 16), e
            assert _inside(shift, blocks) and not _inside(shift, [DEVELOPMENT]), (shift, e)
            on_shift[shift] += 1
            booked[(e["proposal_code"], e["pool_id"])] += 1
    assert booked == {k: int(v) for k, v in got.items()}, (booked, got)
    assert max(on_shift.values()) == 1, on_shift

    # a team needing both modes reads both on its own page and in its calendar file
    both_codes = [c for c, m, s in TEAMS if m and s and (code_of[c], multi["id"]) in got]
    assert both_codes, got
    pid, address = team_of[both_codes[0]]
    mine = oj.signed_in(web, address)
    page = oj.text_of(mine.get(f"/proposals/{pid}/slots").text)
    assert "Multibunch shifts" in page and "Single-bunch shifts" in page, page[:3000]
    ics = mine.get(f"/proposals/{pid}/slots.ics").text
    code = code_of[both_codes[0]]
    assert ics.count("BEGIN:VEVENT") == sum(v for (c, _p), v in booked.items() if c == code)

    # the public busy calendar of a mode: no code, and the other mode's blocks closed
    public = web.client("en").get(f"/calls/{slug}/resources/{single['id']}/calendar.ics")
    assert public.status_code == 200 and all(c not in public.text for c in code_of.values())

    # the outcomes report: every awarded shift of both modes, and those of LDC teams
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["amounts"]["shift"] == sum(got.values()), rows
    ldc = sum(v for (c, _p), v in got.items() if c in {code_of[i] for i in ("BGD", "MOZ", "SEN")})
    assert rows["LDC"]["amounts"]["shift"] == ldc, rows
