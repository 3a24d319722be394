"""The report's statistics (opencall.outcomes.stats and the funnel of outcomes.domain):
stages by data, suppression that never hides a whole table, differences with
intervals in one BH family, a minimum cell size, and cross-tables with an
adjusted leave-one-out consensus on a world with a planted effect."""

from __future__ import annotations

import numpy as np
import pytest

from opencall.outcomes import domain as d
from opencall.outcomes import stats as s
from opencall.outcomes.domain import ApplicantRecord

INCOME = ("low", "lower-middle", "upper-middle", "high")
REGIONS = ("Africa", "Americas", "Asia", "Europe")


def rec(pid: str, income: str, *, awarded: bool = False, region: str = "Europe") -> ApplicantRecord:
    return ApplicantRecord(
        pid, "XXX", income, region, False, False, True, True, True,
        calibrated_grade=3.0, reviewed=True, awarded=awarded,
        amount_requested=10.0, amount_awarded=10.0 if awarded else 0.0,
        amounts={"h": (10.0, 10.0 if awarded else 0.0, 0.0)},
    )  # fmt: skip


# --------------------------------------------------------------------------- funnel


def test_suppression_never_hides_the_table_when_nobody_was_ineligible() -> None:
    """The issue's case: 40 low + 60 high applicants, nobody ineligible (the old code
    suppressed the zero 'not eligible' cells and then everything else)."""
    world = [rec(f"l{i}", "low", awarded=i < 10) for i in range(40)]
    world += [rec(f"h{i}", "high", awarded=i < 25) for i in range(60)]
    out = d.suppressed_funnel_counts(world, "income_group")
    assert out["low"]["applied"] == 40 and out["high"]["applied"] == 60
    assert out["low"]["eligible"] == 40 and out["low"]["awarded"] == 10
    assert out["high"]["awarded"] == 25 and out["high"]["reviewed"] == 60
    assert out["low"]["scheduled"] == 0  # nobody anywhere was scheduled: known zero


def test_suppression_merges_stages_rather_than_hide_everything() -> None:
    # every disjoint cell small: 3 per stage per group; merged columns give counts
    stages = ("applied", "eligible", "feasible", "reviewed", "awarded")
    world = []
    for g in ("low", "high"):
        for i in range(15):
            st = stages[i % 5]
            k = stages.index(st)
            world.append(
                ApplicantRecord(
                    f"{g}{i}",
                    "X",
                    g,
                    "Asia",
                    False,
                    False,
                    True,
                    k >= 1,
                    k >= 2,
                    reviewed=k >= 3,
                    awarded=k >= 4,
                )  # fmt: skip
            )
    out = d.suppressed_funnel_counts(world, "income_group")
    shown = [v for row in out.values() for k, v in row.items() if k != "applied"]
    assert any(v is not None for v in shown)
    true = {(r.group, r.stage): r.count for r in d.funnel(world, "income_group")}
    for g, row in out.items():
        for k, v in row.items():
            assert v is None or v == true[(g, k)]


def test_stages_can_be_appended_by_data() -> None:
    used = d.FunnelStage("used", "Used the award", d.flag("used"), base="scheduled")
    stages = [*d.FUNNEL, used]
    world = [
        ApplicantRecord(
            f"p{i}",
            "X",
            "low",
            "Asia",
            False,
            False,
            True,
            True,
            True,
            reviewed=True,
            awarded=True,
            amount_awarded=5,
            amount_scheduled=5,
            flags=frozenset({"used"}) if i < 7 else frozenset(),
        )  # fmt: skip
        for i in range(12)
    ]
    rows = {r.stage: r for r in d.funnel(world, "income_group", stages=stages)}
    assert rows["used"].count == 7 and rows["used"].previous == 12
    assert d.suppressed_funnel_counts(world, "income_group", stages=stages)["low"]["used"] == 7
    with pytest.raises(ValueError):
        d.funnel_stages([*d.FUNNEL, d.FunnelStage("x", "x", d.flag("x"), base="later")])


def test_tautological_stages_are_named_and_units_kept() -> None:
    world = [rec(f"l{i}", "low", awarded=i < 3) for i in range(10)]
    info = d.informative_stages(world)
    assert info["applied"] == "denominator"
    assert info["eligible"] == info["feasible"] == info["reviewed"] == "everyone passed"
    assert info["awarded"] is None
    awarded = next(r for r in d.funnel(world, "income_group") if r.stage == "awarded")
    assert awarded.amounts == {"h": 30.0} and awarded.amount_kind == "awarded"


# --------------------------------------------------------------------------- differences


def boot_for(records: list[ApplicantRecord], seed: int = 0) -> s.TwoWayBootstrap:
    return s.TwoWayBootstrap([r.proposal_id for r in records], {}, n=400, seed=seed)


def test_award_rate_difference_has_an_interval_and_a_flag() -> None:
    world = [rec(f"l{i}", "low", awarded=i < 8) for i in range(60)]
    world += [rec(f"h{i}", "high", awarded=i < 36) for i in range(60)]
    out = s.fdr(s.group_differences(world, ["income_group"], boot_for(world)))
    low = next(x for x in out if x.measure == "award_rate" and x.group == "low")
    assert low.difference == pytest.approx(8 / 60 - 36 / 60)
    assert low.low is not None and low.high is not None
    assert low.low < low.difference < low.high < 0
    assert low.flagged and low.direction == "lower"
    # deterministic for a seed
    again = s.fdr(s.group_differences(world, ["income_group"], boot_for(world)))
    assert again == out


def test_small_groups_are_too_few_to_judge_and_never_flagged() -> None:
    world = [rec(f"l{i}", "low", awarded=False) for i in range(s.MIN_TEST_N - 1)]
    world += [rec(f"h{i}", "high", awarded=True) for i in range(80)]
    out = s.fdr(s.group_differences(world, ["income_group"], boot_for(world)))
    low = next(x for x in out if x.measure == "award_rate" and x.group == "low")
    assert low.status == "too few" and not low.flagged and low.p_adjusted is None
    assert low.difference == pytest.approx(-1.0)  # shown, not tested


def test_one_family_per_report() -> None:
    """A p-value that survives BH within a small family may not survive in the report's."""
    tested = [
        s.Difference(
            "rate",
            "g",
            str(i),
            "award_rate",
            50,
            50,
            0.5,
            None,
            None,
            0.5,
            0.1,
            0.0,
            0.2,
            p,
            "tested",
        )  # fmt: skip
        for i, p in enumerate([0.01] + [0.5] * 19)
    ]
    alone = s.fdr(tested[:1])
    assert alone[0].flagged
    together = s.fdr(tested)
    assert not together[0].flagged and together[0].p_adjusted == pytest.approx(0.2)


# --------------------------------------------------------------------------- cross-tables


def planted_world(
    seed: int, bias: float = -1.0, n_proposals: int = 320, per_region: int = 8
) -> list[s.GradeRecord]:
    """Reviewers from Europe grade low-income applicants ``bias`` points lower at equal
    quality; every other reviewer group is fair. Applicant region is independent of
    income. Reviewers differ in leniency."""
    rng = np.random.default_rng(seed)
    reviewers = [(f"{reg}-{i}", reg, INCOME[i % 4]) for reg in REGIONS for i in range(per_region)]
    leniency = {rid: rng.normal(0, 0.3) for rid, _, _ in reviewers}
    out = []
    for p in range(n_proposals):
        income = INCOME[p % 4]
        region = REGIONS[int(rng.integers(0, 4))]
        quality = rng.normal(3.0, 0.8)
        for j in rng.choice(len(reviewers), size=3, replace=False):
            rid, reg, rinc = reviewers[int(j)]
            g = quality + leniency[rid] + rng.normal(0, 0.5)
            if reg == "Europe" and income == "low":
                g += bias
            out.append(
                s.GradeRecord(
                    rid,
                    f"p{p}",
                    g,
                    {"un_region": reg, "income_group": rinc},
                    {"un_region": region, "income_group": income},
                )
            )
    return out


def cross(world: list[s.GradeRecord], seed: int = 0) -> list[s.Difference]:
    boot = s.TwoWayBootstrap(
        [r.proposal_id for r in world],
        s.reviewers_by_proposal([(r.proposal_id, r.reviewer_id) for r in world]),
        n=400,
        seed=seed,
    )
    cells = []
    for rb, ab in (
        ("un_region", "income_group"),
        ("income_group", "un_region"),
        ("un_region", "un_region"),
    ):
        cells += s.crosstab(world, rb, ab, boot)
    return s.fdr(cells)


def test_planted_reviewer_region_by_applicant_income_effect_is_flagged() -> None:
    cells = cross(planted_world(1))
    target = next(
        c
        for c in cells
        if c.grouping == "un_regionxincome_group"
        and (c.reviewer_group, c.group) == ("Europe", "low")
    )
    assert target.flagged and target.direction == "lower"
    assert target.low is not None and target.high is not None and target.high < 0
    assert -1.4 < target.difference < -0.6  # near the planted -1
    # the fair groups are not blamed, in any of the three tables
    wrongly = [c for c in cells if c.flagged and c is not target]
    assert wrongly == [], [(c.grouping, c.reviewer_group, c.group, c.difference) for c in wrongly]


@pytest.mark.parametrize("seed", [2, 3])
def test_fair_groups_not_flagged_in_other_worlds(seed: int) -> None:
    cells = cross(planted_world(seed))
    flagged = {(c.grouping, c.reviewer_group, c.group) for c in cells if c.flagged}
    assert flagged == {("un_regionxincome_group", "Europe", "low")}


def test_plain_consensus_would_blame_the_fair_groups() -> None:
    """Why the adjusted consensus: with the plain leave-one-out consensus (no
    adjustment), other reviewers of low-income applicants look kinder to them."""
    world = planted_world(1)
    cells = [(r.reviewer["un_region"], r.applicant["income_group"]) for r in world]
    args = ([r.grade for r in world], [r.proposal_id for r in world], cells)
    plain = s.loo_residuals(*args, iterations=1)
    adjusted = s.loo_residuals(*args)
    fair_low = np.asarray([c[1] == "low" and c[0] != "Europe" for c in cells])
    assert plain[fair_low].mean() > 0.15
    assert abs(adjusted[fair_low].mean()) < 0.08


def test_cells_below_the_minimum_are_marked_not_tested() -> None:
    world = planted_world(1, n_proposals=40)
    cells = cross(world)
    few = [c for c in cells if c.n < s.MIN_TEST_N or c.n_rest < s.MIN_TEST_N]
    assert few and all(c.status == "too few" and not c.flagged for c in few)
    assert all(c.p_adjusted is None and c.low is None for c in few)


# --------------------------------------------------------------------------- context


def test_context_keeps_older_figures_explicitly_and_bounds_shares() -> None:
    from opencall.outcomes import context as c

    values = {"A": {2020: 100.0}, "B": {2005: 50.0}, "C": {}, "D": {2021: 10.0}}
    pop = {k: {2020: p, 2021: p} for k, p in (("A", 10.0), ("B", 10.0), ("C", 20.0), ("D", 5.0))}
    groups = {"A": "rich", "B": "rich", "C": "poor", "D": "poor"}
    figs = c.country_figures(values, pop, groups, 2024, window=10)
    assert figs["A"].status == "in window" and figs["A"].value == 100.0
    assert figs["B"].status == "older" and figs["B"].year == 2005 and figs["B"].value == 50.0
    assert figs["C"].status == "missing" and figs["C"].value == pytest.approx(20 * 2.0)
    shares = {
        s.group: s for s in c.group_shares(figs, groups, {k: v[2021] for k, v in pop.items()})
    }
    assert sum(g.share for g in shares.values()) == pytest.approx(1.0)
    for g in shares.values():
        assert 0 <= g.low <= g.share <= g.high <= 1
    assert shares["rich"].older == [("B", 2005)] and shares["poor"].missing == ["C"]
    assert shares["rich"].coverage == pytest.approx(0.5)  # A in window, B older: half


def test_context_from_the_shipped_world_bank_data() -> None:
    """Australia's researchers (last figure 2010) no longer drop out: Oceania is no
    longer 0.26 % of the world's researchers, and its interval says how unsure it is."""
    from opencall.outcomes.queries import context

    ctx = context(2026, ("un_region", "income_group"))
    oceania = next(
        g for g in ctx["by"]["un_region"]["researchers"]["groups"] if g["group"] == "Oceania"
    )
    assert ("AUS", 2010) in [tuple(x) for x in oceania["older"]]
    assert oceania["share"] > 0.008 and oceania["low"] < oceania["share"] < oceania["high"]
    for key in ("researchers", "rd_spending", "articles"):
        groups = ctx["by"]["income_group"][key]["groups"]
        assert sum(g["share"] for g in groups) == pytest.approx(1.0)
        high = next(g for g in groups if g["group"] == "high")
        assert high["years"] is not None and high["years"][1] >= 2020
    assert ctx["world_bank_world"]["researchers"]["year"] >= 2015


def test_worlds_without_any_effect_are_rarely_flagged() -> None:
    """Calibration: with no planted effect anywhere, a report (group differences and
    the three cross-tables in one family) flags anything in about q of the worlds
    (BH under the global null controls the chance of any flag at q). 20 worlds:
    5 or more with a flag would happen with probability 0.003 if the rate were q."""
    worlds_flagged = 0
    for seed in range(20):
        world = planted_world(100 + seed, bias=0.0, n_proposals=200, per_region=6)
        rng = np.random.default_rng(seed)
        records = [
            rec(f"p{i}", INCOME[i % 4], awarded=bool(rng.random() < 0.4)) for i in range(200)
        ]
        boot = s.TwoWayBootstrap(
            [r.proposal_id for r in records],
            s.reviewers_by_proposal([(r.proposal_id, r.reviewer_id) for r in world]),
            n=300,
            seed=seed,
        )
        statements = s.group_differences(records, ["income_group"], boot)
        for rb, ab in (("un_region", "income_group"), ("un_region", "un_region")):
            statements += s.crosstab(world, rb, ab, boot)
        worlds_flagged += any(x.flagged for x in s.fdr(statements))
    assert worlds_flagged <= 4


def test_a_zero_p_value_is_the_smallest_not_a_missing_one() -> None:
    """Regression: ``p or 1.0`` turned an exact 0.0 (a huge effect) into 1.0."""
    x = s.Difference("rate", "g", "a", "award_rate", 50, 50, 0.9, None, None, 0.1, 0.8,
                     0.7, 0.9, 0.0, "tested")  # fmt: skip
    assert s.fdr([x])[0].flagged


def test_a_reviewer_group_whose_reviews_have_no_residual_gets_no_cell() -> None:
    """A group that only reviewed proposals with one review each (no leave-one-out
    residual) has nothing to compare: no cell for it, and the other groups' cells stay
    (it made the report answer 500 on a call in review with one such review)."""

    def rec(reviewer: str, proposal: str, grade: float, region: str) -> s.GradeRecord:
        return s.GradeRecord(
            reviewer, proposal, grade, {"un_region": region}, {"income_group": "High income"}
        )

    world = [
        rec(r, p, g, region)
        for p, g in (("p1", 3.0), ("p2", 4.0), ("p3", 2.0))
        for r, region in (("r1", "Europe"), ("r2", "Africa"))
    ] + [rec("r3", "p4", 5.0, "Asia")]
    boot = s.TwoWayBootstrap(
        [r.proposal_id for r in world],
        s.reviewers_by_proposal([(r.proposal_id, r.reviewer_id) for r in world]),
        n=50,
        seed=0,
    )
    cells = s.crosstab(world, "un_region", "income_group", boot)
    groups = {c.group.split(" x ")[0] if " x " in c.group else c.group for c in cells}
    assert cells and not any("Asia" in c.group for c in cells), groups


# ------------------------------------------------------- replicates as one matrix product


def _elementwise_sums(w: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """The replicate sums as they were computed before: a B x n product per column."""
    return np.stack([(w * np.asarray(c, dtype=float)).sum(axis=-1) for c in columns], axis=1)


def _close(a: list[s.Difference], b: list[s.Difference]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for f in x.__dataclass_fields__:
            u, v = getattr(x, f), getattr(y, f)
            if isinstance(u, float) and isinstance(v, float):
                assert u == pytest.approx(v, rel=1e-9, abs=1e-12, nan_ok=True), (f, x, y)
            else:
                assert u == v, (f, x, y)


def test_replicates_by_matrix_product_equal_the_elementwise_sums(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """group_differences and crosstab give the same statements (to rounding) whether the
    B replicates are summed as one matrix product or one B x n product per column."""
    world = planted_world(3, n_proposals=200)
    records = [
        ApplicantRecord(
            f"p{p}", "XXX", INCOME[p % 4], REGIONS[p % 3], p % 5 == 0, False, True, True,
            p % 7 != 0, calibrated_grade=float(p % 9), reviewed=True, awarded=p % 3 == 0,
            amount_requested=10.0 + p % 4, amount_awarded=(10.0 + p % 4) * (p % 3 == 0),
            amounts={"h": (10.0 + p % 4, (10.0 + p % 4) * (p % 3 == 0), 0.0)},
        )
        for p in range(200)
    ]  # fmt: skip

    def run() -> list[s.Difference]:
        boot = s.TwoWayBootstrap(
            [r.proposal_id for r in records],
            s.reviewers_by_proposal([(r.proposal_id, r.reviewer_id) for r in world]),
            n=300,
        )
        out = s.group_differences(records, ["income_group", "un_region", "ldc"], boot)
        for rb, ab in (("un_region", "income_group"), ("income_group", "un_region")):
            out += s.crosstab(world, rb, ab, boot)
        return s.fdr(out)

    fast = run()
    monkeypatch.setattr(s, "_weighted_sums", _elementwise_sums)
    slow = run()
    assert sum(1 for x in fast if x.status == "tested") > 20
    _close(fast, slow)


def _scale_records(n: int) -> list[ApplicantRecord]:
    return [
        ApplicantRecord(
            f"p{p}", "XXX", INCOME[p % 4], REGIONS[p % 3], p % 5 == 0, False, True, True,
            p % 7 != 0, calibrated_grade=float(p % 9), reviewed=True, awarded=p % 3 == 0,
            amount_requested=10.0 + p % 4, amount_awarded=(10.0 + p % 4) * (p % 3 == 0),
            amounts={"h": (10.0 + p % 4, (10.0 + p % 4) * (p % 3 == 0), 0.0)},
        )
        for p in range(n)
    ]  # fmt: skip


def test_bootstrap_memory_is_bounded_by_a_chunk_not_by_the_replicates() -> None:
    """At 10,000 proposals the B x n replicate weights of 1,000 replicates are 80 MB of
    int64 counts, and each set of units (all applicants, the graded, each stage's base)
    was kept as 80 MB of floats beside them: the bootstrap now keeps its counts as small
    integers and sums the replicates a chunk of rows at a time."""
    import gc
    import tracemalloc

    records = _scale_records(10_000)
    peaks = []
    # tracemalloc counts every thread's allocations: under xdist a thread an earlier test
    # of the worker left (a server, a browser's pipe) added about 6 MB once; the lower of
    # two measurements is the bootstrap's own
    for _ in range(2):
        gc.collect()
        tracemalloc.start()
        try:
            boot = s.TwoWayBootstrap([r.proposal_id for r in records], {}, n=1000)
            out = s.group_differences(records, ["income_group", "ldc"], boot)
            _current, one_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peaks.append(one_peak)
        del boot
    peak = min(peaks)
    assert sum(1 for x in out if x.status == "tested") >= 10
    b_by_n_floats = 1000 * 10_000 * 8
    assert peak < b_by_n_floats / 2, peak


def test_chunked_replicate_sums_equal_the_whole_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Summing the replicates a few rows at a time gives the statements of one B x n
    product (the seed's draws are the same; only the order of additions may differ)."""
    world = planted_world(5, n_proposals=120)
    records = _scale_records(120)

    def run() -> list[s.Difference]:
        boot = s.TwoWayBootstrap(
            [r.proposal_id for r in records],
            s.reviewers_by_proposal([(r.proposal_id, r.reviewer_id) for r in world]),
            n=300,
            seed=4,
        )
        out = s.group_differences(records, ["income_group", "un_region"], boot)
        out += s.crosstab(world, "un_region", "income_group", boot)
        return s.fdr(out)

    whole = run()
    monkeypatch.setattr(s, "CHUNK_BYTES", 7 * 8 * 120)  # 7 replicates of 120 units a chunk
    chunked = run()
    assert sum(1 for x in whole if x.status == "tested") > 10
    _close(whole, chunked)
