from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opencall.optim.logistics import (
    DIVE_SLOTS_EXHAUSTED,
    INVENTORY_EXHAUSTED,
    NO_BERTH,
    NO_PACKAGES,
    NO_SEATS,
    NOT_FEASIBLE,
    SCHEDULED,
    SITE_OFF_ROUTE,
    TOO_DEEP,
    CourseProblem,
    CourseSession,
    CruiseProblem,
    CruiseRequest,
    DiveSite,
    Leg,
    PackageProblem,
    PackageRequest,
    PackageSeason,
    SampleLoan,
    SampleProblem,
    SampleType,
    SeatRequest,
    great_circle_km,
    plan_shipments,
    route_distance_km,
    solve_courses,
    solve_cruise,
    solve_packages,
)

KM_PER_DEG = 6371.0088 * 3.141592653589793 / 180.0

# ------------------------------------------------------------------------------------------
# geometry
# ------------------------------------------------------------------------------------------


def test_great_circle_one_degree() -> None:
    assert great_circle_km(0, 0, 1, 0) == pytest.approx(KM_PER_DEG, rel=1e-9)
    assert great_circle_km(10, 20, 10, 20) == pytest.approx(0.0, abs=1e-9)


def test_route_distance_cross_track_and_endpoints() -> None:
    route = ((0.0, 0.0), (0.0, 2.0))
    d, pos = route_distance_km(0.5, 1.0, route)
    assert d == pytest.approx(0.5 * KM_PER_DEG, rel=1e-6)
    assert pos == pytest.approx(1.0 * KM_PER_DEG, rel=1e-6)
    d, pos = route_distance_km(0.0, 3.0, route)  # beyond the end: distance to the endpoint
    assert d == pytest.approx(KM_PER_DEG, rel=1e-6)
    assert pos == pytest.approx(2.0 * KM_PER_DEG, rel=1e-6)
    d, _ = route_distance_km(-30.0, 178.0, ((-30.0, 178.0),))
    assert d == pytest.approx(0.0, abs=1e-6)
    # across the antimeridian
    d, _ = route_distance_km(0.1, 180.0, ((0.0, 179.0), (0.0, -179.0)))
    assert d == pytest.approx(0.1 * KM_PER_DEG, rel=1e-6)


# ------------------------------------------------------------------------------------------
# cruise
# ------------------------------------------------------------------------------------------

KERMADEC = ((-30.0, 178.0), (-32.0, 178.0))
PUYSEGUR = ((-45.0, 166.0), (-47.0, 165.0))


def legs() -> tuple[Leg, ...]:
    return (
        Leg("L1", date(2025, 1, 1), date(2025, 1, 5), ("Apia", "Auckland"), KERMADEC, 4, 3, 11000),
        Leg("L2", date(2025, 2, 1), date(2025, 2, 3), ("Auckland", "Bluff"), PUYSEGUR, 2, 3, 6000),
    )


def test_cruise_golden() -> None:
    problem = CruiseProblem(
        legs(),
        (
            CruiseRequest(
                "a", 5, 2, (DiveSite("k1", -30.5, 178.1, 10000), DiveSite("k2", -31, 178, 9000))
            ),
            CruiseRequest("b", 4, 2, (DiveSite("p1", -46, 165.5, 7000),)),
            CruiseRequest("c", 3, 2, (DiveSite("far", -20, 170, 5000),)),
            CruiseRequest("d", 2, 3, (DiveSite("k3", -31.5, 178, 3000),)),
            CruiseRequest("e", 1, 1, ()),
        ),
    )
    res = solve_cruise(problem)
    assert res.check(problem) == []
    assert dict(res.leg_of) == {"a": "L1", "b": None, "c": None, "d": None, "e": "L2"}
    codes = {k: v.code for k, v in res.explanations.items()}
    assert codes == {
        "a": "awarded",
        "b": TOO_DEEP,
        "c": SITE_OFF_ROUTE,
        "d": NO_BERTH,
        "e": "awarded",
    }
    assert "7000 m is deeper than the 6000 m limit" in res.explanations["b"].detail
    assert "km from the nearest route (limit 50 km)" in res.explanations["c"].detail
    assert res.dive_reasons["a"] == (SCHEDULED, SCHEDULED)
    days = sorted(d.day for d in res.dives)
    assert len(set(days)) == len(days)  # at most one dive a day


def test_cruise_dive_slots_and_days() -> None:
    leg = Leg("L", date(2025, 1, 1), date(2025, 1, 2), (), KERMADEC, 10, 5, 11000)
    sites = tuple(DiveSite(f"s{k}", -30.2 - 0.1 * k, 178.0, 5000) for k in range(3))
    problem = CruiseProblem(
        (leg,),
        (
            CruiseRequest("big", 9, 1, sites),  # 3 dives, but only 2 days x 1 dive
            CruiseRequest("small", 1, 1, (DiveSite("t", -31, 178, 1000),)),
        ),
    )
    res = solve_cruise(problem)
    assert res.check(problem) == []
    assert len(res.dives) == 2
    assert res.explanations["big"].code == "awarded_partially"
    assert res.explanations["small"].code == DIVE_SLOTS_EXHAUSTED
    assert DIVE_SLOTS_EXHAUSTED in res.dive_reasons["big"]
    # dives follow the route southwards
    ordered = sorted(res.dives, key=lambda d: d.day)
    assert [d.site_id for d in ordered] == sorted(d.site_id for d in ordered)


def test_cruise_validation() -> None:
    with pytest.raises(ValueError, match="before start"):
        Leg("L", date(2025, 1, 2), date(2025, 1, 1), (), KERMADEC, 1, 1, 100)
    with pytest.raises(ValueError, match="waypoint"):
        Leg("L", date(2025, 1, 1), date(2025, 1, 1), (), ((95.0, 0.0),), 1, 1, 100)
    with pytest.raises(ValueError, match="unknown leg"):
        CruiseProblem(legs(), (CruiseRequest("x", 1, 1, legs=("L9",)),))
    with pytest.raises(ValueError, match="min_dives"):
        CruiseRequest("x", 1, 1, (), min_dives=1)


@st.composite
def cruises(draw: st.DrawFn) -> CruiseProblem:
    n_legs = draw(st.integers(1, 3))
    out_legs = []
    for j in range(n_legs):
        start = date(2025, 1, 1) + timedelta(days=10 * j)
        lat0 = draw(st.floats(-50, 10))
        lon0 = draw(st.floats(140, 180))
        out_legs.append(
            Leg(
                f"L{j}",
                start,
                start + timedelta(days=draw(st.integers(0, 4))),
                (),
                ((lat0, lon0), (lat0 - 2, lon0 + draw(st.floats(-1, 1)))),
                draw(st.integers(0, 6)),
                draw(st.integers(0, 4)),
                draw(st.sampled_from([4500.0, 7000.0, 11000.0])),
                draw(st.integers(1, 2)),
            )
        )
    reqs = []
    for i in range(draw(st.integers(0, 7))):
        dives = []
        for k in range(draw(st.integers(0, 3))):
            leg = draw(st.sampled_from(out_legs))
            lat, lon = leg.route[0]
            dives.append(
                DiveSite(
                    f"s{i}{k}",
                    lat - draw(st.floats(0, 2)),
                    lon + draw(st.floats(-0.6, 0.6)),
                    draw(st.floats(0, 11000)),
                )
            )
        allowed = draw(st.lists(st.sampled_from([leg.id for leg in out_legs]), unique=True))
        reqs.append(
            CruiseRequest(
                f"r{i}",
                draw(st.floats(-2, 2)),
                draw(st.integers(0, 3)),
                tuple(dives),
                tuple(allowed),
            )
        )
    return CruiseProblem(tuple(out_legs), tuple(reqs), draw(st.sampled_from([20.0, 50.0])))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=cruises(), seed=st.integers(0, 100))
def test_cruise_properties(problem: CruiseProblem, seed: int) -> None:
    before = copy.deepcopy(problem)
    res = solve_cruise(problem, seed=seed)
    assert problem == before
    assert res.check(problem) == []
    assert set(res.explanations) == {r.id for r in problem.requests}
    for r in problem.requests:
        assert len(res.dive_reasons[r.id]) == len(r.dives)
    again = solve_cruise(problem, seed=seed)
    assert dict(again.leg_of) == dict(res.leg_of) and again.dives == res.dives


# ------------------------------------------------------------------------------------------
# courses and packages
# ------------------------------------------------------------------------------------------


def test_courses_golden() -> None:
    problem = CourseProblem(
        (
            CourseSession("s1", date(2025, 3, 1), date(2025, 3, 20), "Changsha", 3, "hybrid_rice"),
            CourseSession("s2", date(2025, 5, 1), date(2025, 5, 20), "Changsha", 2, "hybrid_rice"),
        ),
        (
            SeatRequest("r1", 5, 2, ("s1",)),
            SeatRequest("r2", 4, 2, ("s1", "s2")),
            SeatRequest("r3", 3, 2, ("s1",)),
            SeatRequest("r4", 1, 3, ("s2",), min_count=1),
            SeatRequest("r5", 9, 1, ("nope",)),
        ),
    )
    res = solve_courses(problem)
    assert res.check(problem) == []
    got = {k: (p.bin_id, p.count) if p else None for k, p in res.placements.items()}
    assert got == {"r1": ("s1", 2), "r2": ("s2", 2), "r3": None, "r4": None, "r5": None}
    assert res.explanations["r2"].detail.endswith("(choice 2)")
    assert res.explanations["r3"].code == NO_SEATS
    assert res.explanations["r5"].code == NOT_FEASIBLE


@settings(max_examples=40, deadline=None)
@given(
    seats=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    asks=st.lists(
        st.tuples(
            st.floats(-1, 1), st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(0, 3))
        ),
        max_size=8,
    ),
    seed=st.integers(0, 50),
)
def test_courses_never_overfilled(
    seats: list[int], asks: list[tuple[float, int, int, list[int]]], seed: int
) -> None:
    sessions = tuple(
        CourseSession(f"s{j}", date(2025, 1, 1), date(2025, 1, 9), "Wuxi", n)
        for j, n in enumerate(seats)
    )
    reqs = tuple(
        SeatRequest(f"r{i}", m, c, tuple(f"s{j}" for j in dict.fromkeys(pref)), min(lo, c))
        for i, (m, c, lo, pref) in enumerate(asks)
    )
    problem = CourseProblem(sessions, reqs)
    res = solve_courses(problem, seed=seed)
    assert res.check(problem) == []
    for s in sessions:
        assert res.usage().get(s.id, 0) <= s.seats
    assert set(res.explanations) == {r.id for r in reqs}
    assert solve_courses(problem, seed=seed).placements == res.placements


def test_packages() -> None:
    problem = PackageProblem(
        (PackageSeason("2025-wet", "juncao", 2), PackageSeason("2025-dry", "tilapia", 1)),
        (
            PackageRequest("p1", 3, "juncao", "kigali", 2),
            PackageRequest("p2", 2, "juncao", "lae", 1),
            PackageRequest(
                "p3",
                9,
                "juncao",
                "ulaanbaatar",
                1,
                suitable=False,
                unsuitable_reason="mean temperature 0.5 °C is below 15.0 °C",
            ),
            PackageRequest("p4", 1, "tilapia", "suva", 1, seasons=("2025-wet",)),
        ),
    )
    res = solve_packages(problem)
    assert res.check(problem) == []
    assert res.placements["p1"] is not None and res.placements["p1"].count == 2
    assert res.explanations["p2"].code == NO_PACKAGES
    assert res.explanations["p3"].code == NOT_FEASIBLE
    assert "15.0 °C" in res.explanations["p3"].detail
    assert res.explanations["p4"].code == NOT_FEASIBLE  # no tilapia packages in the wet season


# ------------------------------------------------------------------------------------------
# samples
# ------------------------------------------------------------------------------------------


def test_shipments_golden() -> None:
    problem = SampleProblem(
        (SampleType("CE5-soil", 100.0), SampleType("CE6-basalt", 10.0)),
        (
            SampleLoan("l1", 3, "Paris", {"CE5-soil": 60, "CE6-basalt": 5}),
            SampleLoan("l2", 2, "Pune", {"CE5-soil": 60}),
            SampleLoan("l3", 1, "Lima", {"CE6-basalt": 10}, min_fraction=0.5),
        ),
    )
    plan = plan_shipments(problem)
    assert plan.check(problem) == []
    shipped = {s.loan_id: dict(s.items) for s in plan.shipments}
    assert shipped == {"l1": {"CE5-soil": 60, "CE6-basalt": 5}, "l3": {"CE6-basalt": 5}}
    assert dict(plan.remaining_mg) == {"CE5-soil": 40.0, "CE6-basalt": 0.0}
    assert plan.explanations["l2"].code == INVENTORY_EXHAUSTED
    assert plan.explanations["l2"].pools == ("CE5-soil",)


@pytest.mark.parametrize("masses", [{"CE5-soil": 0}, {"CE5-soil": 0.0, "CE6-basalt": 0}, {}])
def test_a_loan_of_nothing_is_refused_when_made(masses: dict[str, float]) -> None:
    """A loan of 0 mg (of every sample type, or of none) made a shipment with no items
    (mend11b item 2): it is refused when made, with a clear error."""
    with pytest.raises(ValueError, match="no sample mass"):
        SampleLoan("l0", 1, "Paris", masses)
    # a zero beside a positive mass is no item of the shipment
    problem = SampleProblem(
        (SampleType("CE5-soil", 100.0), SampleType("CE6-basalt", 10.0)),
        (SampleLoan("l1", 1, "Paris", {"CE5-soil": 5, "CE6-basalt": 0}),),
    )
    plan = plan_shipments(problem)
    assert [s.items for s in plan.shipments] == [(("CE5-soil", 5.0),)]


@example(inventory=[5e-324], loans=[(0.5, {0: 1.0}, 1.0)], seed=0)  # dividing by 5e-324
@settings(max_examples=40, deadline=None)
@given(
    inventory=st.lists(st.floats(0, 50), min_size=1, max_size=3),
    loans=st.lists(
        st.tuples(
            st.floats(-1, 1),
            st.dictionaries(st.integers(0, 2), st.floats(0, 30), min_size=1),
            st.sampled_from([0.25, 1.0]),
        ),
        max_size=7,
    ),
    seed=st.integers(0, 50),
)
def test_shipments_never_exceed_inventory(
    inventory: list[float], loans: list[tuple[float, dict[int, float], float]], seed: int
) -> None:
    types = tuple(SampleType(f"t{j}", mg) for j, mg in enumerate(inventory))
    lent = [
        (i, m, {f"t{j % len(types)}": mg for j, mg in masses.items()}, frac)
        for i, (m, masses, frac) in enumerate(loans)
    ]
    # a loan of nothing is refused when made (test_a_loan_of_nothing_is_refused_when_made)
    problem = SampleProblem(
        types,
        tuple(
            SampleLoan(f"l{i}", m, f"lab{i}", ms, frac)
            for i, m, ms, frac in lent
            if any(mg > 0 for mg in ms.values())
        ),
    )
    before = copy.deepcopy(problem)
    plan = plan_shipments(problem, seed=seed)
    assert problem == before
    assert plan.check(problem) == []
    for t in types:
        sent = sum(mg for s in plan.shipments for tid, mg in s.items if tid == t.id)
        assert sent <= t.inventory_mg + 1e-6
    assert set(plan.explanations) == {loan.id for loan in problem.loans}
    assert plan_shipments(problem, seed=seed).shipments == plan.shipments
