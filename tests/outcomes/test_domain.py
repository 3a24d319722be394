"""Unit tests of the pure outcomes statistics (opencall.outcomes.domain)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencall.outcomes import domain as d
from opencall.outcomes.domain import TOTAL, ApplicantRecord, ReviewRecord

# --------------------------------------------------------------------------- helpers


def rec(
    pid: str,
    income: str = "high",
    *,
    region: str = "Europe",
    ldc: bool = False,
    host: bool = False,
    stage: str = "applied",
    grade: float | None = None,
    rank: int | None = None,
    requested: float = 10.0,
    awarded: float = 0.0,
    scheduled: float = 0.0,
    iso3: str = "DEU",
) -> ApplicantRecord:
    upto = CHAIN.index(stage)
    return ApplicantRecord(
        proposal_id=pid,
        country_iso3=iso3,
        income_group=income,
        un_region=region,
        ldc=ldc,
        host=host,
        applied=True,
        eligible=upto >= 1,
        feasible=upto >= 2,
        reviewed=upto >= 3,
        calibrated_grade=grade,
        rank=rank,
        awarded=upto >= 4,
        amount_requested=requested,
        amount_awarded=awarded,
        amount_scheduled=scheduled,
    )


#: The main chain of the default funnel ("ranked in the funded range" is a side stage).
CHAIN = ("applied", "eligible", "feasible", "reviewed", "awarded", "scheduled")


# --------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        # Newcombe (1998), Stat. Med. 17:857, Table I, method 3 (Wilson score, no CC).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # statsmodels proportion_confint(5, 10, method="wilson") / (0, 10)
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
    ],
)
def test_wilson_golden_values(k: int, n: int, lo: float, hi: float) -> None:
    got = d.wilson_interval(k, n)
    assert got[0] == pytest.approx(lo, abs=5e-5)
    assert got[1] == pytest.approx(hi, abs=5e-5)


def test_wilson_edges() -> None:
    assert d.wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = d.wilson_interval(10, 10)
    assert hi == 1.0 and 0.69 < lo < 0.73
    with pytest.raises(ValueError):
        d.wilson_interval(3, 2)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_estimate_and_is_symmetric(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = d.wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    lo2, hi2 = d.wilson_interval(n - k, n)
    assert lo2 == pytest.approx(1 - hi, abs=1e-12) and hi2 == pytest.approx(1 - lo, abs=1e-12)


# --------------------------------------------------------------------------- funnel


def small_world() -> list[ApplicantRecord]:
    return [
        rec("h1", "high", stage="awarded", grade=4.5, rank=1, awarded=20, scheduled=18),
        rec("h2", "high", stage="awarded", grade=4.0, rank=2, awarded=10, scheduled=10),
        rec("h3", "high", stage="reviewed", grade=3.0, rank=5),
        rec("h4", "high", stage="applied"),
        rec("l1", "low", region="Africa", ldc=True, stage="awarded", grade=4.2, rank=3, awarded=5),
        rec("l2", "low", region="Africa", ldc=True, stage="eligible"),
        rec("c1", "upper-middle", region="Asia", host=True, stage="reviewed", grade=3.5, rank=4),
    ]


def test_funnel_counts_rates_means_amounts() -> None:
    rows = {(r.group, r.stage): r for r in d.funnel(small_world(), "income_group")}
    assert [g for g, s in rows if s == "applied"] == ["low", "upper-middle", "high"]
    high_aw = rows[("high", "awarded")]
    assert (high_aw.count, high_aw.applied, high_aw.previous) == (2, 4, 3)
    assert high_aw.rate == pytest.approx(0.5)
    assert high_aw.stage_rate == pytest.approx(2 / 3)
    assert (high_aw.rate_low, high_aw.rate_high) == d.wilson_interval(2, 4)
    assert high_aw.mean_grade == pytest.approx(4.25)
    assert high_aw.mean_rank == pytest.approx(1.5)
    assert high_aw.amount_awarded == 30 and high_aw.amount_scheduled == 28
    assert high_aw.amount_requested == 20
    high_feas = rows[("high", "feasible")]
    assert high_feas.count == 3 and high_feas.mean_grade == pytest.approx(11.5 / 3)
    low_el = rows[("low", "eligible")]
    assert low_el.count == 2 and low_el.mean_grade == pytest.approx(4.2)
    low_feas = rows[("low", "feasible")]
    assert low_feas.count == 1 and low_feas.stage_rate == pytest.approx(0.5)
    assert rows[("upper-middle", "awarded")].count == 0
    assert rows[("upper-middle", "awarded")].mean_grade is None


def test_funnel_groupings_and_total() -> None:
    world = small_world()
    ldc = {(r.group, r.stage): r.count for r in d.funnel(world, "ldc", include_total=True)}
    assert ldc[("LDC", "applied")] == 2 and ldc[("non-LDC", "applied")] == 5
    assert ldc[("all", "awarded")] == 3
    host = {(r.group, r.stage): r.count for r in d.funnel(world, "host")}
    assert host[("host", "feasible")] == 1 and host[("international", "awarded")] == 3
    reg = [r.group for r in d.funnel(world, "un_region") if r.stage == "applied"]
    assert reg == ["Africa", "Asia", "Europe"]
    with pytest.raises(ValueError):
        d.funnel(world, "planet")  # type: ignore[arg-type]


def test_stage_reached_is_cumulative() -> None:
    odd = ApplicantRecord("x", "KEN", "lower-middle", "Africa", False, False, True, False, True)
    assert not d.stage_reached(odd, "feasible")


# --------------------------------------------------------------------------- BH and group tests


def test_bh_adjust_matches_hand_computation() -> None:
    # sorted p: .005 .01 .03 .04 -> p*m/i = .02 .02 .04 .04 (already monotone)
    got = d.bh_adjust([0.01, 0.04, 0.03, 0.005])
    assert got == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # step-up: a later small ratio pulls earlier ones down
    assert d.bh_adjust([0.04, 0.045]) == pytest.approx([0.045, 0.045])
    assert d.bh_adjust([]) == []


def test_difference_tests_flag_worse_group_with_sign() -> None:
    world = []
    for i in range(60):
        world.append(rec(f"h{i}", "high", stage="awarded" if i < 30 else "reviewed"))
    for i in range(60):
        world.append(rec(f"l{i}", "low", stage="awarded" if i < 6 else "reviewed"))
    for i in range(60):
        world.append(rec(f"m{i}", "upper-middle", stage="awarded" if i < 18 else "reviewed"))
    res = {t.group: t for t in d.difference_tests(world, "income_group", "awarded")}
    assert res["low"].significant and res["low"].direction == "worse"
    assert res["high"].significant and res["high"].direction == "better"
    assert res["upper-middle"].direction == "same" or res["upper-middle"].significant
    assert res["low"].test == "chi2"
    for t in res.values():
        assert t.p_adjusted >= t.p_value - 1e-15
    # with a tiny q nothing survives
    strict = d.difference_tests(world, "income_group", "awarded", q=1e-12)
    assert not any(t.significant for t in strict)


def test_difference_tests_small_counts_use_fisher_and_degenerate_is_none() -> None:
    world = [rec("a", "low", stage="awarded"), rec("b", "low", stage="reviewed")]
    world += [rec(f"h{i}", "high", stage="awarded") for i in range(4)]
    res = {t.group: t for t in d.difference_tests(world, "income_group", "awarded")}
    assert res["low"].test == "fisher" and not res["low"].significant
    only = d.difference_tests(world[:2], "income_group", "awarded")
    assert only[0].test == "none" and only[0].p_value == 1.0
    with pytest.raises(ValueError):
        d.difference_tests(world, "income_group", "applied")
    with pytest.raises(ValueError):
        d.difference_tests(world, "income_group", "eligible", base_stage="feasible")


# --------------------------------------------------------------------------- reviewer bias


def reviews_world(shift: float, higher_is_better: bool = True) -> list[ReviewRecord]:
    import numpy as np

    rng = np.random.default_rng(7)
    out = []
    for i in range(240):
        ag = ["Africa", "Asia", "Europe"][i % 3]
        consensus = float(rng.uniform(1, 5))
        bias = shift if ag == "Africa" else 0.0
        orientation = 1 if higher_is_better else -1
        grade = consensus + orientation * (bias + rng.normal(0, 0.5))
        out.append(ReviewRecord(f"r{i % 12}", f"p{i}", "Europe", ag, grade, consensus))
    return out


def test_reviewer_bias_sign_and_orientation() -> None:
    cells = d.reviewer_group_bias(reviews_world(-0.6))
    africa = next(c for c in cells if c.applicant_group == "Africa")
    assert africa.significant and africa.direction == "harsher"
    assert africa.difference == pytest.approx(-0.6, abs=0.2)
    assert africa.mean_residual < 0
    assert "Europe" in africa.describe() and "less favourably" in africa.describe()
    # Lower-is-better scale: harsher means a numerically higher grade.
    flipped = d.reviewer_group_bias(reviews_world(-0.6, False), higher_is_better=False)
    africa2 = next(c for c in flipped if c.applicant_group == "Africa")
    assert africa2.direction == "harsher" and africa2.mean_residual > 0
    assert africa2.difference == pytest.approx(africa.difference, abs=1e-9)


def test_reviewer_bias_permutation_is_seeded() -> None:
    world = reviews_world(-0.6)
    a = d.reviewer_group_bias(world, method="permutation", seed=3, n_resamples=499)
    b = d.reviewer_group_bias(world, method="permutation", seed=3, n_resamples=499)
    assert a == b
    assert next(c for c in a if c.applicant_group == "Africa").direction == "harsher"


def test_reviewer_bias_skips_thin_cells() -> None:
    world = [ReviewRecord("r", f"p{i}", "Asia", "Europe", 3.0, 3.0) for i in range(5)]
    world += [ReviewRecord("r", "q", "Asia", "Africa", 2.0, 3.0)]
    assert d.reviewer_group_bias(world) == []
    with pytest.raises(ValueError):
        d.reviewer_group_bias(world, method="bayes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- divide context


def test_researcher_counts_latest_year_with_population() -> None:
    rpm = {"AAA": {2018: 100.0, 2021: 200.0, 2025: 999.0}, "BBB": {2010: 50.0}, "CCC": {2020: 10.0}}
    pop = {"AAA": {2018: 1e6, 2020: 2e6, 2021: 3e6}, "BBB": {2010: 1e6}, "CCC": {2019: 5e6}}
    got = d.researcher_counts(rpm, pop, (2015, 2024))
    assert set(got) == {"AAA"}  # BBB out of window; CCC has no population for 2020
    assert got["AAA"].year == 2021 and got["AAA"].value == pytest.approx(600.0)
    art = d.article_counts({"AAA": {2019: 5.0, 2023: 7.0}, "BBB": {}}, (2015, 2024))
    assert art["AAA"] == d.CountryValue("AAA", 2023, 7.0) and "BBB" not in art


def test_access_ratios_and_trend() -> None:
    ratios = {
        a.key: a for a in d.access_ratios({"low": 0.1, "high": 0.9}, {"low": 0.02, "high": 0.7})
    }
    assert ratios["low"].ratio == pytest.approx(5.0)
    assert ratios["high"].ratio == pytest.approx(0.9 / 0.7)
    missing = d.access_ratios({"unknown": 0.2}, {"low": 0.0})
    assert all(a.ratio is None for a in missing)
    trend = d.access_ratio_trend(
        [("2024", {"low": 1, "high": 9}), ("2025", {"low": 3, "high": 7})],
        {"low": 0.1, "high": 0.9},
    )
    assert [t.cycle for t in trend] == ["2024", "2025"]
    assert [r.ratio for r in trend[1].ratios] == pytest.approx([7 / 9, 3.0])


def test_awarded_by_measures() -> None:
    w = small_world()
    assert d.awarded_by(w, "income_group") == {"high": 30.0, "low": 5.0}
    assert d.awarded_by(w, "ldc", "count") == {"non-LDC": 2.0, "LDC": 1.0}
    assert d.awarded_by(w, lambda r: r.country_iso3, "amount_scheduled") == {"DEU": 28.0}


# --------------------------------------------------------------------------- suppression


def recoverable_by_integer_programs(
    s: d.SuppressedTable, zeros: bool, true: dict[tuple[str, str], int]
) -> list[tuple[str, str]]:
    """Independent check of ``s``: which hidden entries are pinned to their true value?

    Written separately from the library's LP audit: variables are the inner cells
    only (totals are sums), the reader's knowledge is published values plus
    bounds ("<5": [lo, 4]; "x": >= 5), and integrality is imposed (scipy milp).
    An entry is recoverable when no integer table consistent with the page gives
    it a value other than its true one.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    m, lo = s.min_cell, (0 if zeros else 1)
    rows, cols = list(s.rows), list(s.columns)
    cells = [(r, c) for r in rows for c in cols]
    idx = {k: i for i, k in enumerate(cells)}
    n = len(cells)

    def span(k: tuple[str, str]) -> tuple[float, float]:
        v = s.values[k]
        if v is not None:
            return (v, v)
        return (lo, m - 1) if k in s.primary else (m, np.inf)

    lines: list[tuple[np.ndarray, tuple[str, str]]] = []
    for r in rows:
        lines.append((np.array([1.0 if k[0] == r else 0.0 for k in cells]), (r, TOTAL)))
    for c in cols:
        lines.append((np.array([1.0 if k[1] == c else 0.0 for k in cells]), (TOTAL, c)))
    lines.append((np.ones(n), (TOTAL, TOTAL)))
    a = np.array([row for row, _ in lines])
    lb = np.array([span(k)[0] for _, k in lines])
    ub = np.array([span(k)[1] for _, k in lines])
    cell_bounds = Bounds([span(k)[0] for k in cells], [span(k)[1] for k in cells])
    out = []
    for k in [k for k, v in s.values.items() if v is None]:
        row = np.zeros(n)
        if k in idx:
            row[idx[k]] = 1.0
        else:
            row = next(vec for vec, key in lines if key == k)
        t = true[k]
        moved = False
        for extra_lb, extra_ub in ((-np.inf, t - 1), (t + 1, np.inf)):
            cons = [LinearConstraint(a, lb, ub), LinearConstraint(row[None, :], extra_lb, extra_ub)]
            res = milp(np.zeros(n), constraints=cons, integrality=np.ones(n), bounds=cell_bounds)
            if res.status == 0:
                moved = True
                break
        if not moved:
            out.append(k)
    return out


table_strategy = st.integers(1, 3).flatmap(
    lambda nr: st.integers(1, 3).flatmap(
        lambda nc: st.lists(
            st.lists(st.integers(0, 9), min_size=nc, max_size=nc), min_size=nr, max_size=nr
        )
    )
)


def as_table(cells: list[list[int]]) -> dict[str, dict[str, int]]:
    return {f"r{i}": {f"c{j}": v for j, v in enumerate(row)} for i, row in enumerate(cells)}


@settings(max_examples=100, deadline=None)
@given(table_strategy, st.booleans())
def test_suppression_never_leaves_a_recoverable_cell(cells: list[list[int]], zeros: bool) -> None:
    table = as_table(cells)
    s = d.suppress_small_cells(table, 5, suppress_zeros=zeros)
    # true values are kept where published, and nothing small is published
    zeros_hidden = s.zeros_suppressed
    assert zeros_hidden or not zeros
    for v in s.values.values():
        if v is not None:
            assert v >= 5 or (v == 0 and not zeros_hidden)
    for r in s.rows:
        for c in s.columns:
            assert s.values[(r, c)] in (None, table[r][c])
    assert recoverable_by_integer_programs(s, zeros_hidden, _true(table)) == [], cells
    # the LP audit agrees
    assert (
        d.recoverable_cells(
            s.rows, s.columns, _true(table), s.primary, s.complementary, 5, zeros_hidden
        )
        == []
    )


def _true(table: dict[str, dict[str, int]]) -> dict[tuple[str, str], int]:
    rows, cols = list(table), list(next(iter(table.values())))
    t = {(r, c): table[r][c] for r in rows for c in cols}
    for r in rows:
        t[(r, TOTAL)] = sum(table[r].values())
    for c in cols:
        t[(TOTAL, c)] = sum(table[r][c] for r in rows)
    t[(TOTAL, TOTAL)] = sum(map(lambda r: sum(table[r].values()), rows))
    return t


def test_suppression_known_attacks_are_blocked() -> None:
    # Row total minus the other cells: a lone small cell forces a second suppression.
    s = d.suppress_small_cells({"a": {"x": 3, "y": 20, "z": 30}, "b": {"x": 40, "y": 9, "z": 6}})
    assert s.display("a", "x") == "<5"
    assert sum(1 for c in ("x", "y", "z", TOTAL) if s.values[("a", c)] is None) >= 2
    assert sum(1 for r in ("a", "b", TOTAL) if s.values[(r, "x")] is None) >= 2
    # Bounds attack: total 8 split into two "<5" cells would pin both at 4.
    s2 = d.suppress_small_cells({"a": {"x": 4, "y": 4, "z": 12}, "b": {"x": 6, "y": 7, "z": 8}})
    assert (
        d.recoverable_cells(
            s2.rows,
            s2.columns,
            _true({"a": {"x": 4, "y": 4, "z": 12}, "b": {"x": 6, "y": 7, "z": 8}}),
            s2.primary,
            s2.complementary,
            5,
        )
        == []
    )
    # A clean table is published unchanged.
    clean = d.suppress_small_cells({"a": {"x": 10, "y": 20}, "b": {"x": 7, "y": 5}})
    assert not clean.primary and not clean.complementary
    assert clean.display(TOTAL, TOTAL) == "42"
    with pytest.raises(ValueError):
        d.suppress_small_cells({"a": {"x": 1}}, 2, suppress_zeros=False)


def test_suppressed_funnel_counts_hide_small_and_stay_consistent() -> None:
    stages = ("awarded", "feasible", "eligible", "applied")
    world = [rec(f"h{i}", "high", stage=stages[i % 4]) for i in range(40)]
    world += [rec(f"m{i}", "upper-middle", stage=stages[i % 4]) for i in range(28)]
    world += [rec(f"l{i}", "low", stage="awarded" if i < 2 else "feasible") for i in range(9)]
    true = {(r.group, r.stage): r.count for r in d.funnel(world, "income_group")}
    for zeros in (True, False):
        out = d.suppressed_funnel_counts(world, "income_group", suppress_zeros=zeros)
        assert out["low"]["awarded"] is None  # 2 awarded: small
        assert out["low"]["applied"] == 9
        for group, row in out.items():
            for stage, v in row.items():
                assert v is None or (v == true[(group, stage)] and (v >= 5 or v == 0))
    # disjoint table columns add up to applied
    table = d.funnel_outcome_table(world, "income_group")
    assert sum(table["low"].values()) == 9 and table["low"]["awarded"] == 2
    assert table["high"] == {
        "applied": 10,
        "eligible": 10,
        "feasible": 10,
        "reviewed": 0,
        "awarded": 10,
        "scheduled": 0,
    }


def test_all_ones_table_with_published_zeros_falls_back_to_hiding_zeros() -> None:
    table = {"a": {"x": 1, "y": 1}, "b": {"x": 1, "y": 1}}
    s = d.suppress_small_cells(table, 5, suppress_zeros=False)
    assert all(v is None for v in s.values.values()) and s.zeros_suppressed
    assert recoverable_by_integer_programs(s, True, _true(table)) == []
    mixed = {"a": {"x": 1, "y": 0, "z": 30}, "b": {"x": 1, "y": 1, "z": 40}}
    m = d.suppress_small_cells(mixed, 5, suppress_zeros=False)
    assert all(v is None or v >= 5 or v == 0 for v in m.values.values())


def test_integer_check_catches_naive_suppression() -> None:
    """The independent checker does flag a table with primary suppression only."""
    table = {"a": {"x": 3, "y": 20}, "b": {"x": 10, "y": 9}}
    naive = d.SuppressedTable(
        rows=("a", "b"),
        columns=("x", "y"),
        values={k: (None if k == ("a", "x") else v) for k, v in _true(table).items()},
        primary=frozenset({("a", "x")}),
        complementary=frozenset(),
        min_cell=5,
    )
    assert recoverable_by_integer_programs(naive, True, _true(table)) == [("a", "x")]


def test_a_call_nobody_applied_to_has_an_empty_funnel_not_an_error() -> None:
    # a continuous call whose proposals all went to its batches (or one nobody applied
    # to) has no group: its report answered 500 ("could not protect the table")
    assert d.suppressed_funnel_counts([], "income_group") == {}
    empty = d.suppress_small_cells({}, 5)
    assert empty.rows == () or list(empty.rows) == []
    assert empty.values[(TOTAL, TOTAL)] == 0


def test_resource_rows_per_resource_and_group_never_added_up() -> None:
    """Who benefits at each resource the requests name (two nodes of a network): the
    applications that asked for it, those awarded, and the amounts of that resource alone;
    a resource nobody asked for has no rows."""
    import dataclasses

    a = dataclasses.replace(rec("a", "low", stage="awarded"),
                            resources={"Lima": (3, 3, 3), "Hanoi": (3, 0, 0)})  # fmt: skip
    b = dataclasses.replace(rec("b", "high", stage="awarded"), resources={"Hanoi": (2, 2, 2)})
    c = dataclasses.replace(rec("c", "low"), resources={"Hanoi": (4, 0, 0)})
    rows = d.resource_rows([a, b, c], "income_group", {"Hanoi": "day", "Lima": "day",
                                                        "Kathmandu": "day"})  # fmt: skip
    got = {(r.resource, r.group): (r.applied, r.awarded, r.amount_requested,
                                   r.amount_awarded) for r in rows}  # fmt: skip
    assert got == {
        ("Hanoi", "low"): (2, 0, 7.0, 0.0),
        ("Hanoi", "high"): (1, 1, 2.0, 2.0),
        ("Hanoi", "all"): (3, 1, 9.0, 2.0),
        ("Lima", "low"): (1, 1, 3.0, 3.0),
        ("Lima", "all"): (1, 1, 3.0, 3.0),
    }
    assert [r.resource for r in rows][:3] == ["Hanoi"] * 3 and rows[0].unit == "day"
