"""A shared cryo-electron microscope offering 24-hour remote sessions, set up by its operator
through the JSON API on a fresh install (branch trialfac16).

The microscope runs in Asia/Shanghai: a session runs 09:00 to 09:00 on the site's clock
(``day_start_hour`` 9 with the site's ``time_zone``), and applicants in Lima, Nairobi and
Kathmandu read their sessions on the site's clock and on their own. A user must be trained
in remote operation first: the microscope is offered only in an all-or-nothing bundle with
a seat on the remote-operation training (``bundle_with``), so a team without the training
request is refused before it submits, and a team is never awarded sessions without its
seat. Applicants from least-developed and low-income countries among others; review,
allocation, schedule, publication, and the sessions recorded after the award.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import defaultdict

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.people.models import User
from opencall.scheduling.models import ScheduleEntry
from opencall.web.pages import fmt_when
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import (
    Client,
    open_facility,
    signed_in,
    text_of,
)
from tests.api.test_seed_shipments_journey import (
    applicant,
    panel_call,
    refused_then_removed,
    submitted,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# (PI's country, their time zone, sessions); LDCs: NPL, MWI; low income: MWI, ETH
APPLICANTS = [
    ("PER", "America/Lima", 3),
    ("KEN", "Africa/Nairobi", 2),
    ("NPL", "Asia/Kathmandu", 2),
    ("MWI", "Africa/Blantyre", 2),
    ("ETH", "Africa/Addis_Ababa", 3),
    ("DEU", "Europe/Berlin", 4),
]


def ask(ac: Client, pid: int, pool: int, amount: int, bundle: str | None) -> None:
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    ac.post(f"/api/v1/proposals/{pid}/requests", {
        "version": version, "kind": "custom", "pool_id": pool,
        "details": {"amount": amount}, "bundle": bundle})  # fmt: skip


def test_remote_cryo_em_sessions_only_for_trained_teams_on_each_clock(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "scem", "Shanghai Cryo-EM Centre", "CHN",
        {"name": "Cryo-EM", "slug": "cryoem", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    training = office.post(res, {"name": "Remote-operation training", "unit": "seat",
                                 "amount": 6, "record_kinds": ["course"]})  # fmt: skip
    krios = office.post(res, {
        "name": "Krios G4 remote session", "unit": "session", "amount": 14, "slot_hours": 24,
        "period_start": "2027-03-01", "period_end": "2027-03-14", "day_start_hour": 9,
        "time_zone": "Asia/Shanghai", "bundle_with": [training["id"]],
        "record_kinds": ["session"]})  # fmt: skip
    cal = office.get(f"/api/v1/resources/{krios['id']}/calendar")
    assert cal["slot_capacity"] == 14, cal

    slug = "krios-27"
    call = {"provider": "scem", "facility": "cryoem", "slug": slug, "code": "KR27",
            "cycle": "2027", "title": "Remote Krios sessions, March 2027"}  # fmt: skip
    policy = {"award_mode": "whole", "group_shares": [{"group": "low_lmic", "min_share": 0.3}]}
    reviewers = panel_call(web, office, call, policy, "em")

    code_of: dict[str, str] = {}
    team: dict[str, tuple[int, str, Client]] = {}
    for i, (iso3, zone, n) in enumerate(APPLICANTS):
        address = f"em{i}@applicants.example"
        ac, pid = applicant(web, address, iso3, slug, f"A membrane transporter ({iso3})")
        with web.factory() as s:
            u = s.scalar(select(User).where(User.email == address))
            assert u is not None
            u.time_zone = zone
            s.commit()
        if i == 0:  # sessions without the training: refused before submission
            ask(ac, pid, krios["id"], n, None)
            refused_then_removed(ac, pid, "Remote-operation training")
        ask(ac, pid, training["id"], 1, "trained")
        ask(ac, pid, krios["id"], n, "trained")
        code_of[iso3] = submitted(ac, pid)
        team[iso3] = (pid, address, ac)

    review_and_publish(web, office, slug, reviewers)

    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
    assert by_code
    # never sessions without the training seat; never more sessions than the fortnight holds
    for got in by_code.values():
        assert got.get("Remote-operation training") == 1, got
    assert sum(g.get("Krios G4 remote session", 0) for g in by_code.values()) <= 14

    # the schedule: each session 09:00 to 09:00 in Shanghai, one team at a time
    with web.factory() as s:
        call_id = s.scalar(select(Call.id).where(Call.slug == slug))
        slots = list(s.scalars(select(ScheduleEntry).where(
            ScheduleEntry.call_id == call_id, ScheduleEntry.pool_id == krios["id"],
            ScheduleEntry.start.is_not(None))))  # fmt: skip
    assert len(slots) == sum(g.get("Krios G4 remote session", 0) for g in by_code.values())
    starts = [e.start for e in slots]
    assert len(set(starts)) == len(starts)
    for e in slots:
        assert e.start is not None and e.end is not None
        s0 = e.start.replace(tzinfo=dt.UTC).astimezone(SHANGHAI)
        assert (s0.hour, s0.minute) == (9, 0) and e.end - e.start == dt.timedelta(hours=24)

    # each team reads its sessions on the site's clock and on its own
    for iso3, zone, _n in APPLICANTS:
        if code_of[iso3] not in by_code:
            continue
        pid, address, _ac = team[iso3]
        mine = text_of(signed_in(web, address).get(f"/proposals/{pid}/slots").text)
        # (each time in the reader's language and zone, named: trialapp16's ``fmt_when``)
        site = "9:00 AM (China (Shanghai) Time, UTC+08:00)"
        own = [re.sub(r"\s+", " ", fmt_when(e.start.replace(tzinfo=dt.UTC), zone, "en"))
               for e in slots]  # fmt: skip
        assert site in re.sub(r"\s+", " ", mine), (iso3, mine[:3000])
        assert any(o in mine for o in own), (iso3, zone, mine[:3000])

    # after the award: the sessions run, recorded by the teams (one lost to a fault)
    for iso3, (pid, _address, ac) in team.items():
        if code_of[iso3] not in by_code:
            continue
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "session", "data": {
            "observed_on": "2027-03-05", "observed_hours": 20, "lost_hours": 4,
            "lost_reason": "fault", "completed": True}})  # fmt: skip
    stages = office.get(f"/api/v1/calls/{slug}/postaward", limit=50)["items"]
    assert len(stages) == len(by_code) and all(x["used"] for x in stages), stages
