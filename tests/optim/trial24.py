"""Instances of the twenty-fourth round (trialopt24), each a function of its seed, and
peers written from the docstrings of ``opencall.optim.logistics`` (not from its code).

``route``
    a cruise route of two to four waypoints whose arcs are long (90 to 179 degrees of the
    great circle, an ocean crossing in one arc) and a site anywhere on the sphere, a third
    of them near the far side of the arc's great circle (the half of it the arc does not
    cover). Peer (``route_peer``): the distance to each arc found by sampling the arc at
    4,001 points (spherical interpolation) and refining the best with
    ``scipy.optimize.minimize_scalar``.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp, minimize_scalar

from opencall.optim import logistics as lg
from opencall.optim.logistics.geometry import EARTH_RADIUS_KM, route_distance_km
from opencall.optim.ties import tie_ranks


def _unit(lat: float, lon: float) -> np.ndarray:
    la, lo = math.radians(lat), math.radians(lon)
    return np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])


def _latlon(v: np.ndarray) -> tuple[float, float]:
    v = v / np.linalg.norm(v)
    return math.degrees(math.asin(max(-1.0, min(1.0, v[2])))), math.degrees(math.atan2(v[1], v[0]))


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    return math.atan2(float(np.linalg.norm(np.cross(u, v))), float(np.dot(u, v)))


def route(seed: int) -> tuple[tuple[float, float], tuple[tuple[float, float], ...]]:
    """(site, route): a route of long arcs and a site, the same for the same ``seed``."""
    rng = random.Random(seed * 7919 + 24)
    lat, lon = rng.uniform(-60, 60), rng.uniform(-180, 180)
    pts = [(lat, lon)]
    for _ in range(rng.randint(1, 3)):
        a = _unit(*pts[-1])
        # a direction perpendicular to a, turned by a random heading
        east = np.cross([0.0, 0.0, 1.0], a)
        east /= np.linalg.norm(east)
        north = np.cross(a, east)
        h = rng.uniform(0, 2 * math.pi)
        d = math.cos(h) * east + math.sin(h) * north
        step = math.radians(rng.uniform(90, 179))
        pts.append(_latlon(math.cos(step) * a + math.sin(step) * d))
    if rng.random() < 1 / 3:
        # near the far side of the first arc's great circle: the antipode of its middle
        a, b = _unit(*pts[0]), _unit(*pts[1])
        mid = a + b
        site = _latlon(
            -mid + rng.uniform(-0.05, 0.05) * np.cross(a, b) / np.linalg.norm(np.cross(a, b))
        )
    else:
        site = (math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180))
    return site, tuple(pts)


def route_peer(site: tuple[float, float], pts: tuple[tuple[float, float], ...]) -> float:
    """The distance (km) from ``site`` to the route of great-circle arcs ``pts``."""
    p = _unit(*site)
    best = math.inf
    for wa, wb in zip(pts[:-1], pts[1:], strict=True):
        a, b = _unit(*wa), _unit(*wb)
        omega = _angle(a, b)

        def at(t: float, a: np.ndarray = a, b: np.ndarray = b, omega: float = omega) -> float:
            v = (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)
            return _angle(p, v)

        ts = np.linspace(0.0, 1.0, 4001)
        v = (np.outer(np.sin((1 - ts) * omega), a) + np.outer(np.sin(ts * omega), b)) / math.sin(
            omega
        )
        vals = np.arctan2(np.linalg.norm(np.cross(v, p), axis=1), v @ p)
        j = int(np.argmin(vals))
        lo, hi = float(ts[max(j - 1, 0)]), float(ts[min(j + 1, len(ts) - 1)])
        res = minimize_scalar(at, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        best = min(best, float(vals[j]), float(res.fun), at(0.0), at(1.0))
    return best * EARTH_RADIUS_KM


# ------------------------------------------------------------------------------------------
# cruises
# ------------------------------------------------------------------------------------------


def cruise(seed: int, family: str = "small") -> lg.CruiseProblem:
    """A random cruise of ``family``, the same for the same ``seed``: two or three legs of
    short routes in the south-west Pacific, few berths and dive slots, requests of one to
    three berths with up to three dives near or off the routes, deep or shallow.

    ``small``: merits 1 to 4 (ties). ``knapsack``: one leg of four berths; one request of
    the top merit asks for all four, the others for one or two, so that the best
    combination seats several of lower merit."""
    rng = random.Random(seed * 7919 + 2401 + (0 if family == "small" else 17))
    start = date(2028, 2, 25)
    legs = []
    n_legs = 1 if family == "knapsack" else rng.randint(2, 3)
    for j in range(n_legs):
        lat, lon = rng.uniform(-40, -20), rng.uniform(160, 185)
        route = ((lat, lon), (lat - rng.uniform(0, 3), lon + rng.uniform(-3, 3)))
        s = start + timedelta(days=rng.randint(0, 6))
        legs.append(
            lg.Leg(
                f"L{j}",
                s,
                s + timedelta(days=rng.randint(0, 4)),
                ("a", "b"),
                route,
                4 if family == "knapsack" else rng.randint(0, 4),
                rng.randint(0, 4),
                rng.choice([2000.0, 6000.0]),
                rng.randint(1, 2),
            )
        )
    reqs = []
    for i in range(rng.randint(3, 7)):
        dives = []
        for k in range(rng.randint(0, 3)):
            leg = rng.choice(legs)
            (la, lo), _ = leg.route
            off = rng.choice([0.1, 0.3, 2.0])
            dives.append(
                lg.DiveSite(
                    f"s{i}_{k}",
                    la + rng.uniform(-off, off),
                    lo + rng.uniform(-off, off),
                    rng.choice([500.0, 3000.0, 7000.0]),
                )
            )
        if family == "knapsack":
            merit = 10.0 if i == 0 else float(rng.randint(1, 8))
            berths = 4 if i == 0 else rng.randint(1, 2)
        else:
            merit, berths = float(rng.randint(1, 4)), rng.randint(0, 3)
        allowed = tuple(leg.id for leg in legs if rng.random() < 0.7) if rng.random() < 0.3 else ()
        min_dives = rng.randint(0, len(dives)) if dives and rng.random() < 0.3 else None
        reqs.append(lg.CruiseRequest(f"r{i}", merit, berths, tuple(dives), allowed, min_dives))
    return lg.CruiseProblem(tuple(legs), tuple(reqs))


def _feasible(problem: lg.CruiseProblem, site: lg.DiveSite, leg: lg.Leg) -> bool:
    dist, _ = route_distance_km(site.lat, site.lon, leg.route)
    return dist <= problem.max_route_distance_km and site.depth_m <= leg.max_dive_depth_m


def cruise_weights(problem: lg.CruiseProblem, seed: int) -> np.ndarray:
    """The documented weights: merits rescaled to [0.1, 1.1] over the requests some leg can
    take (berths within the leg's, at least ``required_dives`` feasible dives), the others
    0.1 (they have no place to weigh on), times the seeded tie-break."""
    reqs = problem.requests
    placeable = [
        any(
            r.berths <= leg.berths
            and sum(_feasible(problem, s, leg) for s in r.dives) >= r.required_dives
            for leg in problem.legs
            if not r.legs or leg.id in r.legs
        )
        for r in reqs
    ]
    keep = [i for i, ok in enumerate(placeable) if ok]
    w = np.full(len(reqs), 0.1)
    if keep:
        m = np.array([reqs[i].merit for i in keep])
        base = (m - m.min()) / (m.max() - m.min()) if m.max() > m.min() else np.ones(len(keep))
        # the seeded tie-break of ``opencall.optim.ties``: at most 1e-7 of a weight
        rank = tie_ranks([reqs[i].id for i in keep], seed)
        w[keep] = (base + 0.1) * (1.0 + 1e-7 * (len(keep) - rank) / len(keep))
    return w


def cruise_peer(problem: lg.CruiseProblem, seed: int) -> float:
    """The optimum of the objective ``solve_cruise``'s docstring states, sum over requests of
    ``w_r * (x_r + dives_done_r / n_dives_r)`` (``w`` the rescaled merits of
    ``_common.weights``), by ``scipy.optimize.milp`` at a zero gap: a request on at most one
    of its legs with its berths, a dive only on its request's leg, within the route
    distance and the leg's depth, at least ``required_dives`` of them, per leg the berths
    and ``min(dive_slots, days * max_dives_per_day)`` dives."""
    reqs = problem.requests
    w = cruise_weights(problem, seed)
    cols: list[tuple] = []
    cost: list[float] = []
    for i, r in enumerate(reqs):
        for leg in problem.legs:
            if r.legs and leg.id not in r.legs:
                continue
            cols.append(("x", i, leg.id))
            cost.append(float(w[i]))
            for k, s in enumerate(r.dives):
                if _feasible(problem, s, leg):
                    cols.append(("z", i, leg.id, k))
                    cost.append(float(w[i]) / len(r.dives))
    if not cols:
        return 0.0
    index = {c: j for j, c in enumerate(cols)}
    rows, lo, hi = [], [], []

    def row(terms: dict[int, float], a: float, b: float) -> None:
        v = np.zeros(len(cols))
        for j, t in terms.items():
            v[j] = t
        rows.append(v)
        lo.append(a)
        hi.append(b)

    for i, r in enumerate(reqs):
        xs = {j: 1.0 for c, j in index.items() if c[0] == "x" and c[1] == i}
        if xs:
            row(xs, -np.inf, 1.0)
        for c, j in index.items():
            if c[0] == "x" and c[1] == i:
                zs = {jj: 1.0 for cc, jj in index.items() if cc[0] == "z" and cc[1:3] == c[1:3]}
                for jj in zs:
                    row({jj: 1.0, j: -1.0}, -np.inf, 0.0)
                row({**zs, j: -float(r.required_dives)}, 0.0, np.inf)
    for leg in problem.legs:
        b = {
            j: float(reqs[c[1]].berths) for c, j in index.items() if c[0] == "x" and c[2] == leg.id
        }
        row(b, -np.inf, float(leg.berths))
        d = {j: 1.0 for c, j in index.items() if c[0] == "z" and c[2] == leg.id}
        row(d, -np.inf, float(min(leg.dive_slots, leg.days * leg.max_dives_per_day)))
    res = milp(
        -np.asarray(cost),
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=np.ones(len(cols)),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0},
    )
    assert res.status == 0, res.message
    return float(-res.fun)


def cruise_value(problem: lg.CruiseProblem, res: lg.CruiseResult, seed: int) -> float:
    """The documented objective of the plan ``res``."""
    reqs = problem.requests
    w = cruise_weights(problem, seed)
    out = 0.0
    for i, r in enumerate(reqs):
        if res.leg_of[r.id] is not None:
            done = sum(1 for d in res.dives if d.request_id == r.id)
            out += float(w[i]) * (1.0 + (done / len(r.dives) if r.dives else 0.0))
    return out
