"""Instance families nobody tried before the ninth round, run through the public optimiser
functions and held to answers computed here: a MILP of SciPy or brute force on small
instances, invariants on larger ones. Each test that found a defect names the instance that
showed it; the others pin down behaviour that was right and had no test."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from tests.optim.test_trial_instances_2 import oracle_grid

from opencall.optim import slots as sl
from opencall.optim.allocation import AllocationProblem, Pool, Request, solve_allocation
from opencall.optim.assignment import AssignmentProblem, Grouping, solve_assignment
from opencall.optim.calibration import GradeScale, GradeSet, calibrate
from opencall.optim.logistics import CruiseProblem, CruiseRequest, DiveSite, Leg, solve_cruise
from opencall.optim.sky import Site, visible_intervals, zenith_angle_deg

# --- reviewer assignment ---------------------------------------------------------------


def milp_max_min(
    a: np.ndarray, k: int, max_load: int, banned: set[tuple[int, int]], labels: np.ndarray | None
) -> float:
    """The best lowest proposal affinity by SciPy's MILP over every pair (one reviewer of a
    proposal per label when ``labels`` is given)."""
    P, R = a.shape
    n = P * R
    upper = np.ones(n + 1)
    upper[n] = np.inf
    lower = np.zeros(n + 1)
    lower[n] = -np.inf
    for p, r in banned:
        upper[p * R + r] = 0.0
    rows, lo, hi = [], [], []
    for p in range(P):
        count = np.zeros(n + 1)
        count[p * R : (p + 1) * R] = 1.0
        fair = np.zeros(n + 1)
        fair[p * R : (p + 1) * R] = a[p]
        fair[n] = -1.0
        rows += [count, fair]
        lo += [k, 0.0]
        hi += [k, np.inf]
        for g in set(labels.tolist()) if labels is not None else ():
            cap = np.zeros(n + 1)
            cap[p * R : (p + 1) * R] = labels == g
            rows.append(cap)
            lo.append(0.0)
            hi.append(1.0)
    for r in range(R):
        load = np.zeros(n + 1)
        load[r:n:R] = 1.0
        rows.append(load)
        lo.append(0.0)
        hi.append(max_load)
    c = np.zeros(n + 1)
    c[n] = -1.0
    integrality = np.ones(n + 1)
    integrality[n] = 0.0
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=integrality,
        bounds=Bounds(lower, upper),
    )
    assert res.status == 0, res.message
    return float(-res.fun)


def test_fair_mode_where_fairness_cannot_bind_is_settled_without_its_lp() -> None:
    # defect: one proposal among 10,000 reviewers in fair mode took 12 s (9 s of HiGHS
    # presolve on the max-min LP, quadratic in the reviewers when every load row holds one
    # pair; 3 s at 5,000, 0.7 s at 2,000) against 0.05 s in total mode, although the
    # total-mode optimum gives the lowest proposal its best reviewers, which no assignment
    # can beat; every reviewer allowed to one proposal only is the same instance
    a = np.random.default_rng(0).random((1, 10_000))
    for objective in ("total", "fair"):
        pb = AssignmentProblem(1, 10_000, a, k=3, objective=objective)  # type: ignore[arg-type]
        res = solve_assignment(pb)
        assert res.check(pb) == [] and res.certified and res.total_certified
        assert res.total_affinity == pytest.approx(np.sort(a[0])[-3:].sum())
    assert res.timings["fair_settled_by_total"] == 1.0 and "fair_lp" not in res.timings
    P, R = 4, 12
    a = np.random.default_rng(1).random((P, R))
    conflicts = np.array([(p, r) for p in range(P) for r in range(R) if r % P != p])
    pb = AssignmentProblem(P, R, a, k=2, conflicts=conflicts, objective="fair")
    res = solve_assignment(pb)
    best = [np.sort(a[p, p::P])[-2:].sum() for p in range(P)]
    assert res.check(pb) == [] and res.certified and res.total_certified
    assert res.proposal_affinity == pytest.approx(best)
    assert res.timings["fair_settled_by_total"] == 1.0
    # without the total's LP bound the flow's bound still certifies the total
    quick = solve_assignment(pb, fair_total_bound=False)
    assert quick.total_certified and quick.total_upper_bound == pytest.approx(sum(best))


@pytest.mark.parametrize("seed", range(4))
def test_fair_mode_against_a_milp_when_fairness_binds_or_not(seed: int) -> None:
    # the shortcut above must not settle an instance where the total-mode optimum leaves
    # its lowest proposal below that proposal's best: few reviewers, tight loads, ties,
    # conflicts and a diversity rule
    rng = np.random.default_rng(seed)
    for _ in range(6):
        P, R = int(rng.integers(1, 5)), int(rng.integers(2, 6))
        a = rng.random((P, R))
        if rng.random() < 0.4:
            a = np.round(a * 2) / 2  # ties
        k, max_load = 1 + int(rng.random() < 0.4), int(rng.integers(1, 4))
        banned = {(p, r) for p in range(P) for r in range(R) if rng.random() < 0.25}
        labels = rng.integers(0, 2, R) if rng.random() < 0.3 else None
        conflicts = np.array(sorted(banned), np.int64).reshape(-1, 2)
        groupings = (Grouping(labels, 1),) if labels is not None else ()
        objective: Literal["fair"] = "fair"
        try:
            pb = AssignmentProblem(
                P,
                R,
                a,
                k=k,
                max_load=max_load,
                conflicts=conflicts,
                groupings=groupings,
                objective=objective,
            )
            res = solve_assignment(pb)
        except ValueError:  # infeasible: the MILP agrees below
            with pytest.raises(AssertionError):
                milp_max_min(a, k, max_load, banned, labels)
            continue
        assert res.check(pb) == [] and res.certified
        want = milp_max_min(a, k, max_load, banned, labels)
        assert res.min_proposal_affinity == pytest.approx(want, abs=1e-5)


# --- allocation ------------------------------------------------------------------------


def test_thousands_of_tiny_requests_fill_the_pool_in_merit_order() -> None:
    # 3,000 requests of 1e-3 h each on one pool of 1 h, merits 0..6 in turn: exactly the
    # thousand best fit (the packing's local search used to sort every free request once
    # per awarded one: 2.8 CPU s at 5,000 requests, now 1.1 s; see bench/README.md)
    n = 3000
    reqs = tuple(Request(f"r{i}", f"P{i}", f"pi{i}", float(i % 7), {"a": 1e-3}) for i in range(n))
    problem = AllocationProblem((Pool("a", 1.0),), reqs)
    res = solve_allocation(problem)
    assert res.check(problem) == [] and res.status == "optimal"
    got = [r for r in reqs if res.fractions[r.id] > 0]
    assert len(got) == 1000 and all(res.fractions[r.id] == 1.0 for r in got)
    left = [r for r in reqs if res.fractions[r.id] == 0]
    assert min(r.merit for r in got) >= max(r.merit for r in left)
    used = sum(r.demand["a"] for r in got)
    assert used <= 1.0 + 1e-9 and used + 1e-3 > 1.0 + 1e-9


# --- slot grids and FAST-style sites ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "days"),
    [
        # Samoa skipped Friday 30 December 2011 (UTC-10 to UTC+14): six local days in five
        ("Pacific/Apia", dt.datetime(2011, 12, 28, 11, tzinfo=dt.UTC), 5),
        # Kiritimati skipped 31 December 1994 (UTC-10 to UTC+14)
        ("Pacific/Kiritimati", dt.datetime(1994, 12, 29, 10, tzinfo=dt.UTC), 5),
        # southern summer time over the new year; Lord Howe's half hour; Chatham's 45 min
        ("Australia/Lord_Howe", dt.datetime(2027, 12, 30, 13, tzinfo=dt.UTC), 4),
        ("Pacific/Chatham", dt.datetime(2027, 4, 1, 11, tzinfo=dt.UTC), 5),
        # Troll (Antarctica) moves by two hours
        ("Antarctica/Troll", dt.datetime(2027, 3, 26, tzinfo=dt.UTC), 5),
    ],
)
def test_slot_grids_over_skipped_days_and_the_new_year(
    zone: str, start: dt.datetime, days: int
) -> None:
    end = start + dt.timedelta(days=days)
    for hours in (24.0, 5.0, 0.75):
        got = [
            (s.start, s.end)
            for s in sl.slot_grid(sl.Resource("m", start, end, hours, time_zone=zone))
        ]
        assert got == oracle_grid(start, end, hours, zone)


@pytest.mark.parametrize("lat", [90.0, -90.0, 89.9999, -89.9999, 0.0])
def test_visibility_at_the_poles_against_sampled_zenith_angles(lat: float) -> None:
    # a telescope at a pole: every target keeps its zenith angle all day (all or nothing);
    # near it, the closed form's hour-angle limit divides by almost zero
    t0, t1 = 1_830_000_000.0, 1_830_000_000.0 + 2 * 86400
    ts = np.arange(t0, t1, 60.0)
    site = Site(lat, 37.0, 0.0)
    for dec, zmax, zmin in (
        (-lat, 1.0, 0.0),
        (lat / 2, 50.0, 0.0),
        (60.0, 40.0, 20.0),
        (0.0, 90.0, 0.0),
    ):
        vi = visible_intervals(
            [45.0], [dec], t0, t1, site, max_zenith_deg=zmax, min_zenith_deg=zmin
        )
        z = zenith_angle_deg(
            np.full(ts.size, 45.0), np.full(ts.size, dec), ts, site, 0.5 * (t0 + t1)
        )
        inside = np.zeros(ts.size, bool)
        for s, e in zip(vi.start, vi.end, strict=True):
            inside |= (ts >= s) & (ts <= e)
        clear = (np.abs(z - zmax) > 0.01) & (np.abs(z - zmin) > 0.01)
        assert (inside == ((z <= zmax) & (z >= zmin)))[clear].all(), (dec, zmax, zmin)


# --- cruise logistics ------------------------------------------------------------------


def test_a_cruise_on_legs_without_berths_or_dive_slots_and_sites_on_one_point() -> None:
    # a leg with no berths, a leg with berths but no dive slots, both routes at the North
    # Pole (one waypoint, repeated); two requests dive at the same point, one asks for none
    day = dt.date(2027, 12, 30)
    legs = (
        Leg("L0", day, day + dt.timedelta(days=3), ("x",), ((90.0, 0.0),), 0, 5, 4000.0),
        Leg(
            "L1", day, day + dt.timedelta(days=3), ("x",), ((90.0, 0.0), (90.0, 0.0)), 4, 0, 4000.0
        ),
    )
    pole = DiveSite("np", 90.0, 123.0, 3000.0)
    reqs = (
        CruiseRequest("r0", 3.0, 2, (pole, pole)),
        CruiseRequest("r1", 2.0, 1, (pole,), min_dives=0),
        CruiseRequest("r2", 1.0, 2),
        CruiseRequest("r3", 4.0, 0, (pole,)),
    )
    problem = CruiseProblem(legs, reqs)
    res = solve_cruise(problem)
    assert res.check(problem) == []
    # r0 needs a dive and two berths: no leg has both; r3 asks no berth, so the leg without
    # berths takes it and its dive at the pole; r1 (no dive needed) and r2 sail on L1
    assert dict(res.leg_of) == {"r0": None, "r1": "L1", "r2": "L1", "r3": "L0"}
    assert [(d.request_id, d.leg_id, d.day) for d in res.dives] == [("r3", "L0", day)]


# --- calibration -----------------------------------------------------------------------


def kkt_calibration(
    p: np.ndarray, r: np.ndarray, g: np.ndarray, n_p: int, n_r: int, scale: GradeScale
) -> tuple[np.ndarray, np.ndarray]:
    """Consensus and leniency of the model without scales (the module docstring: ridge 2 on
    leniencies, 1e-3 on qualities, both summing to zero) by one dense KKT solve."""
    o = scale.orient(g)
    m, d = o.mean(), o.std()
    d = d if d > 1e-12 * max(abs(scale.min), abs(scale.max), abs(m)) else 1.0
    y = (o - m) / d
    n = 1 + n_p + n_r
    x = np.zeros((len(g), n))
    x[:, 0] = 1.0
    x[np.arange(len(g)), 1 + p] = 1.0
    x[np.arange(len(g)), 1 + n_p + r] = 1.0
    h = 2 * x.T @ x + np.diag(np.r_[0.0, np.full(n_p, 2e-3), np.full(n_r, 4.0)])
    c = np.zeros((2, n))
    c[0, 1 : 1 + n_p] = 1.0
    c[1, 1 + n_p :] = 1.0
    kkt = np.block([[h, c.T], [c, np.zeros((2, 2))]])
    sol = np.linalg.solve(kkt, np.r_[2 * x.T @ y, 0.0, 0.0])
    mu, q, b = sol[0], sol[1 : 1 + n_p], sol[1 + n_p : n]
    return scale.orient(m + d * (mu + q)), d * b


@pytest.mark.parametrize("solver", ["normal", "lsqr"])
def test_calibration_of_reviewers_in_disjoint_groups(solver: str) -> None:
    # three panels that share no proposal and no reviewer (a disconnected graph), and a
    # reviewer with no grade at all: leniency is told apart within each panel only, and the
    # fit is the KKT solution of the stated model
    rng = np.random.default_rng(11)
    p, r = [], []
    for panel in range(3):
        for k in range(4):
            for j in rng.choice(3, 2, replace=False):
                p.append(4 * panel + k)
                r.append(3 * panel + int(j))
    pa, ra = np.array(p), np.array(r)
    g = rng.integers(1, 6, len(p)).astype(float)
    for lower_is_better in (False, True):
        scale = GradeScale(1, 5, lower_is_better)
        gs = GradeSet(pa, ra, g, 12, 10, scale)
        res = calibrate(gs, n_bootstrap=10, solver=solver)
        assert res.check(gs) == []
        consensus, leniency = kkt_calibration(pa, ra, g, 12, 10, scale)
        # the consensus is reported on the grade scale (clipped; the ranks keep the order)
        assert res.consensus == pytest.approx(np.clip(consensus, scale.min, scale.max), abs=1e-6)
        assert res.leniency == pytest.approx(leniency, abs=1e-6)
        assert res.leniency[9] == pytest.approx(0.0, abs=1e-9)  # no grade, no leniency
        assert sorted(res.rank.tolist()) == list(range(1, 13))
