"""Degenerate and extreme instances, through the JSON API as an operator meets them: a call
with one applicant, a resource with one slot, capacity a thousand times the demand and
capacity of one unit, requests exactly at the limits, a submission one second before the
deadline, Arabic and Hindi names, every reviewer in conflict with some proposal and a
proposal no reviewer may review. Each works, or is refused with a clear 4xx that changes
nothing; never a 500, a hang or a silently wrong schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from opencall.web import serving
from tests import factories as F
from tests.api.test_operator_journey import (
    calibrate_to_schedule,
    close_and_assign,
    run_jobs,
    run_step,
)
from tests.journeys import PASSWORD, Client, account, open_facility
from tests.web.conftest import Web, csrf

# the calls' resources have periods in 2028: on a pinned clock, not the real date, which
# will one day pass them (tests/conftest.py, --clock-ahead)
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

PACKETS = {lang: {"one": "packet", "other": "packets"} for lang in ("en", "zh", "fr", "es")}
CLOSES = F.PINNED_NOW + dt.timedelta(days=20)  # on the pinned clock
HINDI_INST = "भारतीय कृषि अनुसंधान संस्थान"  # Indian Agricultural Research Institute
CAIRO, AIN_SHAMS = "جامعة القاهرة", "جامعة عين شمس"


def operator(web: Web, slug: str) -> tuple[Client, int]:
    """A provider, its office and a custom facility; the office's client and the facility."""
    _admin, office, fac = open_facility(
        web, slug, f"Provider {slug}", "EGY",
        {"name": "Field laboratory", "slug": "lab", "kind": "custom"}, office_name="Office",
    )  # fmt: skip
    return office, fac["id"]


def new_call(office: Client, provider: str, slug: str, **settings: Any) -> None:
    office.post("/api/v1/calls", {
        "provider": provider, "facility": "lab", "slug": slug, "code": slug[:4].upper(),
        "cycle": "2028", "title": f"Call {slug}",
        "opens_at": (CLOSES - dt.timedelta(days=40)).isoformat(),
        "closes_at": CLOSES.isoformat(), "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 10},
        "allocation_policy": {"award_mode": "whole"}, **settings})  # fmt: skip


def reviewer(web: Web, office: Client, provider: str, email: str, inst: str, iso3: str) -> Client:
    rc = account(web, email, f"Reviewer {email.split('@')[0]}", country_iso3=iso3, institution=inst)
    office.post(f"/api/v1/providers/{provider}/roles", {"email": email, "role": "reviewer"})
    return rc


def propose(ac: Client, slug: str, title: str) -> int:
    p = ac.post("/api/v1/proposals", {"call": slug, "title": title, "abstract": "A trial.",
                                      "science_case": "Why it matters."})  # fmt: skip
    return int(p["id"])


def ask(ac: Client, pid: int, pool: int, amount: float, status: int | None = None) -> Any:
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {"version": version, "kind": "custom", "pool_id": pool, "details": {"amount": amount}}
    return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)


def review_all(reviewers: list[Client], grade: float = 4.0) -> int:
    n = 0
    for rc in reviewers:
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(f"/api/v1/assignments/{a['id']}/review",
                    {"grade": grade, "confidence": 3, "comments_to_applicants": "Fine."})  # fmt: skip
            n += 1
    return n


def to_allocation(web: Web, office: Client, slug: str, reviewers: list[Client]) -> int:
    close_and_assign(web, office, slug)
    n = review_all(reviewers)
    calibrate_to_schedule(web, office, slug)
    return n


def arriving_at(monkeypatch: pytest.MonkeyPatch, when: dt.datetime) -> None:
    """Requests from now on arrive at ``when`` (the receipt time deadlines are judged by)."""

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Clock:
            return cls.fromtimestamp(when.timestamp(), tz)

    class Module:
        datetime = Clock
        UTC = dt.UTC

    monkeypatch.setattr(serving, "dt", Module)


def test_one_applicant_at_the_limits_on_one_slot(
    web: Web, one_loop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    office, fac = operator(web, "oasis")
    res = f"/api/v1/facilities/{fac}/resources"
    # a resource with a single 24-hour slot, and one with a thousand packets
    bench = office.post(res, {"name": "Growth chamber", "unit": "day", "amount": 1,
                              "period_start": "2028-05-01", "period_end": "2028-05-01",
                              "slot_hours": 24})  # fmt: skip
    assert bench["calendar"]["slot_capacity"] == 1
    r = office.send("PATCH", f"/api/v1/resources/{bench['id']}", {"amount": 2}, status=400)
    assert "at most 1 fit" in r["detail"]
    # slots of 3.6 seconds for a year: refused with the figures, nothing made
    r = office.post(res, {"name": "Stopwatch", "unit": "session", "amount": 1,
                          "period_start": "2028-01-01", "period_end": "2028-12-31",
                          "slot_hours": 0.001}, status=400)  # fmt: skip
    assert "8784000 slots" in r["detail"] and "20000" in r["detail"], r
    assert len(office.get(f"/api/v1/facilities/{fac}")["resources"]) == 1
    seeds = office.post(res, {"name": "Seed packets", "unit": "packet", "unit_labels": PACKETS,
                              "whole_units": True, "amount": 1000})  # fmt: skip
    new_call(office, "oasis", "oasis-28", title="منح البذور ٢٠٢٨ — बीज अनुदान")
    office.post("/api/v1/calls/oasis-28/pools", {"pool_id": bench["id"], "amount": 1})
    office.post("/api/v1/calls/oasis-28/pools", {"pool_id": seeds["id"], "amount": 1000,
                                                 "min_per_request": 2, "max_per_request": 5})  # fmt: skip
    office.post("/api/v1/calls/oasis-28/transition", {"target": "open"})
    rev = reviewer(web, office, "oasis", "r@panel.example", "Wageningen University", "NLD")

    # ---- the one applicant: Arabic name and title, a Hindi institution
    ac = account(web, "pi@iari.example", "فاطمة الزهراء", country_iso3="IND",
                 institution=HINDI_INST)  # fmt: skip
    title = "تحسين محاصيل القمح في المناطق الجافة — गेहूँ सुधार"
    pid = propose(ac, "oasis-28", title)
    before = ac.get(f"/api/v1/proposals/{pid}/full")
    for pool, bad in ((seeds["id"], 1), (seeds["id"], 6), (bench["id"], 2), (bench["id"], 0.5)):
        r = ask(ac, pid, pool, bad, status=400)
        assert r["detail"].startswith("details.amount:"), r
    assert ac.get(f"/api/v1/proposals/{pid}/full") == before
    ask(ac, pid, seeds["id"], 5)  # the call's largest request
    ask(ac, pid, bench["id"], 1)  # the call's whole offer, the resource's one slot
    draft = propose(ac, "oasis-28", "A second idea, never submitted in time")
    ask(ac, draft, seeds["id"], 2)  # the call's smallest request

    # ---- one second before the deadline: accepted; at the deadline: refused, unchanged
    arriving_at(monkeypatch, CLOSES - dt.timedelta(seconds=1))
    p = ac.post(f"/api/v1/proposals/{pid}/submit")
    assert p["status"] == "submitted"
    arriving_at(monkeypatch, CLOSES)
    before = ac.get(f"/api/v1/proposals/{draft}/full")
    r = ac.post(f"/api/v1/proposals/{draft}/submit", status=400)
    assert CLOSES.strftime("%Y-%m-%d %H:%M:%S") in r["detail"], r
    assert ac.get(f"/api/v1/proposals/{draft}/full") == before
    monkeypatch.undo()

    # ---- the cycle with one proposal and one reviewer
    assert to_allocation(web, office, "oasis-28", [rev]) == 1
    office.post("/api/v1/calls/oasis-28/release")
    assert office.post("/api/v1/calls/oasis-28/publish")["status"] == "published"
    awards = web.client().get("/api/v1/calls/oasis-28/awards?limit=50").json()["items"]
    assert sorted((a["pool"], a["amount"]) for a in awards) == [
        ("Growth chamber", 1.0), ("Seed packets", 5.0)]  # fmt: skip
    sched = office.get("/api/v1/calls/oasis-28/schedule", limit=50)["items"]
    (slot,) = [e for e in sched if e["kind"] == "slot"]
    assert (slot["start"], slot["end"]) == ("2028-05-01T00:00:00Z", "2028-05-02T00:00:00Z")
    # the names travel whole to the public list and the decisions CSV
    page = web.client().get("/calls/oasis-28/awarded", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and title in page.text
    report = office.get("/api/v1/calls/oasis-28/report")
    assert report["n_applications"] == 1
    # the report as a PDF, with the call's Arabic and Hindi title
    staff = web.client()
    login = {"csrf_token": csrf(staff), "email": "office@oasis.example", "password": PASSWORD}
    assert staff.post("/login", data=login).status_code == 303
    pdf = staff.get("/manage/calls/oasis-28/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.text[:300]


def test_every_reviewer_conflicted_and_a_proposal_nobody_may_review(
    web: Web, one_loop: None
) -> None:
    office, fac = operator(web, "nile")
    tiny = office.post(f"/api/v1/facilities/{fac}/resources", {
        "name": "Seed packets", "unit": "packet", "unit_labels": PACKETS, "whole_units": True,
        "amount": 1})  # fmt: skip
    new_call(office, "nile", "nile-28")
    office.post("/api/v1/calls/nile-28/pools", {"pool_id": tiny["id"], "amount": 1})
    office.post("/api/v1/calls/nile-28/transition", {"target": "open"})
    # two reviewers at the Hindi-named institute, one at Cairo University
    revs = [reviewer(web, office, "nile", "r0@iari.example", HINDI_INST, "IND"),
            reviewer(web, office, "nile", "r1@iari.example", HINDI_INST, "IND"),
            reviewer(web, office, "nile", "r2@cu.example", CAIRO, "EGY")]  # fmt: skip
    # applicants: one at the institute (no reviewer may review it), one at Cairo
    # University (two may), one at Ain Shams University (every one may)
    pids: dict[str, int] = {}
    code: dict[str, str] = {}
    for key, inst, iso3 in (("iari", HINDI_INST, "IND"), ("cairo", CAIRO, "EGY"),
                            ("shams", AIN_SHAMS, "EGY")):  # fmt: skip
        ac = account(web, f"pi@{key}.example", f"PI {key}", country_iso3=iso3, institution=inst)
        pid = propose(ac, "nile-28", f"Wheat rust in {key}")
        ask(ac, pid, tiny["id"], 1)
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted"
        pids[key], code[key] = pid, p["code"]

    slug = "nile-28"
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "closed", "reason": "deadline"})
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "review"})
    for step in ("conflicts", "affinity"):
        run_step(web, office, slug, step)
    # the automatic assignment cannot give the institute's proposal its two reviewers
    # (the only one free of conflicts is at Cairo), nor Cairo's (its two free reviewers
    # share the institute, one per institution): it gives what the rules allow and lists
    # both, with why, instead of refusing the call
    job = office.post(f"/api/v1/calls/{slug}/steps/assignment", {"seed": 1})
    run_jobs(web)
    assert office.get(f"/api/v1/jobs/{job['id']}")["status"] == "done"
    uncovered = f"/api/v1/calls/{slug}/assignments/uncovered"
    short = {x["proposal_code"]: x for x in office.get(uncovered)["items"]}
    assert set(short) == {code["iari"], code["cairo"]}, short
    assert (short[code["iari"]]["reason"], short[code["iari"]]["assigned"]) == ("conflicts", 1)
    assert "Only 1 reviewer is free of conflicts" in short[code["iari"]]["explanation"]
    assert (short[code["cairo"]]["reason"], short[code["cairo"]]["assigned"]) == ("diversity", 1)
    rid = [rc.get("/api/v1/me")["id"] for rc in revs]
    pairs = office.get(f"/api/v1/calls/{slug}/assignments", limit=50)["items"]
    assert sorted(p["proposal_code"] for p in pairs) == sorted(
        [code["iari"], code["cairo"], code["shams"], code["shams"]]
    )
    # the Cairo reviewer is removed from the institute's proposal (unwell): a new run
    # finds no reviewer at all for it and keeps every other pair as it was
    pair = next(p for p in pairs if p["proposal_code"] == code["iari"])
    office.send("DELETE", f"/api/v1/calls/{slug}/assignments/{pair['id']}?reason=unwell")
    job = office.post(f"/api/v1/calls/{slug}/steps/assignment", {"seed": 2})
    run_jobs(web)
    assert office.get(f"/api/v1/jobs/{job['id']}")["status"] == "done"
    after = office.get(f"/api/v1/calls/{slug}/assignments", limit=50)["items"]
    assert sorted(p["id"] for p in after) == sorted(p["id"] for p in pairs if p is not pair)
    short = {x["proposal_code"]: x for x in office.get(uncovered)["items"]}
    assert (short[code["iari"]]["assigned"], short[code["iari"]]["reason"]) == (0, "conflicts")
    # the chair assigns by hand; a conflicted pair is refused with the reason
    r = office.post(f"/api/v1/calls/{slug}/assignments",
                    {"proposal_id": pids["iari"], "reviewer_id": rid[0]}, status=400)  # fmt: skip
    assert "conflict" in r["detail"].lower(), r
    r = office.post(f"/api/v1/calls/{slug}/assignments",
                    {"proposal_id": pids["cairo"], "reviewer_id": rid[2]}, status=400)  # fmt: skip
    assert "conflict" in r["detail"].lower(), r  # the same university, named in Arabic
    # Cairo's second reviewer by hand (the chair's pairs are not held to the diversity
    # rules): it leaves the list
    has = {p["reviewer_id"] for p in after if p["proposal_code"] == code["cairo"]}
    other = next(j for j in (0, 1) if rid[j] not in has)
    office.post(f"/api/v1/calls/{slug}/assignments",
                {"proposal_id": pids["cairo"], "reviewer_id": rid[other]})  # fmt: skip
    assert set(x["proposal_code"] for x in office.get(uncovered)["items"]) == {code["iari"]}
    assert review_all(revs) == 4
    calibrate_to_schedule(web, office, slug)
    # one unit for three proposals: one award, and the release waits for the chair
    unrev = office.get("/api/v1/calls/nile-28/unreviewed")["items"]
    assert [(u["proposal_code"], u["counted_reviews"]) for u in unrev] == [(code["iari"], 0)]
    status = office.get("/api/v1/calls/nile-28")
    r = office.post("/api/v1/calls/nile-28/release", status=400)
    assert code["iari"] in r["detail"], r
    assert office.get("/api/v1/calls/nile-28") == status
    office.post(f"/api/v1/calls/nile-28/unreviewed/{pids['iari']}",
                {"action": "reject", "reason": "Every reviewer shares the institute."})  # fmt: skip
    office.post("/api/v1/calls/nile-28/release")
    assert office.post("/api/v1/calls/nile-28/publish")["status"] == "published"
    awards = web.client().get("/api/v1/calls/nile-28/awards?limit=50").json()["items"]
    assert len(awards) == 1 and awards[0]["amount"] == 1
    assert awards[0]["proposal_code"] in (code["cairo"], code["shams"])
