"""The resource an award or a booking is of, by id, in the awards API and the schedule CSV
(branch trialfac21).

A beamline whose shifts run in two machine modes is offered as two resources of one unit
(tests/api/test_machine_modes_journey.py). The schedule API named each entry's resource by
id and name (``pool_id``, ``pool``), but ``GET /calls/<slug>/awards`` named it only by name
and the office's schedule CSV only inside the entry's label ("X-0001 · Multibunch shifts"):
joining the awards to the schedule, or filtering the CSV by mode, meant parsing words.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.api import test_operator_journey as oj
from tests.api.test_genebank_journey import give_reviews
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SHIFTS = {"unit": "shift", "slot_hours": 8, "period_start": "2027-08-02",
          "period_end": "2027-08-04", "amount": 9}  # fmt: skip


def test_awards_and_the_schedule_csv_name_the_resource_by_id(web: Web, one_loop: None) -> None:
    _admin, office, fac = oj.open_facility(
        web, "ring", "Light Source", "BRA", {"name": "Beamline", "slug": "bl", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    multi = office.post(res, {**SHIFTS, "name": "Multibunch shifts"})
    single = office.post(res, {**SHIFTS, "name": "Single-bunch shifts"})
    slug = "bl-1"
    (rev,) = oj.open_call(web, office, {
        "provider": "ring", "facility": "bl", "slug": slug, "code": "BL", "cycle": "1",
        "title": "Beamline call"}, {"award_mode": "whole"},
        [("rev@panel.example", "Reviewer One", "DEU")])  # fmt: skip
    ac, pid = oj.applicant_draft(web, slug, "pi@app.example", "MOZ", "Timing and diffraction")
    oj.ask_for(ac, pid, multi["id"], {"amount": 2})
    oj.ask_for(ac, pid, single["id"], {"amount": 3})
    code = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]
    # a timing team asks for single-bunch shifts alone
    ac2, pid2 = oj.applicant_draft(web, slug, "pi2@app.example", "PER", "Timing alone")
    oj.ask_for(ac2, pid2, single["id"], {"amount": 4})
    code2 = ac2.post(f"/api/v1/proposals/{pid2}/submit")["code"]
    oj.close_and_assign(web, office, slug)
    give_reviews([rev], lambda _a, _k: 4.5)
    oj.calibrate_to_schedule(web, office, slug)

    awards = office.get(f"/api/v1/calls/{slug}/awards")["items"]
    assert sorted((a["proposal_code"], a["pool_id"], a["pool"], a["amount"]) for a in awards) == [
        (code, multi["id"], "Multibunch shifts", 2.0),
        (code, single["id"], "Single-bunch shifts", 3.0),
        (code2, single["id"], "Single-bunch shifts", 4.0),
    ], awards

    entries = office.get(f"/api/v1/calls/{slug}/schedule", limit=50)["items"]
    r = oj.signed_in(web, "office@ring.example").get(f"/manage/calls/{slug}/schedule?format=csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert len(rows) == len(entries) == 9, (rows, entries)
    got = sorted((row["proposal"], row["resource_id"], row["resource"]) for row in rows)
    want = sorted((e["proposal_code"], str(e["pool_id"]), e["pool"]) for e in entries)
    assert got == want, (got, want)
    assert {row["resource"] for row in rows} == {"Multibunch shifts", "Single-bunch shifts"}

    # the public list: the timing team's shifts are the single-bunch ones, in words; its
    # "4 shifts" alone did not say of which mode
    office.post(f"/api/v1/calls/{slug}/release")
    office.post(f"/api/v1/calls/{slug}/publish")
    for lang, said in (
        ("en", "Single-bunch shifts: 4 shifts"),
        ("fr", "Single-bunch shifts : 4 postes"),
    ):
        page = oj.text_of(web.client(lang).get(f"/calls/{slug}/awarded").text)
        row = page[page.index(code2) : page.index(code2) + 200]
        assert said in row, row
