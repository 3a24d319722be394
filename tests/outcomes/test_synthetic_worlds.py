"""Synthetic worlds with a known truth for the outcomes statistics.

(a) reviewers from one region grade low-income applicants lower at equal quality:
    the review-stage test flags exactly that cell, with the right sign; a desk
    that rejects low-income applicants more often is flagged at eligibility.
(b) worlds without any bias are flagged no more often than the chosen error
    rate q (over many seeds, with a binomial margin).
(c) access ratios of a small hand-made world equal the hand computation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from opencall.outcomes import domain as d
from opencall.outcomes.domain import ApplicantRecord, ReviewRecord

INCOME = ("low", "lower-middle", "upper-middle", "high")
REVIEWER_REGIONS = ("Africa", "Americas", "Asia", "Europe")


def review_world(
    seed: int,
    *,
    bias: float = 0.0,
    biased_reviewers: str = "Europe",
    victims: str = "low",
    n_proposals: int = 160,
    per_proposal: int = 3,
    reviewers_per_region: int = 6,
) -> list[ReviewRecord]:
    """Proposals of random true quality; each graded by ``per_proposal`` reviewers.

    grade = quality + reviewer leniency + noise (+ ``bias`` when a reviewer from
    ``biased_reviewers`` grades an applicant from ``victims``). The consensus is
    the proposal's mean grade (a stand-in for the calibrated consensus).
    Scale: higher is better.
    """
    rng = np.random.default_rng(seed)
    reviewers = [
        (f"{reg}-{i}", reg) for reg in REVIEWER_REGIONS for i in range(reviewers_per_region)
    ]
    leniency = {rid: rng.normal(0, 0.3) for rid, _ in reviewers}
    out: list[ReviewRecord] = []
    for p in range(n_proposals):
        group = INCOME[p % len(INCOME)]
        quality = rng.normal(3.0, 0.8)
        chosen = rng.choice(len(reviewers), size=per_proposal, replace=False)
        grades = []
        for j in chosen:
            rid, reg = reviewers[int(j)]
            g = quality + leniency[rid] + rng.normal(0, 0.5)
            if reg == biased_reviewers and group == victims:
                g += bias
            grades.append((rid, reg, g))
        consensus = float(np.mean([g for _, _, g in grades]))
        out += [ReviewRecord(rid, f"p{p}", reg, group, g, consensus) for rid, reg, g in grades]
    return out


def test_a_biased_reviewers_are_flagged_with_the_right_sign() -> None:
    cells = d.reviewer_group_bias(review_world(1, bias=-1.0, n_proposals=240), q=0.05)
    flagged = [c for c in cells if c.significant]
    target = next(c for c in cells if (c.reviewer_group, c.applicant_group) == ("Europe", "low"))
    assert target.significant and target.direction == "harsher"
    # The consensus absorbs part of the bias, so the measured gap is a bit smaller.
    assert -1.1 < target.difference < -0.3
    assert "Reviewers from Europe grade applicants from low" in target.describe()
    # The consensus carries the biased grades too, so other reviewers of low-income
    # applicants look a little kinder and their other cells a little harsher; the
    # biased cell still stands out as by far the harshest.
    assert min(cells, key=lambda c: c.difference) is target
    others = [c for c in flagged if c.direction == "harsher" and c is not target]
    assert all(c.difference > target.difference / 2 for c in others)


def test_a_lower_is_better_scale_gives_the_same_verdict() -> None:
    world = review_world(2, bias=-1.0, n_proposals=240)
    flipped = [
        ReviewRecord(r.reviewer_id, r.proposal_id, r.reviewer_group, r.applicant_group,
                     6.0 - r.grade, 6.0 - r.consensus)
        for r in world
    ]  # fmt: skip
    a = d.reviewer_group_bias(world)
    b = d.reviewer_group_bias(flipped, higher_is_better=False)
    assert [(c.reviewer_group, c.applicant_group, c.direction) for c in a] == [
        (c.reviewer_group, c.applicant_group, c.direction) for c in b
    ]
    target = next(c for c in b if (c.reviewer_group, c.applicant_group) == ("Europe", "low"))
    assert target.direction == "harsher" and target.mean_residual > 0


def funnel_world(seed: int, *, low_eligible: float = 0.9, n: int = 400) -> list[ApplicantRecord]:
    """Applicants from four income groups; eligibility 90 % (``low_eligible`` for low),
    feasibility 80 %, award 30 % for everyone."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        g = INCOME[i % 4]
        el = rng.random() < (low_eligible if g == "low" else 0.9)
        fe = el and rng.random() < 0.8
        aw = fe and rng.random() < 0.3
        out.append(
            ApplicantRecord(f"p{i}", "XXX", g, "Africa", g == "low", False, True, el, fe, None,
                            None, aw, 10.0, 10.0 if aw else 0.0, 0.0)
        )  # fmt: skip
    return out


def test_a_desk_rejection_gap_is_flagged_at_eligibility() -> None:
    tests = {
        t.group: t
        for t in d.difference_tests(funnel_world(3, low_eligible=0.6), "income_group", "eligible")
    }
    assert tests["low"].significant and tests["low"].direction == "worse"
    assert tests["low"].rate is not None and tests["low"].rate < 0.75
    later = d.difference_tests(funnel_world(3, low_eligible=0.6), "income_group", "awarded")
    assert not any(t.group == "low" and t.direction == "worse" for t in later)


def binomial_bound(q: float, trials: int) -> float:
    """q plus three binomial standard errors: the flag rate of a correct test stays below
    this with probability > 99.8 %."""
    return q + 3.0 * math.sqrt(q * (1 - q) / trials)


@pytest.mark.parametrize(("q", "n_seeds"), [(0.05, 200), (0.10, 100)])
def test_b_unbiased_reviews_are_rarely_flagged(q: float, n_seeds: int) -> None:
    seeds = range(n_seeds)
    flagged = 0
    for seed in seeds:
        cells = d.reviewer_group_bias(review_world(1000 + seed, n_proposals=120), q=q)
        flagged += any(c.significant for c in cells)
    assert flagged / len(seeds) <= binomial_bound(q, len(seeds))


def test_b_unbiased_reviews_permutation_method() -> None:
    seeds = range(40)
    flagged = 0
    for seed in seeds:
        world = review_world(5000 + seed, n_proposals=80)
        cells = d.reviewer_group_bias(world, method="permutation", n_resamples=199, seed=seed)
        flagged += any(c.significant for c in cells)
    assert flagged / len(seeds) <= binomial_bound(0.05, len(seeds))


def test_b_unbiased_funnels_are_rarely_flagged() -> None:
    seeds = range(200)
    stages: tuple[d.Stage, ...] = ("eligible", "feasible", "awarded")
    flagged = dict.fromkeys(stages, 0)
    for seed in seeds:
        world = funnel_world(9000 + seed, n=200)
        for stage in stages:  # one BH family per stage
            flagged[stage] += any(
                t.significant for t in d.difference_tests(world, "income_group", stage)
            )
    for stage in stages:
        assert flagged[stage] / len(seeds) <= binomial_bound(0.05, len(seeds)), stage


def test_c_access_ratios_match_hand_computation() -> None:
    # Three countries, two groups, one window 2015-2024.
    #   AAA (high): 4000 researchers / million in 2022, population 50 million in 2022
    #               -> 4000 * 50e6 / 1e6 = 200,000 researchers
    #               (2023 density has no 2023 population, so 2022 is the latest usable year)
    #   BBB (low):   100 / million in 2020, population 100 million -> 10,000
    #   CCC (low):    50 / million in 2014 only (outside the window) -> no data, left out
    #   World (countries with data) = 210,000; shares high 200/210 = 0.952381, low 10/210 = 0.047619
    # Awards (hours): AAA 60, BBB 30, CCC 10 -> total 100; by group high 0.6, low 0.4
    # Access ratios: high 0.6 / (200/210) = 0.63; low 0.4 / (10/210) = 8.4
    # Per country: AAA 0.6 / (200/210) = 0.63; BBB 0.3 / (10/210) = 6.3; CCC: no data -> None
    rpm = {"AAA": {2022: 4000.0, 2023: 4100.0}, "BBB": {2020: 100.0}, "CCC": {2014: 50.0}}
    pop = {"AAA": {2022: 50e6}, "BBB": {2020: 100e6}, "CCC": {2014: 20e6}}
    groups = {"AAA": "high", "BBB": "low", "CCC": "low"}
    articles = {"AAA": {2023: 900.0}, "BBB": {2021: 100.0}, "CCC": {2010: 5.0}}
    ctx = d.divide_context(rpm, pop, articles, groups, (2015, 2024))
    assert ctx.researchers["AAA"].year == 2022
    assert ctx.researchers["AAA"].value == pytest.approx(200_000)
    assert ctx.researchers["BBB"].value == pytest.approx(10_000)
    assert "CCC" not in ctx.researchers
    assert ctx.researcher_share == pytest.approx({"high": 200 / 210, "low": 10 / 210})
    assert ctx.article_share == pytest.approx({"high": 0.9, "low": 0.1})

    records = [
        ApplicantRecord("a", "AAA", "high", "Europe", False, False, True, True, True, 4.0, 1,
                        True, 60, 60, 60),
        ApplicantRecord("b", "BBB", "low", "Africa", True, False, True, True, True, 3.9, 2,
                        True, 30, 30, 30),
        ApplicantRecord("c", "CCC", "low", "Africa", True, False, True, True, True, 3.8, 3,
                        True, 10, 10, 10),
        ApplicantRecord("d", "AAA", "high", "Europe", False, False, True, True, True, 2.0, 4,
                        False, 50, 0, 0),
    ]  # fmt: skip
    awarded = d.awarded_by(records, "income_group")
    assert awarded == {"high": 60.0, "low": 40.0}
    ratios = {a.key: a.ratio for a in d.access_ratios(d.shares(awarded), ctx.researcher_share)}
    assert ratios == pytest.approx({"high": 0.63, "low": 8.4})
    by_country = d.awarded_by(records, lambda r: r.country_iso3)
    per_country = {
        a.key: a.ratio
        for a in d.access_ratios(
            d.shares(by_country), d.shares({k: v.value for k, v in ctx.researchers.items()})
        )
    }
    assert per_country["AAA"] == pytest.approx(0.63)
    assert per_country["BBB"] == pytest.approx(6.3)
    assert per_country["CCC"] is None
    # Trend: cycle 2 moved 10 more hours to low: low 0.5 / (10/210) = 10.5
    trend = d.access_ratio_trend(
        [("2024", awarded), ("2025", {"high": 50.0, "low": 50.0})], ctx.researcher_share
    )
    assert [[r.ratio for r in c.ratios] for c in trend] == [
        pytest.approx([0.63, 8.4]),
        pytest.approx([0.525, 10.5]),
    ]
