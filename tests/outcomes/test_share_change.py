"""outcomes16: did a group (LDCs, low income) get a larger share of the awards, and of
the awards with results, in this cycle than in the facility's earlier cycles? Counts
pooled over the earlier cycles, the difference with a Newcombe 95 % interval; nothing
computed from a hidden count or a count under the small-cell threshold."""

from __future__ import annotations

from typing import Any

import pytest

from opencall.outcomes import after_award as aa


def test_this_cycle_s_share_against_the_earlier_cycles_pooled() -> None:
    # LDC awards: 10 of 40 this cycle; 3 of 30 and 5 of 30 before (8 of 60 pooled)
    got = aa.share_change((10, 40), [(3, 30), (5, 30)], min_cell=5)
    assert (got.count, got.total, got.earlier_count, got.earlier_total) == (10, 40, 8, 60)
    assert got.share == 0.25 and got.earlier_share == pytest.approx(8 / 60)
    assert got.difference == pytest.approx(0.25 - 8 / 60)
    assert got.difference_low is not None and got.difference_high is not None
    assert got.difference_low < got.difference < got.difference_high
    assert got.earlier_cycles == 2 and got.shown


def test_no_share_from_a_hidden_or_small_count() -> None:
    # a count the page hides (None) in any earlier cycle: the pool is unknown
    hidden = aa.share_change((10, 40), [(None, 30), (5, 30)], min_cell=5)
    assert hidden.earlier_count is None and hidden.difference is None and not hidden.shown
    # four awards: under the threshold, no share (the report's own figures have none)
    small = aa.share_change((4, 40), [(8, 60)], min_cell=5)
    assert small.share is None and small.difference is None and not small.shown
    # the rest under five (a group with nearly every award) says as much
    most = aa.share_change((38, 40), [(8, 60)], min_cell=5)
    assert most.share is None and not most.shown
    # the office's report: every count is shown (min_cell 0)
    office = aa.share_change((4, 40), [(8, 60)], min_cell=0)
    assert office.share == 0.1 and office.difference == pytest.approx(0.1 - 8 / 60)


def test_a_first_cycle_has_nothing_to_compare_with() -> None:
    got = aa.share_change((10, 40), [], min_cell=5)
    assert got.share == 0.25 and got.earlier_total == 0 and got.difference is None


def test_share_changes_by_group_over_cycles() -> None:
    # per cycle, each group's (awarded, awards with results); "all" is the total
    cycles = [
        {"LDC": (5, 1), "non-LDC": (25, 10), "all": (30, 11)},
        {"LDC": (6, 2), "non-LDC": (24, 12), "all": (30, 14)},
        {"LDC": (12, 6), "non-LDC": (18, 9), "all": (30, 15)},
    ]
    rows = aa.share_changes(cycles, min_cell=0)
    ldc = {r["measure"]: r for r in rows if r["group"] == "LDC"}
    assert ldc["awards"]["count"] == 12 and ldc["awards"]["earlier_count"] == 11
    assert ldc["results"]["count"] == 6 and ldc["results"]["earlier_count"] == 3
    assert ldc["results"]["earlier_total"] == 25
    assert [r["group"] for r in rows if r["measure"] == "awards"] == ["LDC", "non-LDC"]


def test_the_public_pool_never_holds_an_earlier_cycle_s_small_count_of_results() -> None:
    """Pooled over cycles 1..N on one call's page and 1..N-1 on the previous call's, the
    two pages' difference was cycle N's count of awards with results, which its own page
    gives as "<5": such a cycle leaves the results pool unknown ("x"). Before, the page
    of cycle 3 pooled 2 + 3 = 5 LDC awards with results, and cycle 2's pooled 2."""
    from types import SimpleNamespace

    from opencall.outcomes.queries import public_change

    def cycle(call_id: int, ldc: tuple[int, int], other: tuple[int, int]) -> dict[str, Any]:
        both = (ldc[0] + other[0], ldc[1] + other[1])
        groups = {"all": list(both), "LDC": list(ldc), "other": list(other)}
        return {"call_id": call_id, "groups": {"income_group": groups, "ldc": groups}}

    data = {
        "cycles": [
            cycle(1, (6, 2), (20, 9)),
            cycle(2, (7, 3), (20, 11)),
            cycle(3, (9, 6), (20, 12)),
        ]
    }
    rows = public_change(SimpleNamespace(id=3), data, {1, 2, 3})["ldc"]
    ldc = {r["measure"]: r for r in rows if r["group"] == "LDC"}
    assert ldc["results"]["earlier_count"] is None and not ldc["results"]["shown"]
    # award counts are public (the awarded list names each PI's country): pooled
    assert (ldc["awards"]["earlier_count"], ldc["awards"]["earlier_total"]) == (13, 53)
    # an earlier cycle whose counts are all 0 or five and over pools as before
    data["cycles"][0] = cycle(1, (6, 5), (20, 9))
    data["cycles"][1] = cycle(2, (7, 0), (20, 11))
    rows = public_change(SimpleNamespace(id=3), data, {1, 2, 3})["ldc"]
    got = {r["measure"]: r for r in rows if r["group"] == "LDC"}["results"]
    assert (got["earlier_count"], got["earlier_total"]) == (5, 25)


def test_the_office_report_page_and_pdf_carry_the_change_table() -> None:
    """The office's page and PDF (report_document's ``change``) give the change across
    cycles the JSON and CSV have: every group, the counts beside the shares and the
    change in points with its interval."""
    from opencall.outcomes.report import change_table

    cycles = [
        {"LDC": (5, 1), "non-LDC": (25, 10), "all": (30, 11)},
        {"LDC": (12, 6), "non-LDC": (18, 9), "all": (30, 15)},
    ]
    data = {"after_award": {"share_change": {"ldc": aa.share_changes(cycles, min_cell=0)}}}
    t = change_table(lambda s, **k: s % k if k else s, data, "ldc")
    assert t["title"] == "Change across cycles: Least developed countries"
    assert t["columns"][:2] == ["Group", "Measure"]
    row = t["rows"][0]  # LDC's share of the awards: 12 of 30 now, 5 of 30 before
    assert row[:4] == ["Least developed countries", "Share of awards", "12 of 30 (40 %)",
                       "5 of 30 (17 %)"]  # fmt: skip
    assert row[4].startswith("+23 (")
