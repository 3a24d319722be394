"""Cruise: berths on legs and submersible dives on legs and days (``solve_cruise``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from opencall.optim import limits
from opencall.optim.allocation import Explanation
from opencall.optim.logistics._common import (
    AWARDED,
    AWARDED_PARTIALLY,
    Row,
    at_most,
    explained,
    freeze,
    mip_figures,
    seeded_ties,
    solve_rounded,
    solver_gap,
    weights,
)
from opencall.optim.logistics.geometry import antipodal, route_distance_km
from opencall.optim.messages import M_, message
from opencall.optim.ties import tie_ranks

SCHEDULED = "scheduled"
SITE_OFF_ROUTE = "site_off_route"
TOO_DEEP = "too_deep"
NO_BERTH = "no_berth"
DIVE_SLOTS_EXHAUSTED = "dive_slots_exhausted"
ON_OTHER_LEG = "feasible_only_on_another_leg"


def dive_number(dive_index: int) -> int:
    """The number people read for a request's dive at ``dive_index`` (its position in
    ``CruiseRequest.dives``, from 0): people count from 1, so the first dive is dive 1.

    The one place the rule lives: every sentence that numbers a dive (the explanations,
    which become the CSV, the API and every language's pages, and the broken-rule list of
    ``check``) goes through it; ``DiveAssignment.dive_index`` stays the 0-based position."""
    return dive_index + 1


@dataclass(frozen=True)
class Leg:
    """A cruise leg; ``route`` is a polyline of (lat, lon) waypoints in degrees. Berths and
    dive slots are whole numbers from 0 to ``MAX_UNITS`` (a billion), as a session's seats."""

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
        # between antipodal points no one great circle is the arc (``route_distance_km``
        # then measured to its end points alone: a site on the meridian of a pole-to-pole
        # leg lay "10008 km" from it)
        for a, b in zip(self.route, self.route[1:], strict=False):
            if antipodal(a, b):
                raise ValueError(
                    f"leg {self.id!r}: waypoints {a} and {b} are antipodal, so the arc "
                    f"between them is not defined; add a waypoint between them"
                )
        counts = (self.berths, self.dive_slots, self.max_dives_per_day)
        if not all(isinstance(n, numbers.Integral) for n in counts):
            raise ValueError(
                f"leg {self.id!r}: berths, dive slots and dives per day must be whole numbers"
            )
        if self.berths < 0 or self.dive_slots < 0 or self.max_dives_per_day < 1:
            raise ValueError(f"leg {self.id!r}: berths/dive slots >= 0, dives per day >= 1")
        # HiGHS refused a model with a coefficient of 1e15 ("RuntimeError: HiGHS rejected the
        # model"): counts above a billion are refused here, as seats and packages are
        at_most("leg", self.id, "berths", int(self.berths))
        at_most("leg", self.id, "dive_slots", int(self.dive_slots))
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
        if not isinstance(self.berths, numbers.Integral) or not (
            self.min_dives is None or isinstance(self.min_dives, numbers.Integral)
        ):
            raise ValueError(
                f"cruise request {self.id!r}: berths and min_dives must be whole numbers"
            )
        if self.berths < 0:
            raise ValueError(f"cruise request {self.id!r}: berths must be >= 0")
        at_most("cruise request", self.id, "berths", int(self.berths))
        if not math.isfinite(self.merit):
            raise ValueError(f"cruise request {self.id!r}: merit must be finite")
        if self.min_dives is not None and not (0 <= self.min_dives <= len(self.dives)):
            raise ValueError(f"cruise request {self.id!r}: min_dives must be in [0, #dives]")
        for d in self.dives:
            # a NaN depth passed every comparison: the dive was scheduled on any leg
            wrong = [
                what
                for what, bad in (
                    ("latitude must lie in [-90, 90]", not -90.0 <= d.lat <= 90.0),
                    ("longitude must be a finite number", not math.isfinite(d.lon)),
                    ("depth must be a finite number >= 0", not (0.0 <= d.depth_m < math.inf)),
                )
                if bad
            ]
            if wrong:
                raise ValueError(
                    f"cruise request {self.id!r}: dive site {d.site_id!r}: {'; '.join(wrong)}"
                )

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
        freeze(self, ("legs", "leg ids"), ("requests", "cruise request ids"))
        ids = [leg.id for leg in self.legs]
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
        """Every broken rule (berths or dive slots overdrawn, a dive off its leg or its
        dates, a request without an explanation); empty when the plan is valid."""
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
                errors.append(f"dive {dive_number(d.dive_index)} of {d.request_id} scheduled twice")
            seen.add((d.request_id, d.dive_index))
            if self.leg_of.get(d.request_id) != d.leg_id:
                errors.append(f"dive of {d.request_id} on a leg the request is not on")
                continue
            leg = legs[d.leg_id]
            site = req.dives[d.dive_index]
            if not _dive_ok(site, leg, problem.max_route_distance_km)[0]:
                errors.append(
                    f"dive {dive_number(d.dive_index)} of {d.request_id} infeasible on {leg.id}"
                )
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


def _whole(x: float) -> str:
    """A distance or depth as a person reads it: whole units, as ``f"{x:.0f}"`` writes it."""
    return f"{x:.0f}"


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
    for many dives does not crowd out several asking for few. The weight is the merit
    rescaled to [0.1, 1.1] over the requests some leg can take (their berths fit it, enough
    of their dives are feasible on it), so that one that fits no leg changes no other's
    place. Days are assigned after the
    solve: the dives on a leg are ordered by the position of their site along the route and
    spread over the leg's days in that order (at most ``max_dives_per_day`` a day).

    Parameters
    ----------
    problem : CruiseProblem
        The legs (berths, dive slots, route, depth limit) and the awarded requests.
    seed : int, optional
        Seeds the tie-break between requests of equal merit and the solver.
    time_limit_s : float, optional
        The MIP solver's time limit in seconds.

    Returns
    -------
    CruiseResult
        The leg of each request (None when not placed), the dives with their days, an
        explanation per request (``code``, English ``detail`` and its translatable
        ``message``) and a reason per dive.

    Raises
    ------
    RuntimeError
        When the solver reports the model infeasible or fails.
    """
    seed, time_limit_s = limits.solver_run(seed, time_limit_s)
    result = _solve_cruise(_canonical(problem, seed), seed, time_limit_s)
    # the requests in the order they were given
    given = [r.id for r in problem.requests]
    return replace(
        result,
        leg_of={rid: result.leg_of[rid] for rid in given},
        explanations={rid: result.explanations[rid] for rid in given},
        dive_reasons={rid: result.dive_reasons[rid] for rid in given if rid in result.dive_reasons},
    )


def _canonical(problem: CruiseProblem, seed: int) -> CruiseProblem:
    """``problem`` with its legs by date and id and its requests in the seeded order of
    their ids (``opencall.optim.ties``): HiGHS and the tie repair read the columns in the
    requests' order, so that the lists given in another order placed other requests or
    dives with the same seed (9 of 80 small random cruises)."""
    ranks = tie_ranks([r.id for r in problem.requests], seed)
    return replace(
        problem,
        legs=tuple(sorted(problem.legs, key=lambda leg: (leg.start, leg.end, leg.id))),
        requests=tuple(problem.requests[i] for i in np.argsort(ranks, kind="stable")),
    )


def _solve_cruise(problem: CruiseProblem, seed: int, time_limit_s: float) -> CruiseResult:
    """:func:`solve_cruise` on a problem in canonical order."""
    reqs = problem.requests
    geo: dict[tuple[int, int, str], tuple[bool, str, float, float]] = {}
    for i, r in enumerate(reqs):
        for k, site in enumerate(r.dives):
            for leg in problem.allowed_legs(r):
                geo[(i, k, leg.id)] = _dive_ok(site, leg, problem.max_route_distance_km)
    # the legs each request may sail (its berths fit, enough of its dives feasible there)
    open_legs: list[list[tuple[Leg, list[int]]]] = []
    for i, r in enumerate(reqs):
        sailable: list[tuple[Leg, list[int]]] = []
        for leg in problem.allowed_legs(r):
            ok = [k for k in range(len(r.dives)) if geo[(i, k, leg.id)][0]]
            if r.berths <= leg.berths and len(ok) >= r.required_dives:
                sailable.append((leg, ok))
        open_legs.append(sailable)
    w = weights([r.merit for r in reqs], [r.id for r in reqs], seed, [bool(o) for o in open_legs])
    x_col: dict[tuple[int, str], int] = {}
    z_col: dict[tuple[int, int, str], int] = {}
    c: list[float] = []
    for i, r in enumerate(reqs):
        for leg, ok in open_legs[i]:
            x_col[(i, leg.id)] = len(c)
            c.append(float(w[i]))
            for k in ok:
                if leg.dive_capacity > 0:
                    z_col[(i, k, leg.id)] = len(c)
                    c.append(float(w[i]) / max(len(r.dives), 1))
    # each request's columns, each placement's dives and each leg's, gathered once (a scan
    # of every column per request or placement was quadratic in the requests)
    cols_of: list[list[int]] = [[] for _ in reqs]
    berth_terms: dict[str, dict[int, float]] = {leg.id: {} for leg in problem.legs}
    for (i, lid), col in x_col.items():
        cols_of[i].append(col)
        berth_terms[lid][col] = float(reqs[i].berths)
    dives_of: dict[tuple[int, str], dict[int, float]] = {}
    dive_terms: dict[str, dict[int, float]] = {leg.id: {} for leg in problem.legs}
    for (i, _k, lid), col in z_col.items():
        dives_of.setdefault((i, lid), {})[col] = 1.0
        dive_terms[lid][col] = 1.0
    rows: list[Row] = []
    for cols in cols_of:
        if len(cols) > 1:
            rows.append((dict.fromkeys(cols, 1.0), -math.inf, 1.0))
    for (i, _k, lid), col in z_col.items():
        rows.append(({col: 1.0, x_col[(i, lid)]: -1.0}, -math.inf, 0.0))
    for (i, lid), col in x_col.items():
        need = reqs[i].required_dives
        if need > 0:
            terms = dict(dives_of.get((i, lid), {}))
            terms[col] = -float(need)
            rows.append((terms, 0.0, math.inf))
    for leg in problem.legs:
        b = berth_terms[leg.id]
        if b:
            rows.append((b, -math.inf, float(leg.berths)))
        d = dive_terms[leg.id]
        if d:
            rows.append((d, -math.inf, float(leg.dive_capacity)))
    n = len(c)
    sol, x = solve_rounded(
        c,
        rows,
        np.ones(n),
        np.ones(n, dtype=bool),
        seed=seed,
        time_limit_s=time_limit_s,
        what="cruise",
    )
    # requests of equal merit and the same shape take their places in the seeded order
    tie_cols: list[list[int]] = []
    for i, r in enumerate(reqs):
        mine: list[int] = []
        for leg in problem.allowed_legs(r):
            if (i, leg.id) in x_col:
                mine.append(x_col[(i, leg.id)])
                mine += [
                    z_col[(i, k, leg.id)] for k in range(len(r.dives)) if (i, k, leg.id) in z_col
                ]
        tie_cols.append(mine)
    keys = [
        (
            r.merit,
            r.berths,
            r.dives,
            tuple(leg.id for leg in problem.allowed_legs(r)),
            r.required_dives,
        )
        for r in reqs
    ]
    sol, x = seeded_ties(sol, x, c, w, keys, tie_cols)
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
        **mip_figures(sol),
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
    # the lowest merit aboard each leg: berths "taken by higher-valued requests" only when
    # every request aboard ranks above the one left out
    lowest_aboard = dict.fromkeys(legs, math.inf)
    for r in reqs:
        lid = leg_of[r.id]
        if lid is not None:
            berths_used[lid] += r.berths
            lowest_aboard[lid] = min(lowest_aboard[lid], r.merit)
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
                explanations[r.id] = explained(
                    AWARDED, M_("berths on leg %(leg)s, all dives", leg=lid), (lid,)
                )
            else:
                missing = [
                    M_(
                        "dive %(k)s at %(site)s: %(why)s",
                        k=dive_number(k),
                        site=r.dives[k].site_id,
                        why=message(why),  # the reason's code, as a message id of its own
                    )
                    for k, why in enumerate(per_dive)
                    if why != SCHEDULED
                ]
                explanations[r.id] = explained(
                    AWARDED_PARTIALLY,
                    M_(
                        "berths on leg %(leg)s, %(done)s of %(n)s dives; %(missing)s",
                        leg=lid,
                        done=n_done,
                        n=len(r.dives),
                        missing=missing,
                    ),
                    (lid,),
                )
            reasons[r.id] = tuple(per_dive)
            continue
        explanations[r.id], request_reason = _explain_unplaced(
            r, i, allowed, per_dive, geo, problem, berths_used, dives_used, lowest_aboard
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
    lowest_aboard: Mapping[str, float],
) -> tuple[Explanation, str]:
    if not allowed:
        return explained(NO_BERTH, M_("no leg is open to this request")), NO_BERTH
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
                    M_(
                        "site %(site)s lies %(km)s km from the nearest route (limit %(limit)s km)",
                        site=site.site_id,
                        km=_whole(near),
                        limit=_whole(problem.max_route_distance_km),
                    )
                )
            elif why == TOO_DEEP:
                deepest = max(
                    leg.max_dive_depth_m
                    for leg in allowed
                    if geo[(i, k, leg.id)][1] != SITE_OFF_ROUTE
                )
                parts.append(
                    M_(
                        "site %(site)s at %(depth)s m is deeper than the %(limit)s m limit",
                        site=site.site_id,
                        depth=_whole(site.depth_m),
                        limit=_whole(deepest),
                    )
                )
        code = SITE_OFF_ROUTE if SITE_OFF_ROUTE in per_dive else TOO_DEEP
        ex = explained(
            code,
            M_(
                "fewer than %(n)s feasible dive(s) on any leg: %(parts)s",
                n=r.required_dives,
                parts=parts,
            ),
        )
        return ex, code
    fits = [leg for leg in candidates if r.berths <= leg.berths]
    if not fits:
        biggest = max(leg.berths for leg in candidates)
        return (
            explained(
                NO_BERTH,
                M_(
                    "needs %(n)s berths; the largest leg has %(biggest)s",
                    n=r.berths,
                    biggest=biggest,
                ),
            ),
            NO_BERTH,
        )
    no_berth = [leg.id for leg in fits if leg.berths - berths_used[leg.id] < r.berths]
    no_dives = [
        leg.id
        for leg in fits
        if leg.id not in no_berth and leg.dive_capacity - dives_used[leg.id] < r.required_dives
    ]
    if no_berth and not no_dives and len(no_berth) == len(fits):
        legs = ", ".join(no_berth)
        return (
            explained(
                NO_BERTH,
                M_("berths on leg(s) %(legs)s taken by higher-valued requests", legs=legs)
                if all(lowest_aboard[lid] > r.merit for lid in no_berth)
                # two requests for half a leg each, of merit 8, worth more together than
                # one of merit 10 for all of it: that one was not outranked
                else M_(
                    "berths on leg(s) %(legs)s taken by the best combination of requests, "
                    "including requests of equal or lower merit",
                    legs=legs,
                ),
                tuple(no_berth),
            ),
            NO_BERTH,
        )
    if no_dives:
        return (
            explained(
                DIVE_SLOTS_EXHAUSTED,
                M_(
                    "dive slots on leg(s) %(legs)s exhausted; berths full on %(full)s",
                    legs=", ".join(no_dives),
                    full=", ".join(no_berth),
                )
                if no_berth
                else M_("dive slots on leg(s) %(legs)s exhausted", legs=", ".join(no_dives)),
                tuple(no_dives + no_berth),
            ),
            DIVE_SLOTS_EXHAUSTED,
        )
    gap = solver_gap()
    return gap, gap.code
