"""A paper two awards list (the same DOI, typed once with its resolver's address and in
upper case) is one paper everywhere in the office's report (outcomes20): the results by
kind counted it once already, but the use table's publications per award summed each
award's list, so that the same call read 2 papers (1.0 an award) there and 1 paper in
the results table; it now counts a shared paper fractionally (as the results per award
and the shares of the results do), its groups' credits adding up to the call's papers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.results import services as res
from tests.results.awards_world import awarded_custom_call


def _by(rows: list[dict[str, Any]], group: str) -> dict[str, Any]:
    return next(r for r in rows if r["group"] == group)


def test_a_paper_of_two_awards_is_one_paper_in_every_table(db: Session) -> None:
    call, (ken, deu) = awarded_custom_call(db, ["KEN", "DEU"], unit="h", amount=10)
    res.add_output(db, ken, {"doi": "https://doi.org/10.5555/SHARED.1", "title": "P",
                             "year": 2028}, actor_id=None)  # fmt: skip
    res.add_output(db, deu, {"doi": "10.5555/shared.1", "title": "P", "year": 2028},
                   actor_id=None)  # fmt: skip
    res.add_output(db, deu, {"title": "Undated data", "year": 2028, "kind": "dataset"},
                   actor_id=None)  # fmt: skip
    aa = oq.report(db, call)["after_award"]
    for by in ("income_group", "un_region", "ldc"):
        every = _by(aa["results"][by], "all")
        assert (every["publications"], every["datasets"]) == (1, 1), (by, every)
        use = _by(aa["use"][by], "all")
        assert (use["publications"], use["publications_per_award"]) == (1, 0.5), (by, use)
    # each group's credit is half the paper; the groups add up to the call's one paper
    halves = [u["publications_per_award"] for u in aa["use"]["income_group"]
              if u["group"] != "all"]  # fmt: skip
    assert halves == [0.5, 0.5], aa["use"]["income_group"]
    rows = {(r[0], r[1], r[2]): r[3] for r in __import__("csv").reader(
        __import__("io").StringIO(oq.report_csv(oq.report(db, call))))}  # fmt: skip
    assert rows[("ldc", "all", "use:publications_per_award")] == "0.5"
