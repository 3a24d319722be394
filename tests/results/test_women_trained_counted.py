"""Women among the people trained, where only some follow-up reports counted them
(outcomes21). A juncao course's trainees report the people they trained; one counted the
women among them, the other did not. The report said "Of them, women: 18" beside
"People trained: 70", which a funder reads as 26 % women, while 18 of the 30 counted
(60 %) were women: the people trained whose women were counted are now given beside
them (JSON and API ``people_trained_gender_counted``, CSV
``follow_up:people_trained_gender_counted``, and on the page and in the PDF "18 (of
30 counted)" where not every one was counted). The figures are checked against a count
made here from the raw reports."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.outcomes import queries as oq
from opencall.outcomes import report as rp
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from opencall.results import services as rs
from opencall.web.i18n import Translator
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.course_world import course_world
from tests.results.test_public_suppression import tables
from tests.web.conftest import Web

#: PI country: [(participant, reported on, people trained, women among them or None)]
REPORTS = {
    "ETH": [("Abebe", "2028-05-01", 30, 18), ("Almaz", "2028-05-02", 40, None)],
    "NPL": [("Sita", "2028-05-03", 10, 10)],
    "DEU": [("Jonas", "2028-05-04", 5, None)],
}


def test_the_women_trained_are_given_with_the_people_they_were_counted_among(web: Web) -> None:
    with web.factory() as db:
        call, props = course_world(db, REPORTS)
        _report(db, call, props)
        office = F.user(db, email="office@example.org", language="fr")
        people_services.grant_role(db, office.id, "call_manager", provider_id=call.provider_id)
        db.commit()
        slug = call.slug
    # the page in French: the same cells as the PDF's table
    client, _ = session_client(web, "office@example.org")
    page = client.get(f"/manage/calls/{slug}/report")
    assert page.status_code == 200
    course = next(t for t in tables(page.text) if len(t[0]) == 10 and t[1][0] == "Revenu faible")
    assert {r[0]: r[3:5] for r in course[1:]}["Revenu faible"] == ["70", "18 (sur 30 comptés)"]


def _report(db: Session, call: Call, props: dict[str, Proposal]) -> None:
    for iso3, reports in REPORTS.items():
        for who, on, people, women in reports:
            rs.add_record(db, props[iso3], "course", {"participant": who, "attended": True,
                                                      "completed": True}, actor_id=None)  # fmt: skip
            data = {"participant": who, "followed_up_on": on, "people_trained": people}
            if women is not None:
                data["people_trained_women"] = women
            rs.add_record(db, props[iso3], "followup", data, actor_id=None)
    # in plain Python: per LDC status (Ethiopia and Nepal are LDCs, Germany is not)
    ldc = {"ETH": "LDC", "NPL": "LDC", "DEU": "non-LDC"}
    want: dict[str, dict[str, float]] = {}
    for iso3, reports in REPORTS.items():
        for g in (ldc[iso3], "all"):
            w = want.setdefault(g, {"trained": 0, "women": 0, "counted": 0})
            for _, _, people, women in reports:
                w["trained"] += people
                w["women"] += women or 0
                w["counted"] += people if women is not None else 0
    assert want["LDC"] == {"trained": 80, "women": 28, "counted": 40}

    data = oq.report(db, call)
    fu = {r["group"]: r for r in data["after_award"]["follow_up"]["ldc"]}
    for g, w in want.items():
        got = fu[g]
        assert (
            got["people_trained"],
            got["people_trained_women"],
            got["people_trained_gender_counted"],
        ) == (w["trained"], w["women"], w["counted"]), g
    cells = {(r[0], r[1], r[2]): r[3] for r in oq.after_award_csv_rows(data["after_award"])}
    for g, w in want.items():
        assert cells[("ldc", g, "follow_up:people_trained_gender_counted")] == w["counted"]
    # the office's table (page and PDF): women "of" those counted where not all were
    # (Ethiopia is low income, Nepal lower-middle and Germany high income: Nepal's one
    # report counted every woman, so its cell is as before)
    for lang, low_cell, high_cell in (
        ("en", "18 (of 30 counted)", "0 (of 0 counted)"),
        ("fr", "18 (sur 30 comptés)", "0 (sur 0 comptés)"),
    ):
        tr = Translator(lang).gettext
        table = rp.follow_up_table(tr, data, "income_group")
        rows = {r[0]: r for r in table["rows"]}
        assert rows[tr("Low income")][3:5] == ["70", low_cell], lang
        assert rows[tr("Lower-middle income")][3:5] == ["10", "10"], lang
        assert rows[tr("High income")][3:5] == ["5", high_cell], lang
