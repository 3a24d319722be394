"""Scheduling for the facilities that are not telescopes.

* Cruise: berths on legs and submersible dives on legs and days (``solve_cruise``).
* Courses: seats in training sessions (``solve_courses``) and demonstration packages per
  season (``solve_packages``).
* Samples: shipments of lunar-sample mass per sample type from inventory (``plan_shipments``).

Each problem is a small integer program solved with HiGHS through
``opencall.optim.allocation.solve_mip``; each result carries a per-request explanation and a
``check(problem)`` feasibility checker. Merit is oriented higher-is-better and rescaled to
``[0.1, 1.1]`` over the requests (as in allocation), and a seeded permutation adds a tiny
relative perturbation (<= 1e-7) that breaks ties deterministically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    AllocationResult,
    Explanation,
    FloatArray,
    Pool,
    Request,
    rows_to_csr,
    solve_allocation,
    solve_mip,
)

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius
_TIE_EPS = 1e-7
_MERIT_FLOOR = 0.1

Row = tuple[dict[int, float], float, float]


def _weights(merits: Sequence[float], seed: int) -> FloatArray:
    """Positive objective weights: merit rescaled to [0.1, 1.1] plus a seeded tie-break."""
    n = len(merits)
    if n == 0:
        return np.zeros(0)
    s = np.asarray(merits, dtype=np.float64)
    lo, hi = float(s.min()), float(s.max())
    base = (s - lo) / (hi - lo) if hi > lo else np.ones(n)
    perm = np.random.default_rng(seed).permutation(n)
    tie = np.empty(n)
    tie[perm] = np.arange(n, 0, -1) / n
    return np.asarray((base + _MERIT_FLOOR) * (1.0 + _TIE_EPS * tie), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Geometry (hand-written: the allowed libraries offer no point-to-great-circle-arc distance;
# astropy only gives point-to-point separations)
# --------------------------------------------------------------------------------------------


def _unit(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> FloatArray:
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _angle(u: FloatArray, v: FloatArray) -> FloatArray:
    # atan2 of |u x v| and u.v: accurate for small and large angles alike
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    return np.asarray(np.arctan2(cross, np.sum(u * v, axis=-1)), dtype=np.float64)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius."""
    return float(_angle(_unit(lat1, lon1), _unit(lat2, lon2)) * EARTH_RADIUS_KM)


def route_distance_km(
    lat: float, lon: float, route: Sequence[tuple[float, float]]
) -> tuple[float, float]:
    """Distance (km) from a point to a route polyline of (lat, lon) waypoints joined by
    great-circle arcs, and the position (km from the first waypoint) of the nearest point."""
    p = _unit(lat, lon)
    pts = _unit([w[0] for w in route], [w[1] for w in route])
    if len(route) == 1:
        return float(_angle(p, pts[0]) * EARTH_RADIUS_KM), 0.0
    best, best_pos, along = math.inf, 0.0, 0.0
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        seg = float(_angle(a, b))
        d_a, d_b = float(_angle(p, a)), float(_angle(p, b))
        cand, pos = (d_a, 0.0) if d_a <= d_b else (d_b, seg)
        normal = np.cross(a, b)
        norm = float(np.linalg.norm(normal))
        if norm > 1e-12:
            normal = normal / norm
            foot = p - float(np.dot(p, normal)) * normal
            foot_norm = float(np.linalg.norm(foot))
            if foot_norm > 1e-12:
                foot = foot / foot_norm
                t = float(_angle(a, foot))
                if t <= seg and float(_angle(foot, b)) <= seg + 1e-12:
                    cross_track = abs(math.asin(max(-1.0, min(1.0, float(np.dot(p, normal))))))
                    if cross_track < cand:
                        cand, pos = cross_track, t
        if cand < best:
            best, best_pos = cand, along + pos
        along += seg
    return best * EARTH_RADIUS_KM, best_pos * EARTH_RADIUS_KM


# --------------------------------------------------------------------------------------------
# Cruise: berths and dives
# --------------------------------------------------------------------------------------------

SCHEDULED = "scheduled"
SITE_OFF_ROUTE = "site_off_route"
TOO_DEEP = "too_deep"
NO_BERTH = "no_berth"
DIVE_SLOTS_EXHAUSTED = "dive_slots_exhausted"
ON_OTHER_LEG = "feasible_only_on_another_leg"
NOT_ASSIGNED_SOLVER_GAP = "not_assigned_solver_gap"
AWARDED = "awarded"
AWARDED_PARTIALLY = "awarded_partially"


@dataclass(frozen=True)
class Leg:
    """A cruise leg; ``route`` is a polyline of (lat, lon) waypoints in degrees."""

    id: str
    start: date
    end: date
    ports: tuple[str, ...]
    route: tuple[tuple[float, float], ...]
    berths: int
    dive_slots: int
    max_dive_depth_m: float
    max_dives_per_day: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "route", tuple((float(a), float(b)) for a, b in self.route))
        if self.end < self.start:
            raise ValueError(f"leg {self.id!r}: end {self.end} is before start {self.start}")
        if not self.route:
            raise ValueError(f"leg {self.id!r}: the route needs at least one waypoint")
        for lat, lon in self.route:
            if not (-90.0 <= lat <= 90.0 and math.isfinite(lon)):
                raise ValueError(f"leg {self.id!r}: waypoint ({lat}, {lon}) is not valid")
        if self.berths < 0 or self.dive_slots < 0 or self.max_dives_per_day < 1:
            raise ValueError(f"leg {self.id!r}: berths/dive slots >= 0, dives per day >= 1")
        if not (self.max_dive_depth_m >= 0):
            raise ValueError(f"leg {self.id!r}: max_dive_depth_m must be >= 0")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def dive_capacity(self) -> int:
        return min(self.dive_slots, self.days * self.max_dives_per_day)


@dataclass(frozen=True)
class DiveSite:
    site_id: str
    lat: float
    lon: float
    depth_m: float


@dataclass(frozen=True)
class CruiseRequest:
    """An awarded request for ``berths`` berths on one leg and dives at ``dives``.

    ``legs`` restricts the legs it may sail on (empty: any). The request is placed on a leg
    only if at least ``min_dives`` of its dives can be done there (default: 1 when it asks for
    dives, else 0).
    """

    id: str
    merit: float
    berths: int
    dives: tuple[DiveSite, ...] = ()
    legs: tuple[str, ...] = ()
    min_dives: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dives", tuple(self.dives))
        object.__setattr__(self, "legs", tuple(self.legs))
        if self.berths < 0:
            raise ValueError(f"cruise request {self.id!r}: berths must be >= 0")
        if not math.isfinite(self.merit):
            raise ValueError(f"cruise request {self.id!r}: merit must be finite")
        if self.min_dives is not None and not (0 <= self.min_dives <= len(self.dives)):
            raise ValueError(f"cruise request {self.id!r}: min_dives must be in [0, #dives]")
        for d in self.dives:
            if not (-90.0 <= d.lat <= 90.0) or d.depth_m < 0:
                raise ValueError(f"cruise request {self.id!r}: dive site {d.site_id!r} invalid")

    @property
    def required_dives(self) -> int:
        if self.min_dives is not None:
            return self.min_dives
        return 1 if self.dives else 0


@dataclass(frozen=True)
class CruiseProblem:
    legs: tuple[Leg, ...]
    requests: tuple[CruiseRequest, ...]
    max_route_distance_km: float = 50.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "legs", tuple(self.legs))
        object.__setattr__(self, "requests", tuple(self.requests))
        ids = [leg.id for leg in self.legs]
        if len(set(ids)) != len(ids):
            raise ValueError("leg ids must be unique")
        rids = [r.id for r in self.requests]
        if len(set(rids)) != len(rids):
            raise ValueError("cruise request ids must be unique")
        for r in self.requests:
            for lid in r.legs:
                if lid not in ids:
                    raise ValueError(f"cruise request {r.id!r} names unknown leg {lid!r}")
        if not (self.max_route_distance_km >= 0):
            raise ValueError("max_route_distance_km must be >= 0")

    def allowed_legs(self, r: CruiseRequest) -> tuple[Leg, ...]:
        return tuple(leg for leg in self.legs if not r.legs or leg.id in r.legs)


@dataclass(frozen=True)
class DiveAssignment:
    request_id: str
    dive_index: int
    site_id: str
    leg_id: str
    day: date


@dataclass(frozen=True)
class CruiseResult:
    leg_of: Mapping[str, str | None]
    dives: tuple[DiveAssignment, ...]
    explanations: Mapping[str, Explanation]
    dive_reasons: Mapping[str, tuple[str, ...]]
    objective: float
    bound: float
    mip_gap: float
    status: str
    solve_time_s: float

    def check(self, problem: CruiseProblem) -> list[str]:
        errors: list[str] = []
        legs = {leg.id: leg for leg in problem.legs}
        reqs = {r.id: r for r in problem.requests}
        berths = dict.fromkeys(legs, 0)
        per_leg = dict.fromkeys(legs, 0)
        per_day: dict[tuple[str, date], int] = {}
        for r in problem.requests:
            if r.id not in self.leg_of or r.id not in self.explanations:
                errors.append(f"request {r.id}: missing assignment or explanation")
                continue
            lid = self.leg_of[r.id]
            if lid is not None:
                if lid not in legs or legs[lid] not in problem.allowed_legs(r):
                    errors.append(f"request {r.id}: placed on a leg it may not sail")
                    continue
                berths[lid] += r.berths
        seen: set[tuple[str, int]] = set()
        for d in self.dives:
            req = reqs.get(d.request_id)
            if req is None or not (0 <= d.dive_index < len(req.dives)):
                errors.append(f"dive {d}: unknown request or dive")
                continue
            if (d.request_id, d.dive_index) in seen:
                errors.append(f"dive {d.dive_index} of {d.request_id} scheduled twice")
            seen.add((d.request_id, d.dive_index))
            if self.leg_of.get(d.request_id) != d.leg_id:
                errors.append(f"dive of {d.request_id} on a leg the request is not on")
                continue
            leg = legs[d.leg_id]
            site = req.dives[d.dive_index]
            if not _dive_ok(site, leg, problem.max_route_distance_km)[0]:
                errors.append(f"dive {d.dive_index} of {d.request_id} infeasible on {leg.id}")
            if not (leg.start <= d.day <= leg.end):
                errors.append(f"dive of {d.request_id} on {d.day} outside leg {leg.id}")
            per_leg[leg.id] += 1
            per_day[(leg.id, d.day)] = per_day.get((leg.id, d.day), 0) + 1
        for lid, leg in legs.items():
            if berths[lid] > leg.berths:
                errors.append(f"leg {lid}: {berths[lid]} berths > {leg.berths}")
            if per_leg[lid] > leg.dive_slots:
                errors.append(f"leg {lid}: {per_leg[lid]} dives > {leg.dive_slots} slots")
        for (lid, day), n in per_day.items():
            if n > legs[lid].max_dives_per_day:
                errors.append(f"leg {lid}: {n} dives on {day}")
        for r in problem.requests:
            n = sum(1 for d in self.dives if d.request_id == r.id)
            if self.leg_of.get(r.id) is not None and n < r.required_dives:
                errors.append(f"request {r.id}: {n} dives < required {r.required_dives}")
        return errors


def _dive_ok(site: DiveSite, leg: Leg, max_km: float) -> tuple[bool, str, float, float]:
    """(feasible, reason, distance to route km, position along route km)."""
    dist, pos = route_distance_km(site.lat, site.lon, leg.route)
    if dist > max_km:
        return False, SITE_OFF_ROUTE, dist, pos
    if site.depth_m > leg.max_dive_depth_m:
        return False, TOO_DEEP, dist, pos
    return True, SCHEDULED, dist, pos


def solve_cruise(
    problem: CruiseProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> CruiseResult:
    """Place requests on legs (berths) and their dives on legs and days.

    Objective: sum over requests of ``w_r * (x_r + dives_done_r / n_dives_r)``: a placement
    is worth the request's weight and its dives together another weight, so a request asking
    for many dives does not crowd out several asking for few. Days are assigned after the
    solve: the dives on a leg are ordered by the position of their site along the route and
    spread over the leg's days in that order (at most ``max_dives_per_day`` a day).
    """
    reqs = problem.requests
    w = _weights([r.merit for r in reqs], seed)
    geo: dict[tuple[int, int, str], tuple[bool, str, float, float]] = {}
    for i, r in enumerate(reqs):
        for k, site in enumerate(r.dives):
            for leg in problem.allowed_legs(r):
                geo[(i, k, leg.id)] = _dive_ok(site, leg, problem.max_route_distance_km)
    x_col: dict[tuple[int, str], int] = {}
    z_col: dict[tuple[int, int, str], int] = {}
    c: list[float] = []
    for i, r in enumerate(reqs):
        for leg in problem.allowed_legs(r):
            ok = [k for k in range(len(r.dives)) if geo[(i, k, leg.id)][0]]
            if r.berths > leg.berths or len(ok) < r.required_dives:
                continue
            x_col[(i, leg.id)] = len(c)
            c.append(float(w[i]))
            for k in ok:
                if leg.dive_capacity > 0:
                    z_col[(i, k, leg.id)] = len(c)
                    c.append(float(w[i]) / max(len(r.dives), 1))
    rows: list[Row] = []
    for i, _r in enumerate(reqs):
        cols = [col for (ii, _), col in x_col.items() if ii == i]
        if len(cols) > 1:
            rows.append((dict.fromkeys(cols, 1.0), -math.inf, 1.0))
    for (i, _k, lid), col in z_col.items():
        rows.append(({col: 1.0, x_col[(i, lid)]: -1.0}, -math.inf, 0.0))
    for (i, lid), col in x_col.items():
        need = reqs[i].required_dives
        if need > 0:
            terms = {z_col[(ii, k, ll)]: 1.0 for (ii, k, ll) in z_col if ii == i and ll == lid}
            terms[col] = -float(need)
            rows.append((terms, 0.0, math.inf))
    for leg in problem.legs:
        b = {col: float(reqs[i].berths) for (i, lid), col in x_col.items() if lid == leg.id}
        if b:
            rows.append((b, -math.inf, float(leg.berths)))
        d = {col: 1.0 for (_, _, lid), col in z_col.items() if lid == leg.id}
        if d:
            rows.append((d, -math.inf, float(leg.dive_capacity)))
    n = len(c)
    cost = np.asarray(c, dtype=np.float64)
    a, lo, hi = rows_to_csr(rows, n)
    sol = solve_mip(
        cost,
        a,
        lo,
        hi,
        np.zeros(n),
        np.ones(n),
        np.ones(n, dtype=bool),
        seed=seed,
        time_limit_s=time_limit_s,
        mip_rel_gap=1e-6,
    )
    if sol.status in ("infeasible", "error"):
        raise RuntimeError(f"cruise MIP failed: {sol.status}")
    x = np.round(sol.x)
    leg_of: dict[str, str | None] = {r.id: None for r in reqs}
    for (i, lid), col in x_col.items():
        if x[col] > 0.5:
            leg_of[reqs[i].id] = lid
    chosen = [(i, k, lid) for (i, k, lid), col in z_col.items() if x[col] > 0.5]
    dives: list[DiveAssignment] = []
    for leg in problem.legs:
        on_leg = sorted(
            (item for item in chosen if item[2] == leg.id),
            key=lambda t: (geo[t][3], reqs[t[0]].id, t[1]),
        )
        m = len(on_leg)
        for j, (i, k, lid) in enumerate(on_leg):
            day = leg.start + timedelta(days=(j * leg.days) // max(m, 1))
            dives.append(DiveAssignment(reqs[i].id, k, reqs[i].dives[k].site_id, lid, day))
    explanations, dive_reasons = _explain_cruise(problem, leg_of, dives, geo)
    return CruiseResult(
        leg_of=dict(leg_of),
        dives=tuple(dives),
        explanations=dict(explanations),
        dive_reasons=dict(dive_reasons),
        objective=sol.objective,
        bound=sol.bound,
        mip_gap=sol.gap,
        status=sol.status,
        solve_time_s=sol.time_s,
    )


def _explain_cruise(
    problem: CruiseProblem,
    leg_of: Mapping[str, str | None],
    dives: Sequence[DiveAssignment],
    geo: Mapping[tuple[int, int, str], tuple[bool, str, float, float]],
) -> tuple[dict[str, Explanation], dict[str, tuple[str, ...]]]:
    reqs = problem.requests
    legs = {leg.id: leg for leg in problem.legs}
    berths_used = dict.fromkeys(legs, 0)
    dives_used = dict.fromkeys(legs, 0)
    for r in reqs:
        lid = leg_of[r.id]
        if lid is not None:
            berths_used[lid] += r.berths
    for d in dives:
        dives_used[d.leg_id] += 1
    done = {(d.request_id, d.dive_index) for d in dives}
    explanations: dict[str, Explanation] = {}
    reasons: dict[str, tuple[str, ...]] = {}
    for i, r in enumerate(reqs):
        allowed = problem.allowed_legs(r)
        lid = leg_of[r.id]
        per_dive: list[str] = []
        for k in range(len(r.dives)):
            if (r.id, k) in done:
                per_dive.append(SCHEDULED)
                continue
            verdicts = [geo[(i, k, leg.id)] for leg in allowed]
            if lid is not None and geo[(i, k, lid)][0]:
                per_dive.append(DIVE_SLOTS_EXHAUSTED)
            elif lid is not None and any(v[0] for v in verdicts):
                per_dive.append(ON_OTHER_LEG)
            elif lid is not None:
                per_dive.append(geo[(i, k, lid)][1])
            elif any(v[0] for v in verdicts):
                per_dive.append(NO_BERTH)  # refined below with the request-level reason
            elif all(v[1] == SITE_OFF_ROUTE for v in verdicts):
                per_dive.append(SITE_OFF_ROUTE)
            else:
                per_dive.append(TOO_DEEP)
        if lid is not None:
            n_done = per_dive.count(SCHEDULED)
            if n_done == len(r.dives):
                explanations[r.id] = Explanation(AWARDED, f"berths on leg {lid}, all dives", (lid,))
            else:
                missing = [
                    f"dive {k} at {r.dives[k].site_id}: {why}"
                    for k, why in enumerate(per_dive)
                    if why != SCHEDULED
                ]
                explanations[r.id] = Explanation(
                    AWARDED_PARTIALLY,
                    f"berths on leg {lid}, {n_done} of {len(r.dives)} dives; " + "; ".join(missing),
                    (lid,),
                )
            reasons[r.id] = tuple(per_dive)
            continue
        explanations[r.id], request_reason = _explain_unplaced(
            r, i, allowed, per_dive, geo, problem, berths_used, dives_used
        )
        reasons[r.id] = tuple(request_reason if why == NO_BERTH else why for why in per_dive)
    return explanations, reasons


def _explain_unplaced(
    r: CruiseRequest,
    i: int,
    allowed: Sequence[Leg],
    per_dive: Sequence[str],
    geo: Mapping[tuple[int, int, str], tuple[bool, str, float, float]],
    problem: CruiseProblem,
    berths_used: Mapping[str, int],
    dives_used: Mapping[str, int],
) -> tuple[Explanation, str]:
    if not allowed:
        return Explanation(NO_BERTH, "no leg is open to this request"), NO_BERTH
    candidates = [
        leg
        for leg in allowed
        if sum(geo[(i, k, leg.id)][0] for k in range(len(r.dives))) >= r.required_dives
    ]
    if not candidates:
        parts = []
        for k, why in enumerate(per_dive):
            site = r.dives[k]
            if why == SITE_OFF_ROUTE:
                near = min(geo[(i, k, leg.id)][2] for leg in allowed)
                parts.append(
                    f"site {site.site_id} lies {near:.0f} km from the nearest route "
                    f"(limit {problem.max_route_distance_km:.0f} km)"
                )
            elif why == TOO_DEEP:
                deepest = max(
                    leg.max_dive_depth_m
                    for leg in allowed
                    if geo[(i, k, leg.id)][1] != SITE_OFF_ROUTE
                )
                parts.append(
                    f"site {site.site_id} at {site.depth_m:.0f} m is deeper than the "
                    f"{deepest:.0f} m limit"
                )
        code = SITE_OFF_ROUTE if SITE_OFF_ROUTE in per_dive else TOO_DEEP
        detail = f"fewer than {r.required_dives} feasible dive(s) on any leg: " + "; ".join(parts)
        return Explanation(code, detail), code
    fits = [leg for leg in candidates if r.berths <= leg.berths]
    if not fits:
        biggest = max(leg.berths for leg in candidates)
        return (
            Explanation(NO_BERTH, f"needs {r.berths} berths; the largest leg has {biggest}"),
            NO_BERTH,
        )
    no_berth = [leg.id for leg in fits if leg.berths - berths_used[leg.id] < r.berths]
    no_dives = [
        leg.id
        for leg in fits
        if leg.id not in no_berth and leg.dive_capacity - dives_used[leg.id] < r.required_dives
    ]
    if no_berth and not no_dives and len(no_berth) == len(fits):
        return (
            Explanation(
                NO_BERTH,
                f"berths on leg(s) {', '.join(no_berth)} taken by higher-valued requests",
                tuple(no_berth),
            ),
            NO_BERTH,
        )
    if no_dives:
        return (
            Explanation(
                DIVE_SLOTS_EXHAUSTED,
                f"dive slots on leg(s) {', '.join(no_dives)} exhausted"
                + (f"; berths full on {', '.join(no_berth)}" if no_berth else ""),
                tuple(no_dives + no_berth),
            ),
            DIVE_SLOTS_EXHAUSTED,
        )
    return (
        Explanation(NOT_ASSIGNED_SOLVER_GAP, "room remained; the solver stopped within its gap"),
        NOT_ASSIGNED_SOLVER_GAP,
    )


# --------------------------------------------------------------------------------------------
# Courses (seats per session) and demonstration packages (per season)
# --------------------------------------------------------------------------------------------

NO_SEATS = "no_seats"
NO_PACKAGES = "no_packages"
NOT_FEASIBLE = "not_feasible"


@dataclass(frozen=True)
class CourseSession:
    id: str
    start: date
    end: date
    place: str
    seats: int
    technology: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"session {self.id!r}: end before start")
        if self.seats < 0:
            raise ValueError(f"session {self.id!r}: seats must be >= 0")


@dataclass(frozen=True)
class SeatRequest:
    """``count`` seats in one of ``preferred`` sessions (best first); at least ``min_count``
    (default ``count``: all or nothing)."""

    id: str
    merit: float
    count: int
    preferred: tuple[str, ...]
    min_count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "preferred", tuple(self.preferred))
        if self.count < 1:
            raise ValueError(f"seat request {self.id!r}: count must be >= 1")
        if self.min_count is not None and not (1 <= self.min_count <= self.count):
            raise ValueError(f"seat request {self.id!r}: min_count must be in [1, count]")
        if not math.isfinite(self.merit):
            raise ValueError(f"seat request {self.id!r}: merit must be finite")


@dataclass(frozen=True)
class CourseProblem:
    sessions: tuple[CourseSession, ...]
    requests: tuple[SeatRequest, ...]
    preference_penalty: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "sessions", tuple(self.sessions))
        object.__setattr__(self, "requests", tuple(self.requests))
        _unique([s.id for s in self.sessions], "session ids")
        _unique([r.id for r in self.requests], "seat request ids")
        if not (0.0 <= self.preference_penalty < 1.0):
            raise ValueError("preference_penalty must lie in [0, 1)")


@dataclass(frozen=True)
class PackageSeason:
    """Demonstration packages of one technology available in one season."""

    id: str
    technology: str
    packages: int

    def __post_init__(self) -> None:
        if self.packages < 0:
            raise ValueError(f"season {self.id!r}: packages must be >= 0")


@dataclass(frozen=True)
class PackageRequest:
    """``count`` packages of ``technology`` for a site, in one of ``seasons`` (best first;
    empty: any season of that technology). ``suitable`` comes from
    ``opencall.optim.suitability.assess``."""

    id: str
    merit: float
    technology: str
    site_id: str
    count: int = 1
    seasons: tuple[str, ...] = ()
    suitable: bool = True
    unsuitable_reason: str = ""
    min_count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "seasons", tuple(self.seasons))
        if self.count < 1:
            raise ValueError(f"package request {self.id!r}: count must be >= 1")
        if self.min_count is not None and not (1 <= self.min_count <= self.count):
            raise ValueError(f"package request {self.id!r}: min_count must be in [1, count]")
        if not math.isfinite(self.merit):
            raise ValueError(f"package request {self.id!r}: merit must be finite")


@dataclass(frozen=True)
class PackageProblem:
    seasons: tuple[PackageSeason, ...]
    requests: tuple[PackageRequest, ...]
    preference_penalty: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "seasons", tuple(self.seasons))
        object.__setattr__(self, "requests", tuple(self.requests))
        _unique([s.id for s in self.seasons], "season ids")
        _unique([r.id for r in self.requests], "package request ids")
        if not (0.0 <= self.preference_penalty < 1.0):
            raise ValueError("preference_penalty must lie in [0, 1)")


def _unique(ids: Sequence[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} must be unique")


@dataclass(frozen=True)
class Placement:
    bin_id: str
    count: int
    preference_rank: int  # 0 = first choice


@dataclass(frozen=True)
class PlacementResult:
    """Seats per session (courses) or packages per season (demonstrations)."""

    placements: Mapping[str, Placement | None]
    explanations: Mapping[str, Explanation]
    objective: float
    bound: float
    mip_gap: float
    status: str
    solve_time_s: float

    def usage(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.placements.values():
            if p is not None:
                out[p.bin_id] = out.get(p.bin_id, 0) + p.count
        return out

    def check(self, problem: CourseProblem | PackageProblem) -> list[str]:
        bins, items = _bins_items(problem)
        cap = dict(bins)
        errors: list[str] = []
        for item in items:
            rid, _, count, min_count, allowed, feasible = item
            if rid not in self.placements or rid not in self.explanations:
                errors.append(f"request {rid}: missing placement or explanation")
                continue
            p = self.placements[rid]
            if p is None:
                continue
            if not feasible:
                errors.append(f"request {rid}: placed although not feasible")
            if p.bin_id not in allowed:
                errors.append(f"request {rid}: placed in {p.bin_id}, not one it asked for")
            if not (min_count <= p.count <= count):
                errors.append(f"request {rid}: {p.count} outside [{min_count}, {count}]")
        for bin_id, used in self.usage().items():
            if bin_id not in cap or used > cap[bin_id]:
                errors.append(f"{bin_id}: {used} placed > capacity {cap.get(bin_id, 0)}")
        return errors


_Item = tuple[str, float, int, int, tuple[str, ...], bool]


def _bins_items(
    problem: CourseProblem | PackageProblem,
) -> tuple[list[tuple[str, int]], list[_Item]]:
    if isinstance(problem, CourseProblem):
        bins = [(s.id, s.seats) for s in problem.sessions]
        known = {s.id for s in problem.sessions}
        items: list[_Item] = [
            (
                r.id,
                r.merit,
                r.count,
                r.count if r.min_count is None else r.min_count,
                tuple(s for s in r.preferred if s in known),
                True,
            )
            for r in problem.requests
        ]
        return bins, items
    bins = [(s.id, s.packages) for s in problem.seasons]
    tech = {s.id: s.technology for s in problem.seasons}
    items = []
    for p in problem.requests:
        wanted = p.seasons or tuple(s.id for s in problem.seasons)
        allowed = tuple(s for s in wanted if tech.get(s) == p.technology)
        min_count = p.count if p.min_count is None else p.min_count
        items.append((p.id, p.merit, p.count, min_count, allowed, p.suitable))
    return bins, items


def _solve_bins(
    problem: CourseProblem | PackageProblem, seed: int, time_limit_s: float
) -> PlacementResult:
    bins, items = _bins_items(problem)
    cap = dict(bins)
    is_course = isinstance(problem, CourseProblem)
    w = _weights([it[1] for it in items], seed)
    penalty = problem.preference_penalty
    x_col: dict[tuple[int, str], int] = {}
    n_col: dict[tuple[int, str], int] = {}
    c: list[float] = []
    integer: list[bool] = []
    upper: list[float] = []
    for i, (_, _, count, min_count, allowed, feasible) in enumerate(items):
        if not feasible:
            continue
        for rank, b in enumerate(allowed):
            if cap[b] < min_count:
                continue
            x_col[(i, b)] = len(c)
            c.append(0.0)
            integer.append(True)
            upper.append(1.0)
            n_col[(i, b)] = len(c)
            c.append(float(w[i]) * (1.0 - penalty * rank / max(len(allowed), 1)) / count)
            integer.append(True)
            upper.append(float(count))
    rows: list[Row] = []
    for i in range(len(items)):
        cols = [col for (ii, _), col in x_col.items() if ii == i]
        if len(cols) > 1:
            rows.append((dict.fromkeys(cols, 1.0), -math.inf, 1.0))
    for (i, b), col in n_col.items():
        rows.append(({col: 1.0, x_col[(i, b)]: -float(items[i][2])}, -math.inf, 0.0))
        rows.append(({col: 1.0, x_col[(i, b)]: -float(items[i][3])}, 0.0, math.inf))
    for b, capacity in bins:
        terms = {col: 1.0 for (_, bb), col in n_col.items() if bb == b}
        if terms:
            rows.append((terms, -math.inf, float(capacity)))
    n = len(c)
    a, lo, hi = rows_to_csr(rows, n)
    sol = solve_mip(
        np.asarray(c, dtype=np.float64),
        a,
        lo,
        hi,
        np.zeros(n),
        np.asarray(upper, dtype=np.float64),
        np.asarray(integer, dtype=bool),
        seed=seed,
        time_limit_s=time_limit_s,
        mip_rel_gap=1e-6,
    )
    if sol.status in ("infeasible", "error"):
        raise RuntimeError(f"placement MIP failed: {sol.status}")
    x = np.round(sol.x)
    placements: dict[str, Placement | None] = {it[0]: None for it in items}
    for (i, b), col in n_col.items():
        if x[x_col[(i, b)]] > 0.5 and x[col] > 0.5:
            placements[items[i][0]] = Placement(b, int(x[col]), items[i][4].index(b))
    used: dict[str, int] = dict.fromkeys(cap, 0)
    for p in placements.values():
        if p is not None:
            used[p.bin_id] += p.count
    unit = "seat" if is_course else "package"
    none_code = NO_SEATS if is_course else NO_PACKAGES
    explanations: dict[str, Explanation] = {}
    for rid, _, count, min_count, allowed, feasible in items:
        p = placements[rid]
        if p is not None:
            where = "first choice" if p.preference_rank == 0 else f"choice {p.preference_rank + 1}"
            code = AWARDED if p.count == count else AWARDED_PARTIALLY
            explanations[rid] = Explanation(
                code, f"{p.count} of {count} {unit}(s) in {p.bin_id} ({where})", (p.bin_id,)
            )
        elif not feasible:
            reason = ""
            if not is_course:
                reason = next(
                    r.unsuitable_reason
                    for r in problem.requests
                    if isinstance(r, PackageRequest) and r.id == rid
                )
            explanations[rid] = Explanation(
                NOT_FEASIBLE, "site not suitable" + (f": {reason}" if reason else "")
            )
        elif not allowed:
            what = "session" if is_course else "season of this technology"
            explanations[rid] = Explanation(NOT_FEASIBLE, f"no {what} matches the request")
        else:
            full = [b for b in allowed if cap[b] - used[b] < min_count]
            if full:
                explanations[rid] = Explanation(
                    none_code,
                    f"fewer than {min_count} {unit}(s) left in " + ", ".join(full),
                    tuple(full),
                )
            else:
                explanations[rid] = Explanation(
                    NOT_ASSIGNED_SOLVER_GAP, "room remained; the solver stopped within its gap"
                )
    return PlacementResult(
        placements=dict(placements),
        explanations=dict(explanations),
        objective=sol.objective,
        bound=sol.bound,
        mip_gap=sol.gap,
        status=sol.status,
        solve_time_s=sol.time_s,
    )


def solve_courses(
    problem: CourseProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> PlacementResult:
    """Seats per session: each request gets at most one of its preferred sessions, between
    ``min_count`` and ``count`` seats, sessions never overfilled. Objective: merit weight x
    share of seats granted, less ``preference_penalty`` (scaled by rank) for a later choice."""
    return _solve_bins(problem, seed, time_limit_s)


def solve_packages(
    problem: PackageProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> PlacementResult:
    """Demonstration packages per season: a request gets packages of its technology in one
    season, only if its site is suitable; seasons never over-committed."""
    return _solve_bins(problem, seed, time_limit_s)


# --------------------------------------------------------------------------------------------
# Samples: shipments from inventory
# --------------------------------------------------------------------------------------------

INVENTORY_EXHAUSTED = "inventory_exhausted"


@dataclass(frozen=True)
class SampleType:
    id: str
    inventory_mg: float
    label: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.inventory_mg) and self.inventory_mg >= 0):
            raise ValueError(f"sample type {self.id!r}: inventory must be finite and >= 0")


@dataclass(frozen=True)
class SampleLoan:
    """An awarded loan: ``masses`` maps sample type to mg; partial shipments down to
    ``min_fraction`` of every mass are allowed when it is below 1."""

    id: str
    merit: float
    recipient: str
    masses: Mapping[str, float]
    min_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "masses", dict({str(k): float(v) for k, v in self.masses.items()}))


@dataclass(frozen=True)
class SampleProblem:
    types: tuple[SampleType, ...]
    loans: tuple[SampleLoan, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(self.types))
        object.__setattr__(self, "loans", tuple(self.loans))
        _unique([t.id for t in self.types], "sample type ids")
        _unique([loan.id for loan in self.loans], "loan ids")
        self.as_allocation()  # validates masses and fractions with the allocation rules

    def as_allocation(self) -> AllocationProblem:
        pools = tuple(Pool(t.id, t.inventory_mg, unit="mg", kind="sample") for t in self.types)
        reqs = tuple(
            Request(
                id=loan.id,
                proposal_id=loan.id,
                pi_id=loan.recipient,
                merit=loan.merit,
                demand=loan.masses,
                min_fraction=loan.min_fraction,
            )
            for loan in self.loans
        )
        partial = any(loan.min_fraction < 1.0 for loan in self.loans)
        policy = AllocationPolicy(
            allow_partial=partial,
            min_fraction=min((loan.min_fraction for loan in self.loans), default=1.0),
        )
        return AllocationProblem(pools, reqs, policy)


@dataclass(frozen=True)
class Shipment:
    loan_id: str
    recipient: str
    fraction: float
    items: tuple[tuple[str, float], ...]  # (sample type, mg)


@dataclass(frozen=True)
class ShipmentPlan:
    shipments: tuple[Shipment, ...]
    remaining_mg: Mapping[str, float]
    explanations: Mapping[str, Explanation]
    status: str
    allocation: AllocationResult

    def check(self, problem: SampleProblem) -> list[str]:
        errors = list(self.allocation.check(problem.as_allocation()))
        inventory = {t.id: t.inventory_mg for t in problem.types}
        shipped = dict.fromkeys(inventory, 0.0)
        loans = {loan.id: loan for loan in problem.loans}
        for s in self.shipments:
            loan = loans.get(s.loan_id)
            if loan is None:
                errors.append(f"shipment for unknown loan {s.loan_id}")
                continue
            for tid, mg in s.items:
                if mg < 0 or mg > loan.masses.get(tid, 0.0) * (1 + 1e-9):
                    errors.append(f"shipment {s.loan_id}: {mg} mg of {tid} exceeds the loan")
                shipped[tid] = shipped.get(tid, 0.0) + mg
        for tid, mg in shipped.items():
            if mg > inventory.get(tid, 0.0) * (1 + 1e-9) + 1e-9:
                errors.append(f"sample type {tid}: {mg:.6g} mg shipped > {inventory[tid]} mg")
        for loan in problem.loans:
            if loan.id not in self.explanations:
                errors.append(f"loan {loan.id}: no explanation")
        return errors


def plan_shipments(
    problem: SampleProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> ShipmentPlan:
    """Turn awarded loans into shipments that never exceed the inventory of any type.

    This is the allocation model with one pool per sample type (capacity = inventory in mg);
    when the inventory cannot cover every loan, loans of lower merit are cut (down to their
    ``min_fraction``) or dropped, and the explanation names the exhausted sample types.
    """
    result = solve_allocation(
        problem.as_allocation(), seed=seed, mip_rel_gap=1e-6, time_limit_s=time_limit_s
    )
    shipments: list[Shipment] = []
    remaining = {t.id: t.inventory_mg for t in problem.types}
    explanations: dict[str, Explanation] = {}
    for loan in problem.loans:
        f = result.fractions[loan.id]
        ex = result.explanations[loan.id]
        if ex.code == "not_awarded_pool_exhausted":
            ex = Explanation(
                INVENTORY_EXHAUSTED, ex.detail.replace("pool(s)", "sample type(s)"), ex.pools
            )
        explanations[loan.id] = ex
        if f <= 0:
            continue
        # solver round-off (a few 1e-8 mg) must never ship more than the inventory holds
        items_list: list[tuple[str, float]] = []
        for tid in sorted(loan.masses):
            mg = min(result.amounts[loan.id][tid], max(remaining[tid], 0.0))
            if mg > 1e-6:
                items_list.append((tid, mg))
                remaining[tid] -= mg
        items = tuple(items_list)
        shipments.append(Shipment(loan.id, loan.recipient, f, items))
    return ShipmentPlan(
        shipments=tuple(shipments),
        remaining_mg=dict({k: max(v, 0.0) for k, v in remaining.items()}),
        explanations=dict(explanations),
        status=result.status,
        allocation=result,
    )
