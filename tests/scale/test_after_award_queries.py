"""The after-award outputs of a call (the public after-award page, the user office's
report in HTML, CSV and JSON; the PDF reads what the JSON does) cost the same SQL statements, computed afresh, when
each award has one result or nine (papers with DOIs and ORCID iDs, datasets, patents)
and trainees reported after a course: no statement per result, per award or per
group. ``bench/bench_after_award.py`` times them at 2,000 awards."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.outcomes import after_award_data as aad
from opencall.outcomes import queries as oq
from opencall.results import domain as rd
from opencall.results import queries as rq
from opencall.results.models import PostAwardRecord, ResearchOutput
from tests import factories as F
from tests.scale.test_api_pages import count_statements
from tests.scale.test_results_page_queries import published
from tests.web.conftest import Web


def more_results(factory: sessionmaker[Session], slug: str, per_award: int) -> int:
    """``per_award`` more results for each award of the call (a paper with a DOI and an
    ORCID iD, a dataset, a patent, in turn) and a trainee's follow-up; how many awards."""
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        awarded = rq.awarded_proposals(s, call)
        kinds = ("publication", "dataset", "patent")
        s.execute(insert(ResearchOutput), [
            {"call_id": call.id, "proposal_id": p.id, "kind": kinds[j % 3],
             "doi": "" if kinds[j % 3] == "patent" else f"10.5555/more.{p.id}.{j}",
             "number": f"EP{p.id:05d}{j}A1" if kinds[j % 3] == "patent" else "",
             "orcids": ["0000-0002-1825-0097"] if j % 3 == 0 else [],
             "title": f"More {p.id}.{j}", "year": 2027, "authors": ["A. Author"],
             "countries": ["KEN"], "abstract": "", "acknowledgement": "",
             "acknowledges": True, "source": "typed"}
            for p in awarded for j in range(per_award)
        ])  # fmt: skip
        s.execute(insert(PostAwardRecord), [
            {"call_id": call.id, "proposal_id": p.id, "kind": "followup", "reminders_sent": 0,
             "data": {"participant": f"trainee {p.id}", "followed_up_on": "2027-06-01",
                      "people_trained": 12, "people_trained_women": 5, "demo_sites": 1,
                      "area_ha": 2.5}}
            for p in awarded
        ])  # fmt: skip
        s.commit()
        return len(awarded)


def afresh(web: Web, slug: str, office: str) -> dict[str, int]:
    """The statements of each output computed afresh (the caches emptied first)."""
    c = web.login(office)
    anyone = web.client()
    out = {}
    for path, who in (
        (f"/calls/{slug}/after-award", anyone),
        (f"/manage/calls/{slug}/report", c),
        (f"/manage/calls/{slug}/report.csv", c),
        (f"/manage/calls/{slug}/report.json", c),
    ):
        if who is anyone:  # a release of the public page is kept on its first visit
            oq.PUBLIC_AFTER_AWARD.clear()
            who.get(path)
        oq.REPORTS.clear()
        oq.PUBLIC_AFTER_AWARD.clear()
        with count_statements(web) as seen:
            r = who.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        out[path.replace(slug, "{slug}")] = len(seen)
    return out


def test_after_award_statements_do_not_grow_with_the_results(
    web: Web, factory: sessionmaker[Session]
) -> None:
    data = published(factory, 6)
    few = afresh(web, data["slug"], data["office"])
    assert more_results(factory, data["slug"], 8) > 0
    many = afresh(web, data["slug"], data["office"])
    print(few, many)
    grown = {p: (few[p], many[p]) for p in few if many[p] != few[p]}
    assert not grown, grown


def test_the_public_page_computes_no_use_or_follow_up_figures(
    web: Web, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The public page shows the stages, the time to a first result and the cycles'
    awards with results: every award's use and follow-up figures and its results' DOIs
    (a fifth of the page's time at 10 cycles and 5,000 awards) are not computed for it,
    nor for the report's earlier cycles (the trend counts the awards with results)."""
    data = published(factory, 6)
    more_results(factory, data["slug"], 3)
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == data["slug"])).one()
        pairs = [(call, oq.applicant_records(s, call))]
        whole, stages = (
            aad.rows_by_call(s, pairs, F.NOW.date(), figures=f)[call.id] for f in (True, False)
        )
    shown = ("groups", "used", "completed", "produced_results", "days_to_first_result",
             "follow_up_days", "outputs")  # fmt: skip
    assert [[getattr(r, k) for k in shown] for r in whole] == [
        [getattr(r, k) for k in shown] for r in stages
    ]
    assert any(r.use for r in whole) and not any(r.use or r.result_dois for r in stages)

    def not_here(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("computed for the public page")

    for name in ("use_figures", "follow_up_figures"):
        monkeypatch.setattr(rd, name, not_here)
    monkeypatch.setattr(rq, "normalise_doi", not_here)
    oq.PUBLIC_AFTER_AWARD.clear()
    r = web.client().get(f"/calls/{data['slug']}/after-award")
    assert r.status_code == 200, r.text[:300]
