"""A DOI (or a patent's number) listed by more than one award of a facility, in one cycle
or across cycles (outcomes18): a multi-year programme renewed each cycle lists its papers
on each year's award, and a paper claimed by a team that did not write it looks the same.
The report counts such a paper once within a call and credits it in parts, but across
cycles each cycle's trend counts it; nothing showed the user office which results were
listed twice. The office's report now lists them (JSON ``after_award.shared_results``,
CSV rows ``shared_result:<kind>``), with the awards and cycles that list each, so that
the office can check the claim; a retracted result is not listed."""

from __future__ import annotations

import datetime as dt
import html

from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.results import services as res
from tests import factories as F
from tests.results.awards_world import telescope_cycles
from tests.web.conftest import Web


def test_a_doi_listed_by_awards_of_two_cycles_is_shown_to_the_office(db: Session) -> None:
    fellow, other, third = (F.user(db, country=c) for c in ("KEN", "DEU", "BRA"))
    (c0, (p0, q0)), (c1, (p1, r1)) = telescope_cycles(
        db, [[(fellow, True), (other, True)], [(fellow, True), (third, True)]], first_year=2025
    )
    year = 2027
    # the fellowship's paper, listed on its award of each cycle (two spellings of the DOI)
    res.add_output(db, p0, {"doi": "10.5555/Fellow.1", "title": "Y1", "year": year}, actor_id=None)
    res.add_output(db, p1, {"doi": "https://doi.org/10.5555/fellow.1", "title": "Y1",
                            "year": year}, actor_id=None)  # fmt: skip
    # a paper of one award only, and one of two awards of the second cycle, then retracted
    res.add_output(db, q0, {"doi": "10.5555/own", "title": "Own", "year": year}, actor_id=None)
    gone = [
        res.add_output(
            db, p, {"doi": "10.5555/gone", "title": "Gone", "year": year}, actor_id=None
        )  # fmt: skip
        for p in (p1, r1)
    ]
    for o in gone:
        o.retracted_on = dt.date(2027, 9, 1)
    db.flush()
    data = oq.report(db, c1)
    shared = data["after_award"]["shared_results"]
    assert shared == [
        {
            "kind": "publication",
            "id": "10.5555/fellow.1",
            "awards": [
                {"call": c0.code, "cycle": c0.cycle, "award": p0.code},
                {"call": c1.code, "cycle": c1.cycle, "award": p1.code},
            ],
            # two awards of one PI, neither marked as continuing the other (outcomes19)
            "programme": False,
        }
    ], shared
    csv_text = oq.report_csv(data)
    assert f",10.5555/fellow.1,shared_result:publication,2,{p0.code} {p1.code}" in csv_text, (
        csv_text[-800:]
    )
    assert "10.5555/own" not in csv_text and "10.5555/gone" not in csv_text


def test_the_office_report_page_lists_them_in_french(web: Web) -> None:
    with web.factory() as s:
        fellow = F.user(s, country="KEN")
        (c0, (p0,)), (c1, (p1,)) = telescope_cycles(s, [[(fellow, True)], [(fellow, True)]])
        for p in (p0, p1):
            res.add_output(s, p, {"doi": "10.5555/fellow.2", "title": "Y", "year": 2027},
                           actor_id=None)  # fmt: skip
        office = F.user(s, email="office-shared18@staff.example")
        people_services.grant_role(s, office.id, "call_manager", call_id=c1.id)
        s.commit()
        slug = c1.slug
        codes = (p0.code, p1.code)
    page = web.login("office-shared18@staff.example", "fr").get(f"/manage/calls/{slug}/report")
    assert page.status_code == 200, page.text[:300]
    assert "Résultats déclarés par plusieurs attributions" in html.unescape(page.text)
    assert "10.5555/fellow.2" in page.text and all(c in page.text for c in codes)
