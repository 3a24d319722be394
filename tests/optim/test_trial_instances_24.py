"""The twenty-fourth round of instances nobody showed us (trialopt24, ``tests/optim/trial24.py``):
cruise routes whose arcs are ocean crossings in one arc (90 to 179 degrees), each distance
held to a peer that samples and refines the arc; small cruises (ties of merit, and one leg
whose best combination seats several requests of lower merit than one asking for all of
it), each plan held to ``check``, to the documented optimum (``scipy.optimize.milp``), its
explanations to the plan, and to itself shuffled, with merits times 1000 and beside a
request that fits no leg. Small instances, fixed seeds, no timing
asserted."""

from __future__ import annotations

import dataclasses as dc
import random
from datetime import date

import pytest
from tests.optim import trial24 as t24

from opencall.optim.logistics import (
    NO_BERTH,
    SITE_OFF_ROUTE,
    CourseProblem,
    CourseSession,
    CruiseProblem,
    CruiseRequest,
    DiveSite,
    Leg,
    SeatRequest,
    great_circle_km,
    route_distance_km,
    solve_courses,
    solve_cruise,
)


def test_a_site_on_the_far_side_of_a_long_arcs_great_circle_is_not_on_the_route() -> None:
    # an arc of 150 degrees along the equator; (0, -100) lies on its great circle but on
    # the 210 degrees the arc does not cover, 100 degrees from its nearer end
    d, pos = route_distance_km(0.0, -100.0, ((0.0, 0.0), (0.0, 150.0)))
    assert d == pytest.approx(great_circle_km(0.0, -100.0, 0.0, 0.0), rel=1e-9)
    assert pos == 0.0


def test_a_dive_half_a_world_from_the_leg_is_not_scheduled() -> None:
    leg = Leg(
        "L", date(2027, 2, 27), date(2027, 3, 2), ("A", "B"), ((0.0, 0.0), (0.0, 150.0)), 4, 4, 6000
    )
    req = CruiseRequest("r", 1.0, 1, (DiveSite("far", 0.2, -105.0, 100.0),))
    res = solve_cruise(CruiseProblem((leg,), (req,)), seed=0)
    assert res.leg_of == {"r": None}
    assert res.explanations["r"].code == SITE_OFF_ROUTE


@pytest.mark.parametrize("seed", range(40))
def test_route_distances_over_long_arcs_match_a_sampled_peer(seed: int) -> None:
    site, pts = t24.route(seed)
    d, _ = route_distance_km(*site, pts)
    assert d == pytest.approx(t24.route_peer(site, pts), abs=1e-3)


# ------------------------------------------------------------------------------------------
# cruises: the plan against the documented optimum, its explanations, invariances
# ------------------------------------------------------------------------------------------

_ROUTE = ((-30.0, 178.0), (-32.0, 178.0))


def _leg(lid: str = "L", berths: int = 4) -> Leg:
    return Leg(lid, date(2028, 2, 28), date(2028, 3, 1), ("A", "B"), _ROUTE, berths, 2, 6000)


def test_berths_taken_by_a_better_combination_are_not_said_taken_by_higher_valued_requests() -> (
    None
):
    # A (merit 10) asks for the whole leg; B and C (merit 8) for half of it each: their
    # weights together pass A's, so they sail; D (merit 1) does not fit either way
    reqs = (
        CruiseRequest("A", 10.0, 4),
        CruiseRequest("B", 8.0, 2),
        CruiseRequest("C", 8.0, 2),
        CruiseRequest("D", 1.0, 1),
    )
    res = solve_cruise(CruiseProblem((_leg(),), reqs), seed=0)
    assert res.leg_of == {"A": None, "B": "L", "C": "L", "D": None}
    assert res.explanations["A"].code == NO_BERTH
    assert res.explanations["A"].detail == (
        "berths on leg(s) L taken by the best combination of requests, including requests "
        "of equal or lower merit"
    )
    assert res.explanations["D"].detail == "berths on leg(s) L taken by higher-valued requests"


def test_a_request_that_fits_no_leg_changes_nobody_elses_berth() -> None:
    reqs = (CruiseRequest("A", 10.0, 4), CruiseRequest("B", 5.0, 2), CruiseRequest("C", 5.0, 2))
    alone = solve_cruise(CruiseProblem((_leg(),), reqs), seed=0)
    assert alone.leg_of == {"A": "L", "B": None, "C": None}
    # Z asks for five berths of a leg of four, at the lowest merit
    more = solve_cruise(CruiseProblem((_leg(),), (*reqs, CruiseRequest("Z", 0.0, 5))), seed=0)
    assert dict(more.leg_of) == {**alone.leg_of, "Z": None}


def test_a_seat_request_no_session_can_hold_changes_nobody_elses_seat() -> None:
    sessions = (CourseSession("s", date(2028, 2, 29), date(2028, 2, 29), "Lima", 4),)
    reqs = (
        SeatRequest("A", 10.0, 4, ("s",)),
        SeatRequest("B", 5.0, 2, ("s",)),
        SeatRequest("C", 5.0, 2, ("s",)),
    )
    alone = solve_courses(CourseProblem(sessions, reqs), seed=0)
    assert {k: p and p.count for k, p in alone.placements.items()} == {"A": 4, "B": None, "C": None}
    more = solve_courses(CourseProblem(sessions, (*reqs, SeatRequest("Z", 0.0, 5, ("s",)))), seed=0)
    assert dict(more.placements) == {**alone.placements, "Z": None}


CRUISES = [(f, s) for f in ("small", "knapsack") for s in range(30)]


@pytest.mark.parametrize(("family", "seed"), CRUISES)
def test_the_cruise_is_valid_optimal_and_explained(family: str, seed: int) -> None:
    problem = t24.cruise(seed, family)
    res = solve_cruise(problem, seed=seed)
    assert res.check(problem) == []
    # HiGHS stops within a relative gap of 1e-6
    assert t24.cruise_value(problem, res, seed) >= t24.cruise_peer(problem, seed) * (1 - 1e-6)
    merit = {r.id: r.merit for r in problem.requests}
    for r in problem.requests:
        ex = res.explanations[r.id]
        if ex.detail.endswith("taken by higher-valued requests"):
            holders = [q.id for q in problem.requests if res.leg_of[q.id] in ex.pools]
            assert all(merit[q] > r.merit for q in holders), (r.id, ex.detail, holders)


@pytest.mark.parametrize(("family", "seed"), CRUISES)
def test_the_cruise_is_the_same_shuffled_scaled_and_beside_a_request_that_fits_nowhere(
    family: str, seed: int
) -> None:
    problem = t24.cruise(seed, family)
    res = solve_cruise(problem, seed=seed)
    plan = (dict(res.leg_of), set(res.dives))
    rng = random.Random(seed)
    reqs, legs = list(problem.requests), list(problem.legs)
    rng.shuffle(reqs)
    rng.shuffle(legs)
    shuffled = solve_cruise(dc.replace(problem, requests=tuple(reqs), legs=tuple(legs)), seed=seed)
    assert (dict(shuffled.leg_of), set(shuffled.dives)) == plan
    scaled = dc.replace(
        problem, requests=tuple(dc.replace(r, merit=r.merit * 1000) for r in problem.requests)
    )
    res_scaled = solve_cruise(scaled, seed=seed)
    assert (dict(res_scaled.leg_of), set(res_scaled.dives)) == plan
    nowhere = CruiseRequest("zz", -50.0, max(leg.berths for leg in problem.legs) + 1)
    res_more = solve_cruise(dc.replace(problem, requests=(*problem.requests, nowhere)), seed=seed)
    assert (dict(res_more.leg_of), set(res_more.dives)) == ({**plan[0], "zz": None}, plan[1])
