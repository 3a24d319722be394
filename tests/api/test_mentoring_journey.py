"""A mentoring programme, set up by its operator through the JSON API on a fresh install:
the "resource" is a mentor's time. Four mentors in four countries, each speaking their own
languages, give hours (fractional: 7.5 h is a fine request) with a smallest request of 5 h
and a largest of 10 h; applicants rank the mentors they would work with (their order of
requests), choose a language the mentor speaks (each mentor's request form offers only
theirs), and get one mentor at most (one award per PI). Review, allocation, release,
publication; each mentor reads their own mentees' awards (node staff), records a session and
nothing of the other mentors'; the public figures by income group, UN region and LDC status.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import Client, account, open_call, open_facility, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

# (mentor, country, languages)
MENTORS = [
    ("Dr Amina Diallo (Dakar)", "SEN", ["French", "Wolof", "English"]),
    ("Dr Luis Ortega (Bogotá)", "COL", ["Spanish", "English"]),
    ("Dr Mei Chen (Kunming)", "CHN", ["Chinese", "English"]),
    ("Dr Ana Sousa (Maputo)", "MOZ", ["Portuguese", "English"]),
]
OFFER, MIN, MAX = 20, 5, 10  # hours of each mentor offered; smallest and largest request
# (country, hours, [(mentor index, language)] in the applicant's order of preference)
APPLICANTS = [
    ("MLI", 10, [(0, "French"), (3, "English")]),  # least developed
    ("NER", 10, [(0, "French"), (1, "English")]),  # least developed
    ("BEN", 7.5, [(0, "French")]),  # least developed
    ("PER", 10, [(1, "Spanish"), (2, "English")]),
    ("NPL", 10, [(2, "English"), (3, "English")]),  # least developed
    ("AGO", 10, [(3, "Portuguese"), (0, "English")]),
    ("IND", 10, [(2, "English"), (1, "English")]),
    ("GBR", 10, [(2, "English"), (3, "English"), (1, "English")]),
]


def test_a_mentoring_programme_gives_each_applicant_one_ranked_mentor(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "mentor", "Women in Science Mentoring", "KEN",
        {"name": "Mentors", "slug": "mentors", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    mentors = []
    for name, _iso3, langs in MENTORS:
        mentors.append(office.post(res, {
            "name": name, "unit": "h", "amount": 40, "request_fields": [
                {"key": "language", "type": "choice", "options": langs, "required": True,
                 "labels": {"en": "Language of the mentoring"}},
                {"key": "goal", "type": "text", "max_length": 300,
                 "labels": {"en": "What you want from the mentoring"}}]}))  # fmt: skip
    mentor_api: dict[str, Client] = {}
    for m, (name, iso3, _langs) in zip(mentors, MENTORS, strict=True):
        address = f"{iso3.lower()}@mentors.example"
        mentor_api[name] = account(web, address, name, country_iso3=iso3,
                                   institution=f"University of {iso3}")  # fmt: skip
        office.post(
            "/api/v1/providers/mentor/node-staff", {"email": address, "resources": [m["id"]]}
        )

    slug = "mentor-2028"
    reviewers = open_call(web, office, {
        "provider": "mentor", "facility": "mentors", "slug": slug, "code": "WM28",
        "cycle": "2028", "title": "Mentoring, 2028"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [("rv0@panel.example", "Senior Scientist 0", "KEN"),
         ("rv1@panel.example", "Senior Scientist 1", "BRA")],
        [{"pool_id": m["id"], "amount": OFFER, "min_per_request": MIN, "max_per_request": MAX}
         for m in mentors])  # fmt: skip

    # applicants read each mentor, their smallest and largest request, on the call's page
    page = text_of(web.client().get(f"/calls/{slug}").text)
    for name, _iso3, _langs in MENTORS:
        assert name in page, page[:3000]

    choices: dict[str, list[str]] = {}
    pis: dict[str, tuple[int, Client]] = {}
    for i, (iso3, hours, ranked) in enumerate(APPLICANTS):
        ac = account(web, f"pi{i}@applicants.example", f"Early-career Scientist {i}",
                     country_iso3=iso3, institution=f"University of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Mentoring plan {i}, {iso3}", "abstract": "A career plan.",
            "science_case": "Grant writing and leading a first lab."})["id"]  # fmt: skip

        def ask(pool: int, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            return ac.post(f"/api/v1/proposals/{pid}/requests", {  # noqa: B023
                "version": version, "kind": "custom", "pool_id": pool,
                "details": details}, status=status)  # fmt: skip

        if i == 0:  # a language the mentor does not speak, too few hours: refused, no change
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(mentors[0]["id"], status=400, amount=10, language="Spanish")
            assert "Language of the mentoring" in r["detail"], r
            r = ask(mentors[0]["id"], status=400, amount=2.5, language="French")
            assert "2.5" in r["detail"] and "5" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        for j, lang in ranked:
            ask(mentors[j]["id"], amount=hours, language=lang, goal="Lead a lab.")
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        choices[p["code"]] = [MENTORS[j][0] for j, _lang in ranked]
        pis[p["code"]] = (pid, ac)

    review_and_publish(web, office, slug, reviewers)

    # ---- one mentor per applicant at most, within each mentor's hours; a later choice only
    # where every earlier one had no room left
    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    by_mentor: dict[str, float] = defaultdict(float)
    for a in awards:
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
        by_mentor[a["pool"]] += a["amount"]
    assert all(v <= OFFER for v in by_mentor.values()), by_mentor
    assert by_code and all(len(v) == 1 for v in by_code.values()), by_code
    hours = {c: APPLICANTS[int(c[-4:]) - 1][1] for c in pis}
    for code, got in by_code.items():
        (mentor,) = got
        for earlier in choices[code][: choices[code].index(mentor)]:
            assert by_mentor[earlier] + hours[code] > OFFER, (code, earlier, by_mentor)
    assert by_code["WM28-0003"] in ({}, {MENTORS[0][0]: 7.5})  # fractional hours kept

    # ---- each mentor reads their own mentees, records a session, sees no one else's
    for name, _iso3, _langs in MENTORS:
        mentor = mentor_api[name]
        mine = mentor.get(f"/api/v1/calls/{slug}/node/awards", limit=200)["items"]
        assert {a["proposal_code"] for a in mine} == {c for c, v in by_code.items() if name in v}, (
            name,
            mine,
        )
        if mine:
            rec = mentor.post(f"/api/v1/calls/{slug}/node/awards/{mine[0]['award_id']}/records",
                              {"kind": "other", "data": {"description": "first session",
                                                         "used_amount": 1.5}})  # fmt: skip
            assert rec["award_id"] == mine[0]["award_id"]
        other = next(a for a in awards if a["pool"] != name)
        r = mentor.http.get(f"/api/v1/awards/{pis[other['proposal_code']][0]}",
                            headers=mentor.headers)  # fmt: skip
        assert r.status_code == 404, r.text[:300]

    # ---- who benefits: by income group, UN region and LDC status, in hours
    report = office.get(f"/api/v1/calls/{slug}/report")
    total = sum(by_mentor.values())
    rows = {r["group"]: r for r in report["funnels"]["income_group"] if r["stage"] == "awarded"}
    assert rows["all"]["amount_awarded"] == pytest.approx(total)
    assert {r["group"] for r in report["funnels"]["un_region"]} >= {"Africa", "Americas", "Asia"}
    assert "ldc" in report["funnels"]
    assert report["call"]["units"] == ["h"]
    print("MENTORS", dict(by_code), dict(by_mentor))
