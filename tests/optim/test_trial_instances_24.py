"""The twenty-fourth round of instances nobody showed us (trialopt24, ``tests/optim/trial24.py``):
cruise routes whose arcs are ocean crossings in one arc (90 to 179 degrees), each distance
held to a peer that samples and refines the arc. Small instances, fixed seeds, no timing
asserted."""

from __future__ import annotations

from datetime import date

import pytest
from tests.optim import trial24 as t24

from opencall.optim.logistics import (
    SITE_OFF_ROUTE,
    CruiseProblem,
    CruiseRequest,
    DiveSite,
    Leg,
    great_circle_km,
    route_distance_km,
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
