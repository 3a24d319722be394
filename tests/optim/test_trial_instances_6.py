"""Instance families nobody tried before the twelfth round, run through the public
optimiser functions and held to answers computed here (brute force, or a bound proved by
hand). Each test that found a defect names the instance that showed it; the others pin down
behaviour that was right and had no test."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from opencall.optim import slots as sl
from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    Pool,
    ProblemError,
    Request,
    solve_allocation,
)
from opencall.optim.allocation.caps import GroupCap
from opencall.optim.allocation.model import Group
from opencall.optim.assignment import AssignmentProblem, solve_assignment
from opencall.optim.calibration import GradeScale, GradeSet, calibrate

UTC = dt.UTC

# --- reviewer assignment -----------------------------------------------------------------


def brute_best(a: np.ndarray, k: int, max_load: list[int], banned: set[tuple[int, int]]) -> tuple:
    """The assignment with the fewest missing reviews, then the most affinity, by
    enumerating every reviewer set of every proposal (small instances only)."""
    P, R = a.shape
    options = [
        [
            s
            for size in range(min(k, R) + 1)
            for s in itertools.combinations(range(R), size)
            if not any((p, r) in banned for r in s)
        ]
        for p in range(P)
    ]
    best: tuple[int, float] = (-1, -np.inf)
    for choice in itertools.product(*options):
        load = np.zeros(R, int)
        for s in choice:
            load[list(s)] += 1
        if (load > np.asarray(max_load)).any():
            continue
        n = sum(len(s) for s in choice)
        value = sum(a[p, r] for p, s in enumerate(choice) for r in s)
        best = max(best, (n, float(value)))
    return best


@pytest.mark.parametrize("objective", ["total", "fair"])
@pytest.mark.parametrize("seed", range(3))
def test_every_reviewer_free_for_one_proposal_only(objective: str, seed: int) -> None:
    # every reviewer conflicted with all proposals but one: k = 1 has one answer (each
    # proposal its only reviewer); k = 2 is refused naming the proposal, and with missing
    # reviews allowed each proposal gets its one reviewer and is one short
    a = np.random.default_rng(seed).random((5, 5))
    conflicts = np.array([(p, r) for r in range(5) for p in range(5) if p != r])
    problem = AssignmentProblem(5, 5, a, k=1, conflicts=conflicts, objective=objective)
    res = solve_assignment(problem)
    assert res.check(problem) == [] and res.certified
    assert res.reviewers.tolist() == res.proposals.tolist() == list(range(5))
    with pytest.raises(ValueError, match="proposal 0 has only 1 non-conflicted reviewers"):
        solve_assignment(AssignmentProblem(5, 5, a, k=2, conflicts=conflicts))
    short = AssignmentProblem(
        5, 5, a, k=2, conflicts=conflicts, objective=objective, allow_short=True
    )
    res = solve_assignment(short)
    assert res.check(short) == [] and res.short.tolist() == [1] * 5
    assert res.total_affinity == pytest.approx(float(np.trace(a)))


@pytest.mark.parametrize("seed", range(4))
def test_loads_of_zero_and_one_with_three_reviews_against_brute_force(seed: int) -> None:
    # loads 0 and 1 mixed, k = 3, missing reviews allowed: the fewest missing reviews and
    # then the most affinity, against every assignment enumerated
    rng = np.random.default_rng(seed)
    a = rng.random((3, 5))
    max_load = [int(v) for v in rng.integers(0, 2, size=5)]
    max_load[0] = 1
    problem = AssignmentProblem(3, 5, a, k=3, max_load=np.array(max_load), allow_short=True)
    res = solve_assignment(problem)
    assert res.check(problem) == [] and res.certified
    n, value = brute_best(a, 3, max_load, set())
    assert len(res.proposals) == n == int(9 - res.short.sum())
    assert res.total_affinity == pytest.approx(value)


def test_the_same_person_twice_is_two_reviewers_with_the_same_affinities() -> None:
    # a reviewer listed twice (two accounts): the columns are two reviewers, each of load
    # 1, so both may review one proposal; the optimum as enumerated
    a = np.array([[0.9, 0.9, 0.1], [0.8, 0.8, 0.7]])
    problem = AssignmentProblem(2, 3, a, k=2, max_load=np.array([1, 1, 2]))
    res = solve_assignment(problem)
    assert res.check(problem) == []
    assert res.total_affinity == pytest.approx(brute_best(a, 2, [1, 1, 2], set())[1])


@pytest.mark.parametrize("objective", ["total", "fair"])
@pytest.mark.parametrize("value", [0.0, 1.0, -3.0])
def test_affinities_all_equal(objective: str, value: float) -> None:
    # every affinity the same: any assignment meeting the loads is optimal; the total is
    # the value times the reviews, certified, each reviewer within its load
    problem = AssignmentProblem(6, 4, np.full((6, 4), value), k=2, max_load=3, objective=objective)
    res = solve_assignment(problem)
    assert res.check(problem) == [] and res.certified
    assert res.total_affinity == pytest.approx(12 * value)
    assert np.bincount(res.reviewers, minlength=4).tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_affinities_nan_or_infinite_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="affinity must be finite"):
        AssignmentProblem(2, 3, np.full((2, 3), bad), k=1)


@pytest.mark.parametrize(
    "affinity",
    [np.ones((2, 3), complex), np.ones((2, 3), object), np.full((2, 3), "1")],
    ids=["complex", "object", "str"],
)
def test_affinities_that_are_not_real_numbers_are_refused(affinity: np.ndarray) -> None:
    # found: complex affinities were solved with the imaginary part dropped (a
    # ComplexWarning); an object array crashed in np.isfinite (TypeError)
    with pytest.raises(ValueError, match="affinity must hold real numbers"):
        AssignmentProblem(2, 3, affinity, k=1)


@pytest.mark.parametrize("top", [5e-324, 1e-310])
def test_affinities_too_small_for_any_grid_are_refused(top: float) -> None:
    # found: a largest affinity of 5e-324 (a subnormal) made the rounding grid infinite and
    # the flow fail ("min-cost flow failed with status BAD_COST_RANGE"); refused now,
    # naming the field. A largest of 1e-300 is solved, its optimum by hand
    a = np.array([[top, 0.0, 0.0], [0.0, 0.0, top]])
    with pytest.raises(ValueError, match="affinity: the largest absolute value"):
        AssignmentProblem(2, 3, a, k=1)
    a = np.array([[1e-300, 0.0, 0.0], [0.0, 0.0, 3e-301]])
    res = solve_assignment(AssignmentProblem(2, 3, a, k=1, max_load=1))
    assert res.reviewers.tolist() == [0, 2] and res.total_affinity == 1.3e-300


def test_affinities_whose_total_would_overflow_are_refused() -> None:
    # found: affinities of 1e308 gave a total of inf (two reviews of 1e308); a total
    # within range (affinities of 1e300) is solved, its optimum by hand
    with pytest.raises(ValueError, match="times the 2 reviews passes 1e[+]307"):
        AssignmentProblem(2, 3, np.full((2, 3), 1e308), k=1)
    a = np.array([[1e300, 0.0, 2e299], [0.0, 1e299, 5e299]])
    res = solve_assignment(AssignmentProblem(2, 3, a, k=1))
    assert res.total_affinity == pytest.approx(1.5e300)


@pytest.mark.parametrize("objective", ["total", "fair"])
def test_one_proposal_and_two_thousand_reviewers(objective: str) -> None:
    # the answer by hand: its three best reviewers, in both modes; with ties (all 1) any
    # three, 3.0
    a = np.random.default_rng(7).random((1, 2000))
    res = solve_assignment(AssignmentProblem(1, 2000, a, k=3, objective=objective))
    assert sorted(res.reviewers.tolist()) == sorted(np.argsort(a[0])[-3:].tolist())
    tied = AssignmentProblem(1, 2000, np.ones((1, 2000)), k=3, objective=objective)
    res = solve_assignment(tied)
    assert res.check(tied) == [] and res.total_affinity == 3.0 and res.certified


@pytest.mark.parametrize("seed", range(4))
def test_fair_objective_with_tied_affinities_against_brute_force(seed: int) -> None:
    # affinities from {0, 1} (many ties): the fair mode's lowest proposal is the best
    # max-min of any assignment, and its total the best among those reaching it
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, size=(3, 4)).astype(float)
    problem = AssignmentProblem(3, 4, a, k=2, max_load=2, objective="fair")
    res = solve_assignment(problem)
    assert res.check(problem) == [] and res.certified
    best = (-np.inf, -np.inf)
    pairs = list(itertools.combinations(range(4), 2))
    for choice in itertools.product(pairs, repeat=3):
        load = np.bincount([r for s in choice for r in s], minlength=4)
        if (load > 2).any():
            continue
        per = [sum(a[p, r] for r in s) for p, s in enumerate(choice)]
        best = max(best, (min(per), sum(per)))
    assert (res.proposal_affinity.min(), res.total_affinity) == pytest.approx(best)


# --- allocation ------------------------------------------------------------------------


def _req(i: int, merit: float, amount: float = 1.0) -> Request:
    return Request(f"r{i}", f"P{i}", f"pi{i}", merit, {"a": amount})


def test_a_pool_of_nothing_and_requests_of_nothing() -> None:
    # a pool of capacity 0 gives nothing to a request of 1; a request of 0 fits it
    problem = AllocationProblem((Pool("a", 0.0),), (_req(0, 2.0), _req(1, 1.0, 0.0)))
    res = solve_allocation(problem)
    assert res.check(problem) == [] and res.fractions == {"r0": 0.0, "r1": 1.0}


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: _req(0, "5"), "merit"),  # type: ignore[arg-type]
        (lambda: _req(0, None), "merit"),  # type: ignore[arg-type]
        (lambda: Pool("a", "10"), "capacity"),  # type: ignore[arg-type]
        (lambda: Pool("a", None), "capacity"),  # type: ignore[arg-type]
    ],
    ids=["merit str", "merit None", "capacity str", "capacity None"],
)
def test_a_merit_or_capacity_that_is_not_a_number_is_refused_by_name(make, field) -> None:  # type: ignore[no-untyped-def]
    # found: a merit or a capacity given as "5" or None crashed in math.isfinite
    # ("TypeError: must be real number, not str"), naming no field
    item = make()
    pools = (item,) if isinstance(item, Pool) else (Pool("a", 10.0),)
    reqs = () if isinstance(item, Pool) else (item,)
    with pytest.raises(ProblemError, match=f"{field} must be a number"):
        AllocationProblem(pools, reqs)


@pytest.mark.parametrize("higher", [True, False])
def test_negative_and_tied_grades(higher: bool) -> None:
    # negative merits order as numbers do (either orientation); all tied: two awards, the
    # seeded order's choice, on both backends alike
    reqs = tuple(_req(i, -float(i)) for i in range(4))
    problem = AllocationProblem((Pool("a", 2.0),), reqs, merit_higher_is_better=higher)
    res = solve_allocation(problem)
    want = {"r0", "r1"} if higher else {"r2", "r3"}
    assert {r for r, f in res.fractions.items() if f > 0} == want
    tied = AllocationProblem((Pool("a", 2.0),), tuple(_req(i, 3.0) for i in range(4)))
    got = [
        {r for r, f in solve_allocation(tied, backend=b).fractions.items() if f > 0}
        for b in ("highspy", "scipy")
    ]
    assert len(got[0]) == 2 and got[0] == got[1]


@pytest.mark.parametrize("seed", range(4))
def test_a_cap_per_country_and_per_income_group_binding_together(seed: int) -> None:
    # two caps of awards on crossing groups (country and income group), both binding: the
    # best merit-weighted set by enumeration
    rng = np.random.default_rng(seed)
    merit = rng.normal(size=6)
    country = {0: "FR", 1: "FR", 2: "FR", 3: "FR", 4: "DE", 5: "DE"}
    income = {0: "high", 1: "high", 2: "low", 3: "low", 4: "high", 5: "high"}
    groups = tuple(
        Group(name, frozenset(f"P{i}" for i, g in labels.items() if g == name))
        for labels in (country, income)
        for name in sorted(set(labels.values()))
    )
    policy = AllocationPolicy(
        group_caps=(
            GroupCap("country", ("FR", "DE"), max_awards=2),
            GroupCap("income group", ("high", "low"), max_awards=2),
        )
    )
    problem = AllocationProblem(
        (Pool("a", 6.0),), tuple(_req(i, float(merit[i])) for i in range(6)), policy, groups
    )
    w = (merit - merit.min()) / (merit.max() - merit.min()) + 0.1
    best = max(
        sum(w[i] for i in s)
        for n in range(7)
        for s in itertools.combinations(range(6), n)
        if all(
            sum(1 for i in s if lab[i] == g) <= 2 for lab in (country, income) for g in lab.values()
        )
    )
    for backend in ("highspy", "scipy"):
        res = solve_allocation(problem, backend=backend, mip_rel_gap=0.0)
        assert res.check(problem) == []
        assert sum(w[i] for i in range(6) if res.fractions[f"r{i}"] > 0) == pytest.approx(best)


# --- slots across a change of the clocks -------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("day", "hours", "count", "lengths"),
    [
        # 72 wall-clock hours from 00:00 on the Saturday; the spring night has 23 hours
        (dt.datetime(2027, 3, 27), 1.0, 71, {1.0}),
        (dt.datetime(2027, 3, 27), 8.0, 9, {7.0, 8.0}),
        (dt.datetime(2027, 10, 30), 8.0, 9, {8.0, 9.0}),
    ],
    ids=["spring 1 h", "spring 8 h", "autumn 8 h"],
)
def test_wall_clock_slots_across_the_missing_and_the_repeated_hour(
    day: dt.datetime, hours: float, count: int, lengths: set[float]
) -> None:
    # the grid by hand: the missing hour is no slot, an 8-hour shift that holds it lasts 7
    # hours, one that holds the repeated hour 9; an award of every slot fits, one more
    # does not, and the real hours add up to the period's
    start, end = day.replace(tzinfo=BERLIN), (day + dt.timedelta(days=3)).replace(tzinfo=BERLIN)
    res = sl.Resource(
        "r", start.astimezone(UTC), end.astimezone(UTC), hours, time_zone="Europe/Berlin"
    )
    grid = sl.slot_grid(res)
    assert len(grid) == count
    assert {(s.end - s.start).total_seconds() / 3600 for s in grid} == lengths
    real = end.astimezone(UTC) - start.astimezone(UTC)
    assert sum((s.end - s.start).total_seconds() for s in grid) == real.total_seconds()
    for n, placed in ((count, count), (count + 1, 0)):
        problem = sl.SlotProblem((res,), (sl.SlotAward("a", "r", n, proposal="P"),))
        out = sl.solve_slots(problem)
        assert sl.check(problem, out.starts) == []
        assert len(out.starts.get("a", ())) == placed


def test_a_resource_unavailable_throughout_places_nothing_and_says_why() -> None:
    start = dt.datetime(2027, 1, 1, tzinfo=UTC)
    end = start + dt.timedelta(days=10)
    res = sl.Resource(
        "r", start, end, 24.0, unavailable=((start - dt.timedelta(days=1), end, "shutdown"),)
    )
    problem = sl.SlotProblem((res,), (sl.SlotAward("a", "r", 1, proposal="P"),))
    out = sl.solve_slots(problem)
    assert out.starts == {} and sl.check(problem, out.starts) == []
    assert list(out.unplaced) == ["a"]


@pytest.mark.parametrize("changeover", [10, 11, 1000, 10**6, 10**30])
def test_a_changeover_longer_than_the_whole_grid(changeover: int) -> None:
    # found: a changeover of 10**6 slots on a 10-slot grid took seconds, 10**30 never
    # ended (the changeover rows looped over every slot of it). Any changeover of 9 slots
    # or more on 10 slots leaves room for one proposal only: the heavier, by hand
    start = dt.datetime(2027, 1, 1, tzinfo=UTC)
    res = sl.Resource("r", start, start + dt.timedelta(days=10), 24.0, changeover=changeover)
    awards = (
        sl.SlotAward("a", "r", 2, proposal="P"),
        sl.SlotAward("b", "r", 2, proposal="Q", weight=2.0),
        sl.SlotAward("c", "r", 3, proposal="Q"),
    )
    problem = sl.SlotProblem((res,), awards)
    out = sl.solve_slots(problem, time_limit_s=10.0)
    assert sl.check(problem, out.starts) == []
    assert sorted(out.starts) == ["b", "c"] and out.objective[0] == 7.0


@pytest.mark.parametrize(
    ("resource", "award", "field"),
    [
        ({"slot_hours": "24"}, {}, "slot_hours must be a positive number"),
        ({"slot_hours": None}, {}, "slot_hours must be a positive number"),
        ({"start": "2027-01-01"}, {}, "start and end must be datetimes"),
        ({}, {"weight": "2"}, "weight must be a positive number"),
        ({}, {"weight": None}, "weight must be a positive number"),
    ],
    ids=["slot_hours str", "slot_hours None", "start str", "weight str", "weight None"],
)
def test_a_slot_field_that_is_not_a_number_is_refused_by_name(
    resource: dict[str, object], award: dict[str, object], field: str
) -> None:
    # found: a weight or slot length of "2" or None crashed in math.isfinite (TypeError),
    # a start given as a string in ".tzinfo" (AttributeError)
    start = dt.datetime(2027, 1, 1, tzinfo=UTC)
    fields: dict = {"start": start, "end": start + dt.timedelta(days=10), "slot_hours": 24.0}
    res = sl.Resource("r", **(fields | resource))
    problem = sl.SlotProblem((res,), (sl.SlotAward("a", "r", 1, proposal="P", **award),))
    with pytest.raises(ValueError, match=field):
        sl.solve_slots(problem)


# --- calibration -----------------------------------------------------------------------


def _grades(p: list[int], r: list[int], g: list[float], n_p: int, n_r: int) -> GradeSet:
    return GradeSet(np.array(p), np.array(r), np.array(g, float), n_p, n_r, GradeScale(1, 5))


@pytest.mark.parametrize("fit_scale", [False, True])
def test_one_reviewer_grading_everything_keeps_its_order(fit_scale: bool) -> None:
    # one reviewer, every proposal: nothing to calibrate against, so the ranks are its
    # grades' order and its leniency 0
    gs = _grades([0, 1, 2, 3], [0, 0, 0, 0], [2.0, 5.0, 1.0, 4.0], 4, 2)
    res = calibrate(gs, fit_scale=fit_scale, n_bootstrap=20)
    assert res.rank.tolist() == [3, 1, 4, 2]
    assert res.leniency.tolist() == pytest.approx([0.0, 0.0], abs=1e-9)


def test_all_grades_equal_give_equal_consensus() -> None:
    gs = _grades([0, 1, 2, 3, 0, 1], [0, 1, 2, 0, 1, 2], [3.0] * 6, 4, 3)
    res = calibrate(gs, fit_scale=True, n_bootstrap=20)
    assert res.consensus == pytest.approx([3.0] * 4)
    assert res.leniency == pytest.approx([0.0] * 3, abs=1e-9)


@pytest.mark.parametrize(
    "grade", [np.array(["1", "2"]), np.array([1, None], dtype=object)], ids=["str", "object"]
)
def test_grades_that_are_not_numbers_are_refused(grade: np.ndarray) -> None:
    # found: grades given as strings or None crashed in np.isfinite (TypeError)
    with pytest.raises(ValueError, match="grades must be real numbers"):
        GradeSet(np.array([0, 1]), np.array([0, 0]), grade, 2, 1, GradeScale(1, 5))


@pytest.mark.parametrize("fit_scale", [False, True])
def test_a_disconnected_reviewer_graph_keeps_each_reviewers_order(fit_scale: bool) -> None:
    # two reviewers who share no proposal: nothing ties one's leniency to the other's, so
    # the ridge keeps both near 0 and the ranks follow the grades (5, 4 | 2, 1)
    gs = _grades([0, 1, 2, 3], [0, 0, 1, 1], [5.0, 4.0, 2.0, 1.0], 4, 2)
    res = calibrate(gs, fit_scale=fit_scale, n_bootstrap=20)
    assert res.rank.tolist() == [1, 2, 3, 4]
    assert np.abs(res.leniency).max() < 0.01


def test_bias_grades_that_are_not_numbers_are_refused() -> None:
    # found: the bias model's grades given as strings crashed in np.isfinite (TypeError)
    from opencall.optim.bias import BiasData, interaction_model

    data = BiasData(np.arange(2), np.zeros(2, int), np.array(["1", "2"]), 2, 1, {}, {})
    with pytest.raises(ValueError, match="grades must be real numbers"):
        interaction_model(data)
