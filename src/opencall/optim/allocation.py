"""Allocation of capacity pools to ranked requests: an integer program solved with HiGHS.

Every facility kind uses this one model: FAST hours split over LST-range pools, berths and
dives per cruise leg, milligrams per lunar-sample type, seats per course session. A request
asks for a *demand vector* (amount per pool for the full award); the programme chooses, for
each request, an awarded fraction ``f`` that is either 0 or lies in ``[min_fraction, 1]``
(``min_fraction == 1`` means whole awards only).

Model (``y`` binary "awarded", ``f`` continuous fraction; when the effective minimum fraction
is 1 the two are the same binary column)::

    maximise   sum_i w_i * f_i                           (w_i > 0, see "Objective weights")
    subject to sum_i d_ip * f_i <= C_p                    for every pool p
               min_i * y_i <= f_i <= y_i                  partial awards
               sum_{i of PI k} y_i <= max_awards_per_pi   PI cap (count)
               sum_{i of PI k} D_i * f_i <= max_amount    PI cap (amount)
               sum_{i in group g} D_ig * f_i >= R_g       group share (soft, see below)

Objective weights
    Merit comes calibrated (higher is better) or as a grade where lower is better
    (``AllocationProblem.merit_higher_is_better``). It is oriented so that higher is better,
    then rescaled affinely over the candidate requests to ``[merit_floor, 1 + merit_floor]``
    (a positive-slope affine map keeps the ranking; calibrated scores may be negative, and a
    weight must stay positive for an award to be worth making). ``merit_floor`` sets how much
    the weakest candidate is worth next to the strongest. With ``objective="merit_x_amount"``
    the weight is further multiplied by the request's total full-award amount (merit-weighted
    hours), otherwise each request counts once, in proportion to its awarded fraction.

Group share rule (soft)
    A ``GroupShareRule`` asks that requests from proposals in a named group (e.g.
    ``international``) receive at least ``min_share`` of the capacity of the rule's pools. It
    must bind only when merit alone would fall below it, and it can never ask for more than the
    group can actually receive. The solve therefore runs in up to three phases:

    0. merit only, no group rows. If every rule is met, this is the answer and no rule binds.
    1. otherwise, maximise ``sum_g min(amount_g, target_g) / target_g`` over the same feasible
       set (capacities, PI caps, partial-award bounds, eligibility, quality threshold). For one
       rule its optimum is exactly ``R_g = min(target_g, A_g)`` where ``A_g`` is the most the
       eligible, feasible, above-threshold group requests can receive; with several rules the
       phase-1 solution fixes one jointly achievable split.
    2. maximise merit subject to ``amount_g >= R_g`` (warm-started from phase 1, so it is
       always feasible).

    So the constraint actually imposed is ``group share >= min(target, available)``, with
    *available* meaning achievable under all other constraints, not merely requested. Requests
    that are awarded (or awarded more) in phase 2 than in phase 0 because they belong to a
    binding group are explained as ``awarded_by_group_share``.

Nationality-blind calls
    Groups carry ``from_nationality``; a rule declares ``nationality_based``. A policy with
    ``nationality_blind=True`` rejects nationality-based rules at validation (the Global AI
    Governance Initiative's non-discrimination clause, FACTS.md section 5), the problem rejects
    a rule that claims not to be nationality-based over a nationality-derived group, and the
    solver only ever reads the memberships of groups named by a rule, so nationality-derived
    memberships are never read in a blind call.

Ties
    Requests are ranked by oriented merit, ties broken by a permutation drawn from ``seed``
    (``numpy.random.default_rng(seed)``). The same permutation adds a tiny relative
    perturbation (at most ``1e-7``) to the weights so that, between otherwise equal solutions,
    the solver prefers the request earlier in that order. This tie-break is exact whenever the
    solve is proven optimal to better than the perturbation (small instances); on large
    instances stopped at a gap tolerance the choice between near-equal solutions is the
    solver's, still deterministic for a given seed. The seed is also passed to HiGHS as its
    ``random_seed``.

The module is pure: it reads frozen dataclasses and numpy arrays and returns a result with a
``check(problem)`` feasibility checker.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
Backend = Literal["highspy", "scipy"]

# Explanation codes (one per request).
AWARDED = "awarded"
AWARDED_PARTIALLY = "awarded_partially"
AWARDED_BY_GROUP_SHARE = "awarded_by_group_share"
NOT_AWARDED_POOL_EXHAUSTED = "not_awarded_pool_exhausted"
NOT_FEASIBLE = "not_feasible"
NOT_ELIGIBLE = "not_eligible"
BELOW_QUALITY_THRESHOLD = "below_quality_threshold"
PI_CAP_REACHED = "pi_cap_reached"
NOT_AWARDED_SOLVER_GAP = "not_awarded_solver_gap"
NOT_AWARDED_BUNDLE = "not_awarded_bundle"
NOT_AWARDED_RESOURCE_LIMIT = "not_awarded_resource_limit"

EXPLANATION_CODES = frozenset(
    {
        AWARDED,
        AWARDED_PARTIALLY,
        AWARDED_BY_GROUP_SHARE,
        NOT_AWARDED_POOL_EXHAUSTED,
        NOT_FEASIBLE,
        NOT_ELIGIBLE,
        BELOW_QUALITY_THRESHOLD,
        PI_CAP_REACHED,
        NOT_AWARDED_SOLVER_GAP,
        NOT_AWARDED_BUNDLE,
        NOT_AWARDED_RESOURCE_LIMIT,
    }
)

_TOL = 1e-6
_TIE_EPS = 1e-7


class PolicyError(ValueError):
    """An allocation policy with invalid values."""


class ProblemError(ValueError):
    """An allocation problem whose data is inconsistent."""


def _copy_mapping(data: Mapping[str, float] | Iterable[tuple[str, float]]) -> Mapping[str, float]:
    items = data.items() if isinstance(data, Mapping) else data
    return dict({str(k): float(v) for k, v in items})


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """A capacity pool: e.g. FAST hours in LST 04-05 h, berths on leg 2, mg of CE-5 soil."""

    id: str
    capacity: float
    unit: str = "h"
    kind: str = "time"


@dataclass(frozen=True)
class Request:
    """One request for capacity.

    ``demand`` maps pool id to the amount for the full award (sparse: only pools it uses); it
    is copied, so the caller's mapping is never shared. ``feasible=False`` (technical or
    suitability review failed) and ``eligible=False`` exclude the request;
    ``infeasible_reason`` is echoed in the explanation.

    ``bundle`` (a key or None): the requests of one proposal that share a bundle key are
    all-or-nothing: every one of them is awarded in full, or none is (whatever the partial-award
    settings). A bundle is one award for the PI's count cap.
    """

    id: str
    proposal_id: str
    pi_id: str
    merit: float
    demand: Mapping[str, float]
    min_fraction: float = 1.0
    eligible: bool = True
    feasible: bool = True
    infeasible_reason: str = ""
    bundle: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "demand", _copy_mapping(self.demand))

    @property
    def total_demand(self) -> float:
        return float(sum(self.demand.values()))


@dataclass(frozen=True)
class Group:
    """A named group of proposals, e.g. ``international`` or ``low_lmic``.

    ``from_nationality`` says the membership was derived from the nationality or country of
    the team (true for both examples); nationality-blind calls may not use such groups.
    """

    name: str
    proposal_ids: frozenset[str]
    from_nationality: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "proposal_ids", frozenset(self.proposal_ids))


@dataclass(frozen=True)
class GroupShareRule:
    """Group ``group`` should receive at least ``min_share`` of the capacity of ``pools``.

    ``pools=None`` means every pool (they must then share one unit). The rule is soft in the
    sense explained in the module docstring: share >= min(target, achievable).
    """

    group: str
    min_share: float
    pools: tuple[str, ...] | None = None
    nationality_based: bool = True
    #: only requests whose merit meets this threshold (same orientation as the merit) count
    #: toward the share, and only they can be pushed in by it; None: every candidate counts
    min_quality: float | None = None


@dataclass(frozen=True)
class ResourceLimit:
    """Limits on one pool: the most one proposal may receive and the most awarded in total."""

    max_per_proposal: float | None = None
    max_total: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_per_proposal", "max_total"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise PolicyError(f"{name} must be a positive number or None, got {v!r}")
        if (
            self.max_per_proposal is not None
            and self.max_total is not None
            and self.max_per_proposal > self.max_total
        ):
            raise PolicyError("max_per_proposal must not exceed max_total")


@dataclass(frozen=True)
class AllocationPolicy:
    """The call's stated allocation policy; validated on construction (raises PolicyError)."""

    allow_partial: bool = False
    min_fraction: float = 1.0
    max_awards_per_pi: int | None = None
    max_amount_per_pi: float | None = None
    #: at most this much of a pool per PI, {pool id: amount}
    max_amount_per_pi_by_pool: Mapping[str, float] = field(default_factory=dict)
    #: per pool: the most one proposal may receive, and the most awarded in total
    resource_limits: Mapping[str, ResourceLimit] = field(default_factory=dict)
    group_share_rules: tuple[GroupShareRule, ...] = ()
    nationality_blind: bool = False
    quality_threshold: float | None = None
    objective: Literal["merit", "merit_x_amount"] = "merit"
    merit_floor: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_share_rules", tuple(self.group_share_rules))
        object.__setattr__(
            self, "max_amount_per_pi_by_pool", _copy_mapping(self.max_amount_per_pi_by_pool)
        )
        object.__setattr__(self, "resource_limits", dict(self.resource_limits))
        for pid, amount in self.max_amount_per_pi_by_pool.items():
            if not (math.isfinite(amount) and amount > 0):
                raise PolicyError(
                    f"max_amount_per_pi_by_pool[{pid!r}] must be a positive number, got {amount!r}"
                )
        for pid, lim in self.resource_limits.items():
            if not isinstance(lim, ResourceLimit):
                raise PolicyError(f"resource_limits[{pid!r}] must be a ResourceLimit")
        if not (0.0 < self.min_fraction <= 1.0) or not math.isfinite(self.min_fraction):
            raise PolicyError(f"min_fraction must lie in (0, 1], got {self.min_fraction!r}")
        if self.max_awards_per_pi is not None and (
            isinstance(self.max_awards_per_pi, bool)
            or not isinstance(self.max_awards_per_pi, int)
            or self.max_awards_per_pi < 1
        ):
            raise PolicyError(
                f"max_awards_per_pi must be a positive integer or None, "
                f"got {self.max_awards_per_pi!r}"
            )
        if self.max_amount_per_pi is not None and not (
            math.isfinite(self.max_amount_per_pi) and self.max_amount_per_pi > 0
        ):
            raise PolicyError(
                f"max_amount_per_pi must be a positive number or None, "
                f"got {self.max_amount_per_pi!r}"
            )
        if self.objective not in ("merit", "merit_x_amount"):
            raise PolicyError(
                f"objective must be 'merit' or 'merit_x_amount', got {self.objective!r}"
            )
        if not (math.isfinite(self.merit_floor) and self.merit_floor > 0):
            raise PolicyError(f"merit_floor must be a positive number, got {self.merit_floor!r}")
        if self.quality_threshold is not None and not math.isfinite(self.quality_threshold):
            raise PolicyError(
                f"quality_threshold must be a finite number or None, got {self.quality_threshold!r}"
            )
        seen: set[tuple[str, tuple[str, ...] | None]] = set()
        for rule in self.group_share_rules:
            if not isinstance(rule, GroupShareRule):
                raise PolicyError(f"group_share_rules must hold GroupShareRule, got {rule!r}")
            if not (math.isfinite(rule.min_share) and 0.0 < rule.min_share <= 1.0):
                raise PolicyError(
                    f"group share rule for {rule.group!r}: min_share must lie in (0, 1], "
                    f"got {rule.min_share!r}"
                )
            if rule.min_quality is not None and not math.isfinite(rule.min_quality):
                raise PolicyError(
                    f"group share rule for {rule.group!r}: min_quality must be finite or None"
                )
            if rule.pools is not None and len(rule.pools) == 0:
                raise PolicyError(
                    f"group share rule for {rule.group!r}: pools must be None (all pools) "
                    f"or a non-empty tuple"
                )
            key = (rule.group, None if rule.pools is None else tuple(sorted(rule.pools)))
            if key in seen:
                raise PolicyError(f"duplicate group share rule for {rule.group!r} on {key[1]}")
            seen.add(key)
            if self.nationality_blind and rule.nationality_based:
                raise PolicyError(
                    f"the policy is nationality_blind, but the group share rule for "
                    f"{rule.group!r} is based on nationality; a nationality-blind call may not "
                    f"use groups derived from nationality (drop the rule or the blind flag)"
                )

    @property
    def effective_min_fraction(self) -> float:
        return self.min_fraction if self.allow_partial else 1.0


@dataclass(frozen=True)
class AllocationProblem:
    """Pools, requests, groups and the policy; validated on construction (raises ProblemError)."""

    pools: tuple[Pool, ...]
    requests: tuple[Request, ...]
    policy: AllocationPolicy = field(default_factory=AllocationPolicy)
    groups: tuple[Group, ...] = ()
    merit_higher_is_better: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "pools", tuple(self.pools))
        object.__setattr__(self, "requests", tuple(self.requests))
        object.__setattr__(self, "groups", tuple(self.groups))
        pool_ids = [p.id for p in self.pools]
        if len(set(pool_ids)) != len(pool_ids):
            raise ProblemError("pool ids must be unique")
        for p in self.pools:
            if not (math.isfinite(p.capacity) and p.capacity >= 0):
                raise ProblemError(f"pool {p.id!r}: capacity must be finite and >= 0")
        known = set(pool_ids)
        req_ids = [r.id for r in self.requests]
        if len(set(req_ids)) != len(req_ids):
            raise ProblemError("request ids must be unique")
        for r in self.requests:
            if not math.isfinite(r.merit):
                raise ProblemError(f"request {r.id!r}: merit must be finite")
            if not (math.isfinite(r.min_fraction) and 0.0 < r.min_fraction <= 1.0):
                raise ProblemError(f"request {r.id!r}: min_fraction must lie in (0, 1]")
            for pid, amount in r.demand.items():
                if pid not in known:
                    raise ProblemError(f"request {r.id!r} asks for unknown pool {pid!r}")
                if not (math.isfinite(amount) and amount >= 0):
                    raise ProblemError(f"request {r.id!r}: demand on {pid!r} must be >= 0")
        group_names = [g.name for g in self.groups]
        if len(set(group_names)) != len(group_names):
            raise ProblemError("group names must be unique")
        by_name = {g.name: g for g in self.groups}
        units = {p.id: p.unit for p in self.pools}
        for rule in self.policy.group_share_rules:
            if rule.group not in by_name:
                raise ProblemError(f"group share rule names unknown group {rule.group!r}")
            if by_name[rule.group].from_nationality and not rule.nationality_based:
                raise ProblemError(
                    f"group {rule.group!r} is derived from nationality, so its share rule "
                    f"must be declared nationality_based=True"
                )
            rule_pools = pool_ids if rule.pools is None else list(rule.pools)
            for pid in rule_pools:
                if pid not in known:
                    raise ProblemError(f"group share rule for {rule.group!r}: unknown pool {pid}")
            if len({units[pid] for pid in rule_pools}) > 1:
                raise ProblemError(
                    f"group share rule for {rule.group!r} spans pools with different units"
                )
        if self.policy.max_amount_per_pi is not None and len(set(units.values())) > 1:
            raise ProblemError("max_amount_per_pi needs every pool to share one unit")
        for what, keys in (
            ("max_amount_per_pi_by_pool", self.policy.max_amount_per_pi_by_pool),
            ("resource_limits", self.policy.resource_limits),
        ):
            for pid in keys:
                if pid not in known:
                    raise ProblemError(f"{what} names unknown pool {pid!r}")
        for r in self.requests:
            if r.bundle is not None and not isinstance(r.bundle, str):
                raise ProblemError(f"request {r.id!r}: bundle must be a string or None")

    @cached_property
    def bundles(self) -> dict[tuple[str, str], list[int]]:
        """(proposal id, bundle key) -> indices of its requests, in input order."""
        out: dict[tuple[str, str], list[int]] = {}
        for i, r in enumerate(self.requests):
            if r.bundle is not None:
                out.setdefault((r.proposal_id, r.bundle), []).append(i)
        return out

    def effective_capacity(self, pool_id: str) -> float:
        """The pool's capacity, lowered by a ``max_total`` resource limit."""
        cap = next(p.capacity for p in self.pools if p.id == pool_id)
        lim = self.policy.resource_limits.get(pool_id)
        if lim is not None and lim.max_total is not None:
            cap = min(cap, lim.max_total)
        return cap

    def rule_pools(self, rule: GroupShareRule) -> tuple[str, ...]:
        return tuple(p.id for p in self.pools) if rule.pools is None else tuple(rule.pools)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Why a request got what it got: a machine code, the pools concerned, a sentence."""

    code: str
    detail: str
    pools: tuple[str, ...] = ()
    #: the sentence as a message id and parameters (``opencall.optim.messages``), so that a
    #: page can show it in the reader's language; None where only the English ``detail`` exists
    message: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class GroupShareOutcome:
    group: str
    pools: tuple[str, ...]
    target: float
    required: float
    merit_only_amount: float
    achieved: float
    binding: bool
    min_quality: float | None = None


@dataclass(frozen=True)
class AllocationResult:
    status: str
    fractions: Mapping[str, float]
    amounts: Mapping[str, Mapping[str, float]]
    explanations: Mapping[str, Explanation]
    objective: float
    bound: float
    mip_gap: float
    solve_time_s: float
    merit_only_objective: float
    group_shares: tuple[GroupShareOutcome, ...]
    seed: int
    backend: str
    phases: int

    def pool_usage(self) -> dict[str, float]:
        usage: dict[str, float] = {}
        for per_pool in self.amounts.values():
            for pid, amount in per_pool.items():
                usage[pid] = usage.get(pid, 0.0) + amount
        return usage

    def check(self, problem: AllocationProblem) -> list[str]:
        """Feasibility of this result for ``problem``; an empty list means feasible."""
        errors: list[str] = []
        policy = problem.policy
        cap = {p.id: problem.effective_capacity(p.id) for p in problem.pools}
        usage = {p.id: 0.0 for p in problem.pools}
        pi_pool: dict[tuple[str, str], float] = {}
        proposal_pool: dict[tuple[str, str], float] = {}
        pi_awards: dict[str, set[str]] = {}
        pi_amount: dict[str, float] = {}
        for r in problem.requests:
            if r.id not in self.fractions or r.id not in self.explanations:
                errors.append(f"request {r.id}: no fraction or no explanation")
                continue
            if self.explanations[r.id].code not in EXPLANATION_CODES:
                errors.append(f"request {r.id}: unknown explanation code")
            f = self.fractions[r.id]
            lo = _min_fraction(r, policy)
            if f > _TOL and (f < lo - _TOL or f > 1 + _TOL):
                errors.append(f"request {r.id}: fraction {f:.6g} outside [{lo:.6g}, 1]")
            if f < -_TOL:
                errors.append(f"request {r.id}: negative fraction {f}")
            if f > _TOL and not _is_candidate(r, problem):
                errors.append(f"request {r.id}: awarded although not eligible/feasible/above bar")
            amounts = self.amounts.get(r.id, {})
            for pid, d in r.demand.items():
                a = amounts.get(pid, 0.0)
                if abs(a - f * d) > _TOL * max(1.0, d):
                    errors.append(f"request {r.id}: amount on {pid} is not fraction x demand")
                usage[pid] += a
                pi_pool[(r.pi_id, pid)] = pi_pool.get((r.pi_id, pid), 0.0) + a
                key = (r.proposal_id, pid)
                proposal_pool[key] = proposal_pool.get(key, 0.0) + a
            if f > _TOL:
                award_key = f"{r.proposal_id}\x00{r.bundle}" if r.bundle is not None else r.id
                pi_awards.setdefault(r.pi_id, set()).add(award_key)
                pi_amount[r.pi_id] = pi_amount.get(r.pi_id, 0.0) + f * r.total_demand
        pi_count = {pi: len(keys) for pi, keys in pi_awards.items()}
        for pid, used in usage.items():
            if used > cap[pid] + _TOL * max(1.0, cap[pid]):
                errors.append(f"pool {pid} overdrawn: {used:.6g} > {cap[pid]:.6g}")
        if policy.max_awards_per_pi is not None:
            for pi, n in pi_count.items():
                if n > policy.max_awards_per_pi:
                    errors.append(f"PI {pi}: {n} awards > cap {policy.max_awards_per_pi}")
        if policy.max_amount_per_pi is not None:
            for pi, amount in pi_amount.items():
                if amount > policy.max_amount_per_pi * (1 + _TOL) + _TOL:
                    errors.append(f"PI {pi}: amount {amount:.6g} > cap {policy.max_amount_per_pi}")
        for (pi, pid), amount in pi_pool.items():
            pmax = policy.max_amount_per_pi_by_pool.get(pid)
            if pmax is not None and amount > pmax * (1 + _TOL) + _TOL:
                errors.append(f"PI {pi}: {amount:.6g} of pool {pid} > cap {pmax}")
        for (prop, pid), amount in proposal_pool.items():
            lim = policy.resource_limits.get(pid)
            if lim is not None and lim.max_per_proposal is not None:
                if amount > lim.max_per_proposal * (1 + _TOL) + _TOL:
                    errors.append(
                        f"proposal {prop}: {amount:.6g} of pool {pid} > limit "
                        f"{lim.max_per_proposal}"
                    )
        for (prop, bkey), members in problem.bundles.items():
            fs = [self.fractions.get(problem.requests[j].id, 0.0) for j in members]
            if any(f > _TOL for f in fs) and not all(f >= 1 - _TOL for f in fs):
                errors.append(f"proposal {prop}: bundle {bkey!r} split ({fs})")
        groups = {g.name: g for g in problem.groups}
        for outcome in self.group_shares:
            rule_group = groups.get(outcome.group)
            if rule_group is None:
                errors.append(f"group share outcome for unknown group {outcome.group}")
                continue
            if policy.nationality_blind and rule_group.from_nationality:
                errors.append(f"nationality-blind call used nationality group {outcome.group}")
            got = sum(
                self.amounts.get(r.id, {}).get(pid, 0.0)
                for r in problem.requests
                if r.proposal_id in rule_group.proposal_ids
                and _meets(problem, r.merit, outcome.min_quality)
                for pid in outcome.pools
            )
            if got < outcome.required - _TOL * max(1.0, outcome.required) - 1e-6:
                errors.append(
                    f"group {outcome.group}: {got:.6g} below required {outcome.required:.6g}"
                )
            if outcome.required > outcome.target + _TOL * max(1.0, outcome.target):
                errors.append(f"group {outcome.group}: required exceeds target")
        return errors


# --------------------------------------------------------------------------------------------
# Generic MIP call (shared with opencall.optim.logistics)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MipSolution:
    x: FloatArray
    objective: float
    bound: float
    gap: float
    status: str  # "optimal", "time_limit", "infeasible", "error"
    time_s: float


def _new_highs() -> Any:
    # The private base class avoids the Python wrapper's logging callbacks, which print the
    # HiGHS banner on stdout when the object is constructed; fall back to the public class.
    try:
        from highspy._core import _Highs

        return _Highs()
    except ImportError:  # pragma: no cover - older highspy layouts
        import highspy

        return highspy.Highs()  # type: ignore[no-untyped-call,unused-ignore]


def solve_mip(
    c: FloatArray,
    a: sp.csr_matrix,
    row_lo: FloatArray,
    row_hi: FloatArray,
    col_lo: FloatArray,
    col_hi: FloatArray,
    integer: npt.NDArray[np.bool_],
    *,
    maximize: bool = True,
    backend: Backend = "highspy",
    mip_rel_gap: float = 1e-4,
    time_limit_s: float = 60.0,
    seed: int = 0,
    start: FloatArray | None = None,
    polish: bool = False,
    options: Mapping[str, Any] | None = None,
) -> MipSolution:
    """Solve ``max/min c.x  s.t. row_lo <= A x <= row_hi, col_lo <= x <= col_hi``.

    ``integer`` marks integer columns. Infinite bounds are ``numpy.inf``. ``start`` is a
    feasible solution handed to HiGHS as a warm start (ignored by the scipy backend).

    ``polish=True`` first builds a warm start by LP rounding (highspy backend only): solve the
    LP relaxation, fix every integer column whose LP value is integral, and solve the small
    MIP left over the fractional ones (at most about one per binding row). On allocation
    models the LP bound is tight and HiGHS's own heuristics are slow to find a solution near
    it on 10^4 columns; with this start the root bound usually proves the gap at once. The
    better of ``start`` and the rounded solution is used.
    """
    t0 = time.perf_counter()
    n = int(c.shape[0])
    if n == 0:
        return MipSolution(np.zeros(0), 0.0, 0.0, 0.0, "optimal", 0.0)
    if backend == "scipy":
        return _solve_scipy(
            c, a, row_lo, row_hi, col_lo, col_hi, integer, maximize, mip_rel_gap, time_limit_s, t0
        )
    if polish and integer.any():
        rounded = _lp_rounding(
            c,
            a,
            row_lo,
            row_hi,
            col_lo,
            col_hi,
            integer,
            maximize,
            seed,
            0.25 * time_limit_s,
            min(0.1 * mip_rel_gap, 1e-4),
        )
        if rounded is not None:
            sign = 1.0 if maximize else -1.0
            if start is None or sign * float(np.dot(c, rounded)) > sign * float(np.dot(c, start)):
                start = rounded
        time_limit_s = max(time_limit_s - (time.perf_counter() - t0), 0.01)
    import highspy

    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
    h.setOptionValue("random_seed", int(seed) % 2_147_483_647)
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    inf = highspy.kHighsInf
    csc = sp.csc_matrix(a)
    csc.sort_indices()
    m = int(csc.shape[0])
    sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    status = h.passModel(
        n,
        m,
        int(csc.nnz),
        int(highspy.MatrixFormat.kColwise.value),
        int(sense.value),
        0.0,
        np.ascontiguousarray(c, dtype=np.float64),
        np.where(np.isfinite(col_lo), col_lo, -inf).astype(np.float64),
        np.where(np.isfinite(col_hi), col_hi, inf).astype(np.float64),
        np.where(np.isfinite(row_lo), row_lo, -inf).astype(np.float64),
        np.where(np.isfinite(row_hi), row_hi, inf).astype(np.float64),
        csc.indptr.astype(np.int32),
        csc.indices.astype(np.int32),
        csc.data.astype(np.float64),
        integer.astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")
    if start is not None:
        h.setSolution(n, np.arange(n, dtype=np.int32), np.asarray(start, dtype=np.float64))
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    elapsed = time.perf_counter() - t0
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return MipSolution(np.zeros(n), math.nan, math.nan, math.inf, "infeasible", elapsed)
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if x.shape[0] != n:
        return MipSolution(np.zeros(n), math.nan, math.nan, math.inf, "error", elapsed)
    obj = float(np.dot(c, x))
    bound = float(info.mip_dual_bound) if integer.any() else obj
    if not math.isfinite(bound):
        bound = obj
    if model_status == highspy.HighsModelStatus.kOptimal:
        label = "optimal"
    elif model_status == highspy.HighsModelStatus.kTimeLimit:
        label = "time_limit"
    else:
        label = model_status.name.removeprefix("k").lower()
    return MipSolution(x, obj, bound, _gap(obj, bound, maximize), label, elapsed)


def _lp_rounding(
    c: FloatArray,
    a: sp.csr_matrix,
    row_lo: FloatArray,
    row_hi: FloatArray,
    col_lo: FloatArray,
    col_hi: FloatArray,
    integer: npt.NDArray[np.bool_],
    maximize: bool,
    seed: int,
    time_limit_s: float,
    sub_gap: float,
) -> FloatArray | None:
    """A feasible integer solution near the LP optimum, or None (see ``solve_mip``)."""
    no_int = np.zeros_like(integer)
    lp = solve_mip(
        c,
        a,
        row_lo,
        row_hi,
        col_lo,
        col_hi,
        no_int,
        maximize=maximize,
        seed=seed,
        time_limit_s=time_limit_s,
    )
    if lp.status != "optimal":
        return None
    x = lp.x
    near = integer & (np.abs(x - np.round(x)) <= 1e-7)
    lo = col_lo.copy()
    hi = col_hi.copy()
    lo[near] = np.round(x[near])
    hi[near] = np.round(x[near])
    sub = solve_mip(
        c,
        a,
        row_lo,
        row_hi,
        lo,
        hi,
        integer,
        maximize=maximize,
        seed=seed,
        time_limit_s=time_limit_s,
        mip_rel_gap=sub_gap,
    )
    if sub.status not in ("optimal", "time_limit") or not math.isfinite(sub.objective):
        return None
    return sub.x


def _solve_scipy(
    c: FloatArray,
    a: sp.csr_matrix,
    row_lo: FloatArray,
    row_hi: FloatArray,
    col_lo: FloatArray,
    col_hi: FloatArray,
    integer: npt.NDArray[np.bool_],
    maximize: bool,
    mip_rel_gap: float,
    time_limit_s: float,
    t0: float,
) -> MipSolution:
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = int(c.shape[0])
    sign = -1.0 if maximize else 1.0
    constraints = [LinearConstraint(a, row_lo, row_hi)] if a.shape[0] > 0 else []
    res = milp(
        c=sign * c,
        constraints=constraints,
        integrality=integer.astype(np.int64),
        bounds=Bounds(col_lo, col_hi),
        options={"disp": False, "mip_rel_gap": mip_rel_gap, "time_limit": time_limit_s},
    )
    elapsed = time.perf_counter() - t0
    if res.x is None:
        label = "infeasible" if res.status == 2 else "error"
        return MipSolution(np.zeros(n), math.nan, math.nan, math.inf, label, elapsed)
    x = np.asarray(res.x, dtype=np.float64)
    obj = float(np.dot(c, x))
    raw_bound = getattr(res, "mip_dual_bound", None)
    bound = obj if raw_bound is None or not math.isfinite(raw_bound) else sign * float(raw_bound)
    label = "optimal" if res.status == 0 else "time_limit" if res.status == 1 else "error"
    return MipSolution(x, obj, bound, _gap(obj, bound, maximize), label, elapsed)


def _gap(obj: float, bound: float, maximize: bool) -> float:
    diff = (bound - obj) if maximize else (obj - bound)
    return max(0.0, diff) / max(abs(obj), 1e-9)


# --------------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------------


def _oriented(problem: AllocationProblem, merit: float) -> float:
    return merit if problem.merit_higher_is_better else -merit


def _meets_threshold(problem: AllocationProblem, r: Request) -> bool:
    thr = problem.policy.quality_threshold
    if thr is None:
        return True
    return _oriented(problem, r.merit) >= _oriented(problem, thr) - 1e-12


def _is_candidate(r: Request, problem: AllocationProblem) -> bool:
    return r.eligible and r.feasible and _meets_threshold(problem, r)


def _meets(problem: AllocationProblem, merit: float, threshold: float | None) -> bool:
    if threshold is None:
        return True
    return _oriented(problem, merit) >= _oriented(problem, threshold) - 1e-12


def _min_fraction(r: Request, policy: AllocationPolicy) -> float:
    """The smallest fraction a request may receive when awarded (bundles: whole only)."""
    if r.bundle is not None:
        return 1.0
    return max(r.min_fraction, policy.effective_min_fraction)


def _bundle_blocker(problem: AllocationProblem, i: int) -> int | None:
    """For a request in a bundle, a member that is not a candidate (so the bundle is out)."""
    r = problem.requests[i]
    if r.bundle is None:
        return None
    for j in problem.bundles[(r.proposal_id, r.bundle)]:
        if not _is_candidate(problem.requests[j], problem):
            return j
    return None


def _per_proposal_limit_blocks(problem: AllocationProblem, i: int) -> str | None:
    """A pool on which the request, at its smallest award, exceeds ``max_per_proposal``."""
    r = problem.requests[i]
    lo = _min_fraction(r, problem.policy)
    members = problem.bundles[(r.proposal_id, r.bundle)] if r.bundle is not None else [i]
    for pid, lim in problem.policy.resource_limits.items():
        if lim.max_per_proposal is None:
            continue
        need = sum(lo * problem.requests[j].demand.get(pid, 0.0) for j in members)
        if need > lim.max_per_proposal * (1 + 1e-9) + 1e-9:
            return pid
    return None


def seeded_rank(problem: AllocationProblem, seed: int) -> list[int]:
    """Request indices best first: oriented merit descending, ties by a seeded permutation."""
    n = len(problem.requests)
    perm = np.random.default_rng(seed).permutation(n)
    tie = np.empty(n, dtype=np.int64)
    tie[perm] = np.arange(n)
    return sorted(
        range(n), key=lambda i: (-_oriented(problem, problem.requests[i].merit), int(tie[i]))
    )


@dataclass
class _Model:
    cand: list[int]
    f_col: dict[int, int]
    y_col: dict[int, int]
    n_cols: int
    integer: npt.NDArray[np.bool_]
    col_hi: FloatArray
    rows: list[tuple[dict[int, float], float, float]]
    weights: FloatArray
    group_terms: list[tuple[GroupShareRule, tuple[str, ...], float, dict[int, float]]]


def _build(problem: AllocationProblem, seed: int) -> _Model:
    policy = problem.policy
    reqs = problem.requests
    cand = [
        i
        for i, r in enumerate(reqs)
        if _is_candidate(r, problem)
        and _bundle_blocker(problem, i) is None
        and _per_proposal_limit_blocks(problem, i) is None
    ]
    f_col: dict[int, int] = {}
    y_col: dict[int, int] = {}
    integer: list[bool] = []
    bundle_col: dict[tuple[str, str], int] = {}
    col = 0
    for i in cand:
        r = reqs[i]
        lo = _min_fraction(r, policy)
        if r.bundle is not None:
            # every request of a bundle shares one binary column: all or nothing, in full
            key = (r.proposal_id, r.bundle)
            if key not in bundle_col:
                bundle_col[key] = col
                integer.append(True)
                col += 1
            y_col[i] = f_col[i] = bundle_col[key]
            continue
        y_col[i] = col
        integer.append(True)
        col += 1
        if lo < 1.0:
            f_col[i] = col
            integer.append(False)
            col += 1
        else:
            f_col[i] = y_col[i]

    def add(terms: dict[int, float], c: int, v: float) -> None:
        terms[c] = terms.get(c, 0.0) + v

    rows: list[tuple[dict[int, float], float, float]] = []
    # capacity rows (a max_total resource limit lowers the capacity)
    per_pool: dict[str, dict[int, float]] = {}
    for i in cand:
        for pid, d in reqs[i].demand.items():
            if d > 0:
                add(per_pool.setdefault(pid, {}), f_col[i], d)
    for p in problem.pools:
        terms = per_pool.get(p.id)
        cap = problem.effective_capacity(p.id)
        if terms and sum(terms.values()) > cap + 1e-12:
            rows.append((terms, -math.inf, cap))
    # partial-award linking rows
    for i in cand:
        if f_col[i] != y_col[i]:
            lo = _min_fraction(reqs[i], policy)
            rows.append(({f_col[i]: 1.0, y_col[i]: -1.0}, -math.inf, 0.0))
            rows.append(({f_col[i]: 1.0, y_col[i]: -lo}, 0.0, math.inf))
    # per-proposal resource limits
    by_proposal: dict[str, list[int]] = {}
    for i in cand:
        by_proposal.setdefault(reqs[i].proposal_id, []).append(i)
    for pid, lim in policy.resource_limits.items():
        if lim.max_per_proposal is None:
            continue
        for members in by_proposal.values():
            terms = {}
            for i in members:
                d = reqs[i].demand.get(pid, 0.0)
                if d > 0:
                    add(terms, f_col[i], d)
            if terms and sum(terms.values()) > lim.max_per_proposal + 1e-12:
                rows.append((terms, -math.inf, float(lim.max_per_proposal)))
    # PI caps (a bundle's members share one column, so a bundle counts as one award)
    by_pi: dict[str, list[int]] = {}
    for i in cand:
        by_pi.setdefault(reqs[i].pi_id, []).append(i)
    for members in by_pi.values():
        k = policy.max_awards_per_pi
        count_terms = {y_col[i]: 1.0 for i in members}
        if k is not None and len(count_terms) > k:
            rows.append((count_terms, -math.inf, float(k)))
        amax = policy.max_amount_per_pi
        if amax is not None and sum(reqs[i].total_demand for i in members) > amax:
            terms = {}
            for i in members:
                add(terms, f_col[i], reqs[i].total_demand)
            rows.append((terms, -math.inf, float(amax)))
        for pid, pmax in policy.max_amount_per_pi_by_pool.items():
            terms = {}
            for i in members:
                d = reqs[i].demand.get(pid, 0.0)
                if d > 0:
                    add(terms, f_col[i], d)
            if terms and sum(terms.values()) > pmax + 1e-12:
                rows.append((terms, -math.inf, float(pmax)))
    # weights: oriented merit rescaled to [floor, 1 + floor], seeded tie perturbation
    weights = np.zeros(col)
    if cand:
        s = np.array([_oriented(problem, reqs[i].merit) for i in cand])
        lo_s, hi_s = float(s.min()), float(s.max())
        base = (s - lo_s) / (hi_s - lo_s) if hi_s > lo_s else np.ones_like(s)
        base = base + policy.merit_floor
        order = seeded_rank(problem, seed)
        position = {i: k for k, i in enumerate(order)}
        n = max(len(reqs), 1)
        for k, i in enumerate(cand):
            w = float(base[k]) * (1.0 + _TIE_EPS * (n - position[i]) / n)
            if policy.objective == "merit_x_amount":
                w *= reqs[i].total_demand
            weights[f_col[i]] += w
    # group terms: memberships are read only for groups named by a rule
    group_terms: list[tuple[GroupShareRule, tuple[str, ...], float, dict[int, float]]] = []
    groups = {g.name: g for g in problem.groups}
    caps = {p.id: problem.effective_capacity(p.id) for p in problem.pools}
    for rule in policy.group_share_rules:
        group_members = groups[rule.group].proposal_ids
        pools = problem.rule_pools(rule)
        target = rule.min_share * sum(caps[pid] for pid in pools)
        g_terms: dict[int, float] = {}
        for i in cand:
            if reqs[i].proposal_id in group_members and _meets(
                problem, reqs[i].merit, rule.min_quality
            ):
                amount = sum(reqs[i].demand.get(pid, 0.0) for pid in pools)
                if amount > 0:
                    g_terms[f_col[i]] = g_terms.get(f_col[i], 0.0) + amount
        group_terms.append((rule, pools, target, g_terms))
    col_hi = np.ones(col)
    return _Model(
        cand, f_col, y_col, col, np.array(integer, dtype=bool), col_hi, rows, weights, group_terms
    )


def rows_to_csr(
    rows: Sequence[tuple[dict[int, float], float, float]], n_cols: int
) -> tuple[sp.csr_matrix, FloatArray, FloatArray]:
    """Rows given as ``({column: coefficient}, lower, upper)`` -> (CSR matrix, lower, upper)."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    lo = np.empty(len(rows))
    hi = np.empty(len(rows))
    for k, (terms, r_lo, r_hi) in enumerate(rows):
        indices.extend(terms.keys())
        data.extend(terms.values())
        indptr.append(len(indices))
        lo[k] = r_lo
        hi[k] = r_hi
    a = sp.csr_matrix(
        (np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64), indptr),
        shape=(len(rows), n_cols),
    )
    return a, lo, hi


def _group_amount(terms: Mapping[int, float], x: FloatArray) -> float:
    return float(sum(coef * x[c] for c, coef in terms.items()))


def solve_allocation(
    problem: AllocationProblem,
    *,
    seed: int = 0,
    backend: Backend = "highspy",
    mip_rel_gap: float = 1e-4,
    time_limit_s: float = 60.0,
    highs_options: Mapping[str, Any] | None = None,
) -> AllocationResult:
    """Choose awarded fractions for ``problem``; see the module docstring for the model."""
    t0 = time.perf_counter()
    model = _build(problem, seed)
    n = model.n_cols
    col_lo = np.zeros(n)

    def run(
        c: FloatArray,
        rows: Sequence[tuple[dict[int, float], float, float]],
        integer: npt.NDArray[np.bool_],
        lo: FloatArray,
        hi: FloatArray,
        start: FloatArray | None,
        share: float = 1.0,
    ) -> MipSolution:
        a, r_lo, r_hi = rows_to_csr(rows, c.shape[0])
        remaining = share * max(time_limit_s - (time.perf_counter() - t0), 0.01)
        sol = solve_mip(
            c,
            a,
            r_lo,
            r_hi,
            lo,
            hi,
            integer,
            backend=backend,
            mip_rel_gap=mip_rel_gap,
            time_limit_s=remaining,
            seed=seed,
            start=start,
            polish=True,
            options=highs_options,
        )
        if sol.status in ("infeasible", "error"):
            raise RuntimeError(f"allocation MIP failed: {sol.status}")
        return sol

    # phase 0: merit only
    # with share rules, phase 0 may use at most 70 % of the time limit, phase 1 a fifth of
    # the rest and phase 2 the remainder
    share0 = 0.7 if model.group_terms else 1.0
    sol0 = run(model.weights, model.rows, model.integer, col_lo, model.col_hi, None, share0)
    x0 = _clean(sol0.x, model.integer)
    final, x, phases = sol0, x0, 1
    merit_amounts = [_group_amount(t[3], x0) for t in model.group_terms]
    unmet = [
        k
        for k, (_, _, target, _) in enumerate(model.group_terms)
        if merit_amounts[k] < target - _TOL * max(1.0, target)
    ]
    required = [
        min(target, merit_amounts[k]) for k, (_, _, target, _) in enumerate(model.group_terms)
    ]
    if unmet:
        # phase 1: the most that the groups can jointly reach, capped at each target
        g = len(model.group_terms)
        c1 = np.zeros(n + g)
        rows1 = list(model.rows)
        for k, (_, _, target, terms) in enumerate(model.group_terms):
            if target > 0:
                c1[n + k] = 1.0 / target
            row = dict(terms)
            row[n + k] = -1.0
            rows1.append((row, 0.0, math.inf))
        hi1 = np.concatenate([model.col_hi, [t[2] for t in model.group_terms]])
        int1 = np.concatenate([model.integer, np.zeros(g, dtype=bool)])
        start1 = np.concatenate(
            [x0, [min(merit_amounts[k], t[2]) for k, t in enumerate(model.group_terms)]]
        )
        sol1 = run(c1, rows1, int1, np.zeros(n + g), hi1, start1, 0.2)
        x1 = _clean(sol1.x[:n], model.integer)
        required = [
            min(target, _group_amount(terms, x1)) for (_, _, target, terms) in model.group_terms
        ]
        # phase 2: merit subject to the achievable group amounts
        rows2 = list(model.rows)
        for k, (_, _, _, terms) in enumerate(model.group_terms):
            if required[k] > 0:
                slack = 1e-9 * max(1.0, required[k])
                rows2.append((dict(terms), required[k] - slack, math.inf))
        sol2 = run(model.weights, rows2, model.integer, col_lo, model.col_hi, x1)
        final, x, phases = sol2, _clean(sol2.x, model.integer), 3
    return _result(
        problem,
        model,
        seed,
        backend,
        final,
        x,
        x0,
        sol0,
        merit_amounts,
        required,
        phases,
        time.perf_counter() - t0,
    )


def _clean(x: FloatArray, integer: npt.NDArray[np.bool_]) -> FloatArray:
    out = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    out[integer] = np.round(out[integer])
    return out


def _result(
    problem: AllocationProblem,
    model: _Model,
    seed: int,
    backend: str,
    final: MipSolution,
    x: FloatArray,
    x0: FloatArray,
    sol0: MipSolution,
    merit_amounts: list[float],
    required: list[float],
    phases: int,
    elapsed: float,
) -> AllocationResult:
    reqs = problem.requests
    policy = problem.policy
    fractions: dict[str, float] = {}
    f0: dict[int, float] = {}
    for i, r in enumerate(reqs):
        if i in model.f_col and x[model.y_col[i]] > 0.5:
            lo = _min_fraction(r, policy)
            f = float(np.clip(x[model.f_col[i]], lo, 1.0))
            fractions[r.id] = 1.0 if f > 1.0 - 1e-9 else f
        else:
            fractions[r.id] = 0.0
        f0[i] = float(x0[model.f_col[i]]) if i in model.f_col and x0[model.y_col[i]] > 0.5 else 0.0
    amounts = {r.id: dict({pid: fractions[r.id] * d for pid, d in r.demand.items()}) for r in reqs}
    # group outcomes
    outcomes: list[GroupShareOutcome] = []
    binding_members: set[int] = set()
    groups = {g.name: g for g in problem.groups}
    for k, (rule, pools, target, terms) in enumerate(model.group_terms):
        achieved = sum(
            amounts[r.id].get(pid, 0.0)
            for r in reqs
            if r.proposal_id in groups[rule.group].proposal_ids
            and _meets(problem, r.merit, rule.min_quality)
            for pid in pools
        )
        binding = merit_amounts[k] < target - _TOL * max(1.0, target)
        if binding:
            binding_members.update(i for i in model.cand if model.f_col[i] in terms)
        outcomes.append(
            GroupShareOutcome(
                rule.group,
                pools,
                target,
                required[k],
                merit_amounts[k],
                achieved,
                binding,
                rule.min_quality,
            )
        )
    explanations = _explain(problem, model, seed, fractions, f0, binding_members, outcomes)
    objective = final.objective
    return AllocationResult(
        status=final.status,
        fractions=dict(fractions),
        amounts=dict(amounts),
        explanations=dict(explanations),
        objective=objective,
        bound=final.bound,
        mip_gap=final.gap,
        solve_time_s=elapsed,
        merit_only_objective=sol0.objective,
        group_shares=tuple(outcomes),
        seed=seed,
        backend=backend,
        phases=phases,
    )


def _explain(
    problem: AllocationProblem,
    model: _Model,
    seed: int,
    fractions: Mapping[str, float],
    f0: Mapping[int, float],
    binding_members: set[int],
    outcomes: Sequence[GroupShareOutcome],
) -> dict[str, Explanation]:
    reqs = problem.requests
    policy = problem.policy
    caps = {p.id: problem.effective_capacity(p.id) for p in problem.pools}
    units = {p.id: p.unit for p in problem.pools}
    used_total = {p.id: 0.0 for p in problem.pools}
    for r in reqs:
        for pid, d in r.demand.items():
            used_total[pid] += fractions[r.id] * d
    pi_awards: dict[str, set[str]] = {}
    pi_amount: dict[str, float] = {}
    pi_pool: dict[tuple[str, str], float] = {}
    for r in reqs:
        if fractions[r.id] > 0:
            award_key = f"{r.proposal_id}\x00{r.bundle}" if r.bundle is not None else r.id
            pi_awards.setdefault(r.pi_id, set()).add(award_key)
            pi_amount[r.pi_id] = pi_amount.get(r.pi_id, 0.0) + fractions[r.id] * r.total_demand
            for pid, d in r.demand.items():
                key = (r.pi_id, pid)
                pi_pool[key] = pi_pool.get(key, 0.0) + fractions[r.id] * d
    pi_count = {pi: len(keys) for pi, keys in pi_awards.items()}
    binding_groups = ", ".join(o.group for o in outcomes if o.binding)
    out: dict[str, Explanation] = {}
    used_higher = {p.id: 0.0 for p in problem.pools}
    for i in seeded_rank(problem, seed):
        r = reqs[i]
        f = fractions[r.id]
        lo = _min_fraction(r, policy)
        members = problem.bundles[(r.proposal_id, r.bundle)] if r.bundle is not None else [i]
        in_bundle = (
            f"the all-or-nothing bundle {r.bundle!r} ({len(members)} requests)"
            if r.bundle is not None
            else ""
        )
        blocker = _bundle_blocker(problem, i) if _is_candidate(r, problem) else None
        limit_pool = _per_proposal_limit_blocks(problem, i) if _is_candidate(r, problem) else None
        if not r.eligible:
            out[r.id] = Explanation(NOT_ELIGIBLE, "the request did not pass the eligibility check")
        elif not r.feasible:
            why = r.infeasible_reason or "technical or suitability review"
            out[r.id] = Explanation(NOT_FEASIBLE, f"not feasible: {why}")
        elif not _meets_threshold(problem, r):
            word = "below" if problem.merit_higher_is_better else "worse than"
            out[r.id] = Explanation(
                BELOW_QUALITY_THRESHOLD,
                f"merit {r.merit:.4g} is {word} the quality threshold {policy.quality_threshold}",
            )
        elif blocker is not None:
            other = reqs[blocker]
            why = (
                "is not eligible"
                if not other.eligible
                else f"is not feasible ({other.infeasible_reason or 'technical review'})"
                if not other.feasible
                else "is below the quality threshold"
            )
            out[r.id] = Explanation(
                NOT_AWARDED_BUNDLE,
                f"not awarded: {in_bundle} was dropped as a whole, because its request "
                f"{other.id} {why}",
            )
        elif limit_pool is not None:
            lim = policy.resource_limits[limit_pool]
            subject = in_bundle + " as a whole" if in_bundle else "the request"
            out[r.id] = Explanation(
                NOT_AWARDED_RESOURCE_LIMIT,
                f"not awarded: {subject} asks for more of {limit_pool} than the limit of "
                f"{lim.max_per_proposal:.4g} {units[limit_pool]} per proposal",
                (limit_pool,),
            )
        elif f > 0 and i in binding_members and f > f0.get(i, 0.0) + 1e-6:
            out[r.id] = Explanation(
                AWARDED_BY_GROUP_SHARE,
                f"awarded {f:.0%} because the minimum share rule for {binding_groups} bound; "
                f"on merit alone it would have received {f0.get(i, 0.0):.0%}"
                + (f"; awarded in full with {in_bundle}" if in_bundle else ""),
            )
        elif f >= 1.0 - 1e-9:
            out[r.id] = Explanation(
                AWARDED,
                f"awarded in full, as part of {in_bundle}: all of it or none"
                if in_bundle
                else "awarded in full",
            )
        elif f > 0:
            short = [
                pid
                for pid, d in r.demand.items()
                if d > 0 and used_total[pid] >= caps[pid] - _TOL * max(1.0, caps[pid])
            ]
            out[r.id] = Explanation(
                AWARDED_PARTIALLY,
                f"awarded {f:.1%} of the request (minimum {lo:.0%})"
                + (f"; pool(s) {', '.join(short)} full" if short else ""),
                tuple(short),
            )
        else:
            whole = r
            if in_bundle:
                # the bundle is judged as a whole: its combined demand over every pool
                combined: dict[str, float] = {}
                for j in members:
                    for pid, d in reqs[j].demand.items():
                        combined[pid] = combined.get(pid, 0.0) + d
                whole = dataclasses.replace(r, demand=combined)
            e = _explain_not_awarded(
                whole,
                lo,
                caps,
                units,
                used_higher,
                used_total,
                pi_count,
                pi_amount,
                pi_pool,
                policy,
                outcomes,
            )
            if in_bundle:
                e = Explanation(
                    e.code,
                    f"{in_bundle} was not awarded as a whole (all or nothing): {e.detail}",
                    e.pools,
                )
            out[r.id] = e
        for pid, d in r.demand.items():
            used_higher[pid] += f * d
    return out


def readable(x: float) -> str:
    """An amount as a person reads it: two decimals at most, no rounding noise
    (-5.684e-14 is 0), never negative zero."""
    v = round(float(x), 2)
    return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) >= 0.005 else "0"


def _explain_not_awarded(
    r: Request,
    lo: float,
    caps: Mapping[str, float],
    units: Mapping[str, str],
    used_higher: Mapping[str, float],
    used_total: Mapping[str, float],
    pi_count: Mapping[str, int],
    pi_amount: Mapping[str, float],
    pi_pool: Mapping[tuple[str, str], float],
    policy: AllocationPolicy,
    outcomes: Sequence[GroupShareOutcome],
) -> Explanation:
    k = policy.max_awards_per_pi
    if k is not None and pi_count.get(r.pi_id, 0) >= k:
        return Explanation(PI_CAP_REACHED, f"the PI already holds {k} award(s), the cap")
    amax = policy.max_amount_per_pi
    if amax is not None and pi_amount.get(r.pi_id, 0.0) + lo * r.total_demand > amax + _TOL:
        return Explanation(
            PI_CAP_REACHED,
            f"the PI already holds {readable(pi_amount.get(r.pi_id, 0.0))} of the "
            f"{readable(amax)} cap",
        )
    for pid, pmax in policy.max_amount_per_pi_by_pool.items():
        held = pi_pool.get((r.pi_id, pid), 0.0)
        if r.demand.get(pid, 0.0) > 0 and held + lo * r.demand[pid] > pmax + _TOL:
            return Explanation(
                PI_CAP_REACHED,
                f"the PI already holds {held:.4g} of the cap of {pmax:.4g} {units[pid]} on {pid}",
                (pid,),
            )
    higher = [
        pid
        for pid, d in r.demand.items()
        if d > 0 and caps[pid] - used_higher[pid] < lo * d - _TOL * max(1.0, d)
    ]
    if higher:
        names = ", ".join(
            f"{pid} ({readable(caps[pid] - used_higher[pid])} of {readable(caps[pid])} "
            f"{units[pid]} left)"
            for pid in higher
        )
        return Explanation(
            NOT_AWARDED_POOL_EXHAUSTED,
            f"pool(s) exhausted by higher-ranked requests: {names}",
            tuple(higher),
        )
    short = [
        pid
        for pid, d in r.demand.items()
        if d > 0 and caps[pid] - used_total[pid] < lo * d - _TOL * max(1.0, d)
    ]
    if short:
        rules = [o.group for o in outcomes if o.binding and set(o.pools) & set(short)]
        why = (
            f"awards made under the minimum share rule for {', '.join(rules)}"
            if rules
            else "lower-ranked requests that fit the remaining capacity better"
        )
        return Explanation(
            NOT_AWARDED_POOL_EXHAUSTED,
            f"pool(s) {', '.join(short)} exhausted by the best combination of awards, "
            f"including {why}",
            tuple(short),
        )
    return Explanation(
        NOT_AWARDED_SOLVER_GAP,
        "capacity remained, but the solver stopped within its optimality-gap tolerance",
    )


def fast_lst_demands(
    ra_deg: npt.ArrayLike,
    dec_deg: npt.ArrayLike,
    hours: npt.ArrayLike,
    *,
    n_bins: int = 24,
    max_zenith_deg: float = 40.0,
) -> FloatArray:
    """Split each target's hours over LST bins; the sum over targets is the demand vector.

    Uses ``opencall.optim.sky.lst_fraction_in_bins`` (imported lazily: the allocation model
    itself never depends on sky geometry). Returns an array of length ``n_bins``.
    """
    try:
        from opencall.optim import sky
    except ImportError as exc:  # pragma: no cover - depends on a sibling module
        raise ImportError("fast_lst_demands needs opencall.optim.sky") from exc
    ra = np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
    h = np.broadcast_to(np.asarray(hours, dtype=np.float64), ra.shape)
    frac = np.asarray(
        sky.lst_fraction_in_bins(ra, dec, n_bins=n_bins, max_zenith_deg=max_zenith_deg),
        dtype=np.float64,
    ).reshape(ra.shape[0], n_bins)
    return np.asarray((frac * h[:, None]).sum(axis=0), dtype=np.float64)
