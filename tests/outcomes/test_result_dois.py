"""A paper of two awards (the same DOI, however it is spelled) counts once in the
results of a group and of the whole call: before, each award's results were added up,
and a facility where teams publish together reported more papers than there are."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.outcomes import after_award as aa
from opencall.outcomes import after_award_data
from opencall.outcomes import queries as oq
from opencall.results import services as res
from tests import factories as F
from tests.results.awards_world import awarded_samples_call


def row(pid: str, group: str, dois: dict[str, list[str]], extra: int = 0) -> aa.AfterAwardRow:
    return aa.AfterAwardRow(
        proposal_id=pid,
        groups={"income_group": group},
        produced_results=True,
        outputs={k: len(v) + extra for k, v in dois.items()},
        result_dois={k: tuple(v) for k, v in dois.items()},
    )


def test_a_doi_shared_by_awards_counts_once_per_group_and_overall() -> None:
    rows = [
        row("1", "low", {"publication": ["10.1/a", "10.1/b"]}),
        row("2", "low", {"publication": ["10.1/a"]}, extra=1),  # and one without a DOI
        row("3", "high", {"publication": ["10.1/b"], "dataset": ["10.1/d"]}),
    ]
    got = {r.group: r for r in aa.results_by_kind(rows, "income_group", ["low", "high"])}
    assert got["low"].publications == 3  # 10.1/a, 10.1/b and the one without a DOI
    assert got["high"].publications == 1
    assert got["all"].publications == 3
    assert got["all"].datasets == 1
    assert got["all"].with_results == 3


def test_doi_spellings_of_one_paper_count_once_in_the_report(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN", "KEN"])
    spellings = ["https://doi.org/10.5555/Shared.1", "doi:10.5555/SHARED.1"]
    for p, doi in zip(props, spellings, strict=True):
        res.add_output(db, p, {"doi": doi, "title": "Shared", "year": 2027}, actor_id=None)
    res.add_output(db, props[0], {"title": "No DOI", "year": 2027}, actor_id=None)
    db.flush()
    rows = after_award_data.rows_for_call(db, call, oq.applicant_records(db, call), F.NOW.date())
    got = {r.group: r for r in aa.results_by_kind(rows, "income_group")}
    assert got["all"].publications == 2
    assert got["lower-middle"].publications == 2


def test_the_share_of_results_credits_a_shared_paper_once_split_between_its_awards() -> None:
    """outcomes15: the share of the results counted each award's results whole, so a
    paper of a low and a high income award was two results, one each: the groups' results
    added up to more than the call's papers, and their shares of them were off (here low
    income had 2 of 5 results, 40 %, for 1.5 of the call's 4 papers). A result listed by
    k awards now gives each 1/k (fractional counting): the groups' results add up to the
    call's distinct results, the figure of the results by kind."""
    rows = [
        row("1", "low", {"publication": ["10.1/a"]}, extra=1),  # and one without a DOI
        row("2", "high", {"publication": ["10.1/a", "10.1/b"]}),
        row("3", "high", {"publication": ["10.1/c"]}),
    ]
    shares = {r.group: r for r in aa.result_shares(rows, "income_group", ["low", "high"])}
    distinct = {r.group: r for r in aa.results_by_kind(rows, "income_group")}["all"].publications
    assert distinct == 4  # 10.1/a (two awards), 10.1/b, 10.1/c and one without a DOI
    assert (shares["low"].results, shares["high"].results) == (1.5, 2.5)
    assert shares["low"].results + shares["high"].results == distinct
    assert shares["low"].result_share == 1.5 / 4
    assert shares["high"].result_share == 2.5 / 4
    # without a shared result nothing changes: whole counts
    alone = [
        row("1", "low", {"publication": ["10.1/a"]}),
        row("2", "high", {"dataset": ["10.1/d"]}),
    ]
    assert [r.results for r in aa.result_shares(alone, "income_group")] == [1, 1]
