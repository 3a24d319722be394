"""Results per award by income group, UN region and LDC status, with 95 % intervals
(outcomes18): the office's report gave each group's share of the call's results and its
publications per award without an interval, so a group's yield per award could not be
told from chance. ``after_award.results_per_award`` gives each group's results per award
(a result of k awards credited 1/k to each, as the share of results is) with a seeded
bootstrap interval over its awards, and the difference from the rest of the call with its
own; no judgement where the group or the rest holds fewer than 20 awards."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.outcomes import after_award as aa
from opencall.outcomes import queries as oq
from opencall.outcomes.report import report_document
from opencall.results import queries as rq
from opencall.results import services as res
from tests.results.awards_world import awarded_samples_call


def _row(i: int, group: str, n: int, dois: tuple[str, ...] = ()) -> aa.AfterAwardRow:
    return aa.AfterAwardRow(
        proposal_id=str(i),
        groups={"income_group": group},
        produced_results=n > 0,
        outputs={"publication": n} if n else {},
        result_dois={"publication": dois} if dois else {},
    )


def test_each_group_s_results_per_award_with_intervals_and_the_difference() -> None:
    # 24 low income awards with 3 results each, 24 high income with 1; one paper shared
    rows = [_row(i, "low", 3, ("10.1/shared",) if i == 0 else ()) for i in range(24)]
    rows += [_row(100 + i, "high", 1, ("10.1/shared",) if i == 0 else ()) for i in range(24)]
    rows += [_row(200 + i, "lower-middle", 2) for i in range(3)]
    got = {
        r.group: r
        for r in aa.results_per_award(rows, "income_group", ["low", "lower-middle", "high"])
    }
    assert list(got) == ["low", "lower-middle", "high", "all"]
    low, high, few = got["low"], got["high"], got["lower-middle"]
    # the shared paper is half a result of each of its two awards
    assert (low.results, high.results) == (71.5, 23.5)
    assert low.per_award == 71.5 / 24 and high.per_award == 23.5 / 24
    assert got["all"].per_award == (71.5 + 23.5 + 6) / 51
    assert low.per_award_low is not None and low.per_award_high is not None
    assert low.per_award_low <= low.per_award <= low.per_award_high
    # low income's awards yield more than the rest's, and the interval says so
    assert low.judged and low.difference is not None and low.difference_low > 0
    assert high.judged and high.difference_high is not None and high.difference_high < 0
    assert not few.judged  # three awards: shown, not judged
    # seeded: the same figures each time
    again = {
        r.group: r
        for r in aa.results_per_award(rows, "income_group", ["low", "lower-middle", "high"])
    }
    assert again == got


def test_the_office_report_carries_results_per_award_in_json_csv_and_tables(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN"] * 6 + ["DEU"] * 5)
    year = rq.awarded_on(call).year + 1
    for i, p in enumerate(props):
        for j in range(1 + (i < 6)):
            res.add_output(db, p, {"title": f"Paper {i}.{j}", "year": year}, actor_id=None)
    db.flush()
    data = oq.report(db, call)
    per = {r["group"]: r for r in data["after_award"]["results_per_award"]["income_group"]}
    assert per["lower-middle"]["per_award"] == 2.0 and per["high"]["per_award"] == 1.0
    assert per["all"]["awards"] == 11 and per["all"]["results"] == 17
    assert set(data["after_award"]["results_per_award"]) == {"income_group", "un_region", "ldc"}
    csv_text = oq.report_csv(data)
    assert "income_group,lower-middle,results_per_award,12,6,2.0," in csv_text, csv_text[-2000:]
    assert "income_group,lower-middle,results_per_award:difference," in csv_text
    fr = report_document(data, lambda s, **k: s % k if k else s)
    titles = [t["title"] for t in fr["results_per_award"]]
    assert "Results per award, by income group" in titles, titles


def test_the_results_per_award_table_is_translated() -> None:
    from opencall.web.i18n import translations

    data = {"after_award": {"results_per_award": {"ldc": [
        {"group": "LDC", "awards": 3, "results": 1.5, "per_award": 0.5, "per_award_low": 0.0,
         "per_award_high": 1.0, "difference": 0.1, "difference_low": -0.2,
         "difference_high": 0.4, "judged": False}]}}}  # fmt: skip
    for lang, title in (("fr", "Résultats par attribution : pays les moins avancés"),
                        ("es", "Resultados por asignación: países menos adelantados"),
                        ("zh", "每项授予的成果：最不发达国家")):  # fmt: skip
        t = translations(lang)

        def tr(s: str, **k: object) -> str:
            out = t.gettext(s)  # noqa: B023
            return out % k if k else out

        from opencall.outcomes.report import results_per_award_table

        table = results_per_award_table(tr, data, "ldc")
        assert table["title"] == title
        assert "%" not in table["note"].replace("95 %", "")
