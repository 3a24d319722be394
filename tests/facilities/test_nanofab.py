"""A shared nanofabrication cleanroom opening tool hours to researchers worldwide, set
up from nothing through the JSON API on both backends (trialfac24c).

Three tools (electron-beam lithography, plasma etching, thin-film deposition) each offer
hours. A researcher from abroad may choose REMOTE-ASSISTED processing instead of
travelling: the staff run the process on their behalf, which consumes staff hours, a
second capacity. The call expresses the two modes as alternatives the applicant lists in
their order of preference: one bundle per mode (in person: the tool hours; remote: the
tool hours and the staff hours), under a cap of one award per PI, so that at most one
mode is awarded, the preferred one whenever it fits.
"""

from __future__ import annotations

import pytest

from tests.api.test_operator_journey import calibrate_to_schedule, close_and_assign, text_of
from tests.journeys import applicant, ask, open_call, open_facility, resource, submitted
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

START, END = "2027-03-01", "2027-08-31"
STAFF = 60  # staff hours for remote-assisted processing
# (PI's country, tool hours (EBL, etch, deposition), modes in order of preference)
USERS = [
    ("USA", (20, 10, 10), ("in-person",)),
    ("DEU", (20, 10, 10), ("in-person",)),
    ("KEN", (15, 10, 5), ("remote", "in-person")),
    ("BGD", (15, 5, 5), ("remote",)),
    ("PER", (10, 10, 10), ("remote", "in-person")),
    ("VNM", (20, 10, 10), ("remote", "in-person")),
    ("JPN", (25, 15, 10), ("in-person",)),
]
#: staff hours a remote-assisted request needs: one per tool hour
STAFF_PER_TOOL_HOUR = 1.0


def test_a_cleanroom_awards_one_mode_of_each_request(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "nanofab", "Open Nanofabrication Centre", "CHE",
        {"name": "Cleanroom", "slug": "cleanroom", "kind": "custom"},
        office_name="Cleanroom User Office",
    )  # fmt: skip
    period = {"period_start": START, "period_end": END, "whole_units": True}
    tools = [
        resource(office, fac, {"name": name, "unit": "h", "amount": amount, **period})
        for name, amount in (("E-beam lithography", 80), ("Plasma etcher", 60),
                             ("Thin-film deposition", 50))
    ]  # fmt: skip
    staff = resource(office, fac, {"name": "Staff hours (remote-assisted)", "unit": "h",
                                   "amount": STAFF, **period})  # fmt: skip
    slug = "nanofab-2027a"
    call = {"provider": "nanofab", "facility": "cleanroom", "slug": slug, "code": "NF27A",
            "cycle": "2027A", "title": "Open cleanroom access 2027A"}  # fmt: skip
    reviewers = open_call(web, office, call, {"award_mode": "whole", "pi_cap_awards": 1},
                          [(f"fab{i}@panel.example", f"Process engineer {i}", iso3)
                           for i, iso3 in enumerate(["CHE", "KOR", "BRA"])])  # fmt: skip

    asked: dict[str, tuple[str, tuple[int, int, int], tuple[str, ...]]] = {}
    for i, (iso3, hours, modes) in enumerate(USERS):
        ac, pid = applicant(web, f"user{i}@fab-{iso3.lower()}.example", iso3, slug,
                            f"Nanophotonic waveguides, group {i}")  # fmt: skip
        for mode in modes:
            for tool, h in zip(tools, hours, strict=True):
                ask(ac, pid, tool["id"], h, bundle=mode)
            if mode == "remote":
                ask(ac, pid, staff["id"], sum(hours) * STAFF_PER_TOOL_HOUR, bundle=mode)
        asked[submitted(ac, pid)] = (iso3, hours, modes)

    close_and_assign(web, office, slug)
    for k, rc in enumerate(reviewers):
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": 3.0 + ((a["id"] + k) % 5) * 0.3, "confidence": 4,
                "comments_to_applicants": "A clear process flow."})  # fmt: skip
    calibrate_to_schedule(web, office, slug)
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"

    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    got: dict[str, dict[str, float]] = {}
    for a in awards:
        got.setdefault(a["proposal_code"], {})[a["pool"]] = a["amount"]
    names = [t["name"] for t in tools]
    for code, pools in got.items():
        _iso3, hours, modes = asked[code]
        # one mode awarded, whole: its tool hours, and staff hours only if remote
        assert [pools.get(n) for n in names] == [float(h) for h in hours], (code, pools)
        remote = staff["name"] in pools
        assert ("remote" if remote else "in-person") in modes, (code, pools)
        if remote:
            assert pools[staff["name"]] == sum(hours) * STAFF_PER_TOOL_HOUR
    used_staff = sum(p.get(staff["name"], 0.0) for p in got.values())
    assert 0 < used_staff <= STAFF
    for tool in tools:
        assert sum(p.get(tool["name"], 0.0) for p in got.values()) <= tool["amount"]
    # a user who preferred remote but whose staff hours did not fit travels instead
    fallback = [c for c, p in got.items() if asked[c][2][0] == "remote" and staff["name"] not in p]
    assert fallback and all("in-person" in asked[c][2] for c in fallback), got

    # who benefits: per resource, what was asked counts each user's hours once, whichever
    # mode they chose (before trialfac24c a user listing both modes asked twice: 170 h of
    # e-beam lithography "requested", 125 h in fact)
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows = {(r["resource"], r["group"]): r for r in report["resources"]
            if r["grouping"] == "income_group"}  # fmt: skip
    for k, name in enumerate(names):
        row = rows[(name, "all")]
        assert row["amount_requested"] == sum(h[k] for _c, h, _m in USERS), row
        assert row["amount_awarded"] == sum(p.get(name, 0.0) for p in got.values()), row
    remote_asked = sum(sum(h) * STAFF_PER_TOOL_HOUR for _c, h, m in USERS if "remote" in m)
    assert rows[(staff["name"], "all")]["amount_requested"] == remote_asked
    page = text_of(web.client().get(f"/calls/{slug}/awarded").text)
    assert "Open cleanroom access 2027A" in page
