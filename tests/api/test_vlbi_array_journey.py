"""A VLBI array, set up by its operator through the JSON API on a fresh install: an
observation needs three of five radio telescopes on four continents AT THE SAME TIME.

Each telescope is a resource of its own, counted in 4-hour sessions, on its site's clock
(``Europe/Berlin``, ``Africa/Johannesburg``, ``Asia/Shanghai``, ``Australia/Sydney``,
``America/Los_Angeles``), its days starting at the local hour that puts every grid on the
same UTC instants (00:00, 04:00, ... UTC), each with its own maintenance day. An applicant
asks for the same number of sessions on three telescopes in one all-or-nothing bundle whose
requests say ``bundle_same_time``; one who would take either of two sub-arrays lists two
bundles, the preferred first, under one award per PI; a bundle of unequal amounts is not
submitted, and one whose two telescopes share no usable day (the applicant's impossible days)
is not awarded, saying why. Review, allocation, the schedule (the
same instants on every telescope of a bundle, nothing on a maintenance day), release,
publication, the public figures by income group, UN region and LDC status, and the records
after the award.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.allocation.models import Decision
from opencall.scheduling.models import ScheduleEntry
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

# (name, zone, local hour the days begin: 00:00 UTC or a multiple of 4 hours from it in June,
# the local maintenance day)
TELESCOPES = [
    ("Effelsberg", "Europe/Berlin", 2, "2028-06-06"),
    ("Hartebeesthoek", "Africa/Johannesburg", 2, "2028-06-07"),
    ("Tianma", "Asia/Shanghai", 0, "2028-06-08"),
    ("Parkes", "Australia/Sydney", 2, "2028-06-09"),
    ("Owens Valley", "America/Los_Angeles", 1, "2028-06-10"),
]
PERIOD = ("2028-06-05", "2028-06-11")  # 7 days: 42 sessions of 4 hours each
# (country, sessions, the sub-arrays asked for, preferred first: indices in TELESCOPES)
APPLICANTS = [
    ("DEU", 3, [(0, 1, 2)]),
    ("ZAF", 4, [(1, 3, 4), (0, 1, 3)]),
    ("CHN", 3, [(2, 3, 4)]),
    ("ETH", 2, [(0, 1, 3)]),  # least developed
    ("AUS", 5, [(0, 2, 3), (1, 2, 3)]),
    ("MEX", 3, [(0, 3, 4)]),
    ("NPL", 2, [(1, 4)]),  # least developed; no day that both telescopes can use
]
# the last applicant's days that each of its telescopes cannot be used on (the site's days)
NO_COMMON_DAY = {1: [["2028-06-05", "2028-06-08"]], 4: [["2028-06-09", "2028-06-11"]]}
OFFER = 8  # sessions of each telescope offered to the call


def test_a_vlbi_array_books_three_telescopes_at_the_same_instants(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "vlbi", "Global VLBI Array", "NLD",
        {"name": "VLBI network", "slug": "array", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    tels = []
    for name, zone, hour, maint in TELESCOPES:
        tels.append(office.post(res, {
            "name": name, "unit": "session", "amount": 36, "slot_hours": 4,
            "period_start": PERIOD[0], "period_end": PERIOD[1], "day_start_hour": hour,
            "time_zone": zone, "unavailable": [{
                "starts_at": f"{maint}T{hour:02d}:00:00", "ends_at":
                f"{dt.date.fromisoformat(maint) + dt.timedelta(days=1)}T{hour:02d}:00:00",
                "reason": "receiver maintenance"}]}))  # fmt: skip
    starts = {t["calendar"]["starts_at"] for t in tels}
    assert all(s[11:13] in ("00", "16", "08") for s in starts), starts  # one 4-hour UTC grid

    slug = "vlbi-2028"
    reviewers = open_call(web, office, {
        "provider": "vlbi", "facility": "array", "slug": slug, "code": "VL28",
        "cycle": "2028", "title": "Global VLBI sessions, June 2028"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [("rv0@panel.example", "Radio Astronomer 0", "NLD"),
         ("rv1@panel.example", "Radio Astronomer 1", "JPN")],
        [{"pool_id": t["id"], "amount": OFFER} for t in tels])  # fmt: skip

    pis: dict[str, tuple[int, Client, str]] = {}
    country_of: dict[str, str] = {}
    for i, (iso3, n, arrays) in enumerate(APPLICANTS):
        address = f"pi{i}@applicants.example"
        ac = account(web, address, f"Astronomer {i}", country_iso3=iso3,
                     institution=f"Observatory of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Jet base of quasar {i}", "abstract": "A jet at 22 GHz.",
            "science_case": "Microarcsecond imaging of a jet base."})["id"]  # fmt: skip

        def ask(pool: int, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            return ac.post(f"/api/v1/proposals/{pid}/requests", {  # noqa: B023
                "version": version, "kind": "custom", "pool_id": pool,
                "bundle": details.pop("bundle", None), "details": details}, status=status)  # fmt: skip

        if i == 0:  # "same time" is a yes or no; nothing is stored otherwise
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(tels[0]["id"], status=400, amount=2, bundle="a", bundle_same_time="yes")
            assert "same times" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        for k, trio in enumerate(arrays):
            for j in trio:
                # the first applicant asks one session too many of the third telescope
                extra = 1 if (i, k, j) == (0, 0, trio[-1]) else 0
                off = NO_COMMON_DAY[j] if i == len(APPLICANTS) - 1 else []
                got = ask(tels[j]["id"], amount=n + extra, bundle=f"array{k + 1}",
                          bundle_same_time=True, impossible_dates=off)  # fmt: skip
        if i == 0:  # unequal amounts at the same times cannot be booked: not submitted
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "same amount" in r["detail"] and "array1" in r["detail"], r
            last = got["requests"][-1]
            ac.send("PUT", f"/api/v1/proposals/{pid}/requests/{last['id']}", {
                "version": got["version"], "bundle": "array1",
                "details": {"amount": n, "bundle_same_time": True}})  # fmt: skip
        if i == 0:  # the editor offers the choice to applicants, ticked as asked
            html = signed_in(web, address).get(f"/proposals/{pid}").text
            assert "at the same times (all resources at once)" in text_of(html), html[:2000]
            assert 'name="bundle_same_time" checked' in html
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        pis[p["code"]] = (pid, ac, address)
        country_of[p["code"]] = iso3

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: whole bundles of three, one per PI, within each telescope's offer
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    by_pool: dict[str, float] = defaultdict(float)
    for a in awards:
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
        by_pool[a["pool"]] += a["amount"]
    assert all(v <= OFFER for v in by_pool.values()), by_pool
    assert by_code and all(len(v) == 3 for v in by_code.values()), by_code
    # a bundle whose telescopes share no usable time is not awarded, and says why
    code = max(pis)
    outcome = pis[code][1].get(f"/api/v1/proposals/{pis[code][0]}/outcome")
    assert code not in by_code and "at once" in str(outcome), outcome
    # ... in the reader's language on the outcome page (a message id, not English text)
    page = signed_in(web, pis[code][2], "fr").get(f"/proposals/{pis[code][0]}/outcome")
    assert "utilisables à la fois sur toutes les ressources de son lot" in text_of(page.text)
    assert "at once" not in text_of(page.text)
    with web.factory() as s:
        stored = s.scalar(select(Decision).where(Decision.proposal_id == pis[code][0]))
    assert stored is not None and "%(resources)s" in json.dumps(stored.explanation_msg)

    # ---- the schedule: each awarded bundle at the same UTC instants on its three
    # telescopes, none on a telescope's maintenance day, no telescope booked twice
    with web.factory() as s:
        slots = list(s.scalars(select(ScheduleEntry).where(ScheduleEntry.kind == "slot")))
    assert len(slots) == int(sum(by_pool.values())), (len(slots), by_pool)
    pool_name = {t["id"]: t["name"] for t in tels}
    per: dict[int, dict[str, set[dt.datetime]]] = defaultdict(lambda: defaultdict(set))
    seen: set[tuple[int, dt.datetime]] = set()
    for e in slots:
        assert (e.pool_id, e.start) not in seen
        seen.add((e.pool_id, e.start))
        per[e.proposal_id][pool_name[e.pool_id]].add(e.start)
        assert e.end - e.start == dt.timedelta(hours=4)
    for t, (_n, _z, _h, maint) in zip(tels, TELESCOPES, strict=True):
        off = next(iter(t["calendar"]["unavailable"]))
        lo, hi = (dt.datetime.fromisoformat(off[k]) for k in ("starts_at", "ends_at"))
        assert not [e for e in slots if e.pool_id == t["id"] and lo <= e.start < hi], maint
    for code, got in by_code.items():
        instants = per[pis[code][0]]
        assert set(instants) == set(got), (code, instants, got)
        assert len({frozenset(v) for v in instants.values()}) == 1, (code, instants)

    # the schedule CSV says each session on its own site's clock
    staff = signed_in(web, "office@vlbi.example")
    r = staff.get(f"/manage/calls/{slug}/schedule?format=csv")
    rows = [x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if x["start"]]
    assert {x["time_zone"] for x in rows} <= {z for _n, z, _h, _m in TELESCOPES}
    assert len(rows) == len(slots)

    # ---- who benefits: by income group, UN region, LDC status, matching the awards
    report = office.get(f"/api/v1/calls/{slug}/report")
    total = sum(by_pool.values())
    rows_ig = {r["group"]: r for r in report["funnels"]["income_group"] if r["stage"] == "awarded"}
    assert rows_ig["all"]["amount_awarded"] == pytest.approx(total)
    assert {r["group"] for r in report["funnels"]["un_region"]} >= {"Africa", "Europe"}
    assert "ldc" in report["funnels"]

    # ---- after the award: a team records its correlated sessions
    code = sorted(by_code)[0]
    pid, ac, _address = pis[code]
    ac.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "data": {
        "description": "correlated at the JIVE correlator", "used_amount": 3,
        "completed": True}})  # fmt: skip
    assert office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"]
    print("VLBI", dict(by_code), country_of)
