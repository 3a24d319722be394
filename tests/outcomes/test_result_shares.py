"""The equity of outcomes: a group's share of the results beside its share of the
awards, with intervals that resample awards (not results), and no judgement made
for a small group."""

from __future__ import annotations

import numpy as np

from opencall.outcomes import after_award as aa
from opencall.outcomes.report import result_share_table
from tests.outcomes.bootstrap_before import result_shares_before


def _rows(ldc: int, ldc_with_result: int, other: int) -> list[aa.AfterAwardRow]:
    rows = []
    for i in range(ldc):
        outs = {"publication": 1} if i < ldc_with_result else {}
        rows.append(aa.AfterAwardRow(f"l{i}", {"ldc": "LDC"}, outputs=outs))
    for i in range(other):
        rows.append(aa.AfterAwardRow(f"o{i}", {"ldc": "non-LDC"}, outputs={"publication": 2}))
    return rows


def test_ldc_results_against_their_awards() -> None:
    shares = {r.group: r for r in aa.result_shares(_rows(20, 5, 20), "ldc", ["LDC", "non-LDC"])}
    ldc = shares["LDC"]
    assert (ldc.awards, ldc.results) == (20, 5)
    assert ldc.award_share == 0.5 and ldc.result_share == 5 / 45
    assert ldc.judged and ldc.difference is not None
    assert ldc.difference_high is not None and ldc.difference_high < 0  # clearly fewer
    assert ldc.result_share_low is not None and ldc.result_share_high is not None
    assert ldc.result_share_low <= 5 / 45 <= ldc.result_share_high
    data = {"after_award": {"result_shares": {"ldc": [vars(r) for r in shares.values()]}}}
    table = result_share_table(lambda s, **k: s % k if k else s, data, "ldc")
    assert table["rows"][0][-1] == "Less than its share of the awards"


def test_a_small_group_gets_intervals_but_no_judgement() -> None:
    shares = {r.group: r for r in aa.result_shares(_rows(3, 0, 30), "ldc", ["LDC", "non-LDC"])}
    ldc = shares["LDC"]
    assert ldc.result_share == 0 and not ldc.judged
    # the interval says how little three awards can tell: not a point at zero
    assert ldc.award_share_high > 0.2
    data = {"after_award": {"result_shares": {"ldc": [vars(r) for r in shares.values()]}}}
    table = result_share_table(lambda s, **k: s % k if k else s, data, "ldc")
    assert table["rows"][0][-1] == "Too few to judge"
    # no results at all: shares of results are undefined, never 0 %
    none = aa.result_shares(_rows(3, 0, 0), "ldc")
    assert none[0].result_share is None and not none[0].judged


def test_the_share_of_the_used_with_results_never_exceeds_one() -> None:
    """Results may come without a recorded use (a paper from an award whose team never
    recorded a session): the share of the awards used that produced results counts
    only the used ones, never 2 of 1."""
    rows = [
        aa.AfterAwardRow("a", {"ldc": "LDC"}, used=True),
        aa.AfterAwardRow("b", {"ldc": "LDC"}, produced_results=True),
        aa.AfterAwardRow("c", {"ldc": "LDC"}, produced_results=True),
    ]
    funnel = {(r.group, r.stage): r for r in aa.after_award_funnel(rows, "ldc")}
    produced = funnel[("all", "produced_results")]
    assert produced.count == 2 and produced.previous == 1
    assert produced.stage_rate == 0.0
    assert all(r.stage_rate is None or 0 <= r.stage_rate <= 1 for r in funnel.values())


def test_the_groups_drawn_together_keep_their_intervals() -> None:
    rng = np.random.default_rng(5)
    for n in (9, 40, 257):
        rows = [
            aa.AfterAwardRow(
                str(i),
                {"un_region": ["Africa", "Asia", "Europe", "Americas"][int(rng.integers(0, 4))]},
                outputs={"publication": int(rng.integers(0, 9)), "patent": int(rng.random() < 0.2)},
            )
            for i in range(n)
        ]
        assert aa.result_shares(rows, "un_region") == result_shares_before(rows, "un_region"), n
