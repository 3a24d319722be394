"""The allocation model's inputs, outputs and the rules that read them (no solver here).

Inputs (``Pool``, ``Request``, ``Group``, ``GroupShareRule``, ``ResourceLimit``,
``AllocationPolicy``, ``AllocationProblem``) are frozen dataclasses validated on construction;
outputs (``Explanation``, ``GroupShareOutcome``, ``AllocationResult``) carry a feasibility
checker. See ``opencall.optim.allocation`` for the model itself.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from opencall.optim.allocation.caps import (
    GROUP_CAP_REACHED,
    GroupCap,
    cap_errors,
    cap_members,
    cap_pools,
    cap_value_error,
    validate_caps,
)
from opencall.optim.arrays import FloatArray
from opencall.optim.messages import Message
from opencall.optim.ties import tie_ranks

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
#: an offer's code only (:func:`offer_blocker`), never a request's explanation: the
#: capacity asked for is what a group share rule still reserves for its group
GROUP_SHARE_RESERVED = "group_share_reserved"

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
        GROUP_CAP_REACHED,
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


def _copy_amounts(data: Mapping[str, float] | Iterable[tuple[str, float]]) -> Mapping[str, float]:
    """A request's demand copied, its numbers as floats; anything else is kept as given, for
    ``AllocationProblem.validate`` to refuse by name (a demand of "1" was solved as 1, one
    of None crashed in ``float`` naming nothing: mend24)."""
    items = data.items() if isinstance(data, Mapping) else data
    return {str(k): float(v) if _real(v) else v for k, v in items}


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
    #: counted in whole units (plot-seasons, sessions, berths): a partial award gives a
    #: whole number of them
    whole: bool = False
    #: units kept free between the awards of two proposals (a travelling team's travel days
    #: between two hosts, a lab's changeover): ``k`` proposals awarded of the pool need
    #: ``changeover * (k - 1)`` units of ``room`` besides their awards
    changeover: float = 0.0
    #: what the awards and the changeovers between them may take together (the free slots
    #: of the resource's period, which may exceed what the call offers); None: ``capacity``
    room: float | None = None

    @property
    def changeover_room(self) -> float:
        """The room of the awards and their changeovers (``room``, else the capacity)."""
        return self.capacity if self.room is None else self.room


@dataclass(frozen=True)
class Request:
    """One request for capacity.

    ``demand`` maps pool id to the amount for the full award (sparse: only pools it uses); it
    is copied, so the caller's mapping is never shared. ``feasible=False`` (technical or
    suitability review failed) and ``eligible=False`` exclude the request;
    ``infeasible_reason`` is echoed in the explanation; ``infeasible_message``, when given,
    is the same reason as a message id and parameters (``optim.messages``; its English
    rendering is ``infeasible_reason``), so that the pages translate it.

    ``bundle`` (a key or None): the requests of one proposal that share a bundle key are
    all-or-nothing: every one of them is awarded in full, or none is (whatever the partial-award
    settings). A bundle is one award for the PI's count cap.

    ``preference`` (an integer >= 0): the applicant's order among their proposal's requests
    (0: listed first). Among requests of equal merit the lower one wins the tie, before the
    seeded tie-break: a PI capped at one award who lists a preferred and an acceptable
    alternative (a training cohort, a cell) gets the preferred one whenever it fits.
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
    preference: int = 0
    infeasible_message: Message | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "demand", _copy_amounts(self.demand))

    @property
    def total_demand(self) -> float:
        """The full award's amount summed over every pool (units are not converted)."""
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
    #: awards each PI already holds from earlier rounds of the same call (a continuous
    #: call's earlier batches), {pi id: count}: they count towards ``max_awards_per_pi``
    awards_held_by_pi: Mapping[str, int] = field(default_factory=dict)
    max_amount_per_pi: float | None = None
    #: at most this much of a pool per PI, {pool id: amount}
    max_amount_per_pi_by_pool: Mapping[str, float] = field(default_factory=dict)
    #: amounts each PI already holds from earlier rounds of the same call (a continuous
    #: call's earlier batches), {pi id: {pool id: amount}}: they count towards
    #: ``max_amount_per_pi`` (every pool) and ``max_amount_per_pi_by_pool`` (its pool)
    amount_held_by_pi: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: per pool: the most one proposal may receive, and the most awarded in total
    resource_limits: Mapping[str, ResourceLimit] = field(default_factory=dict)
    group_share_rules: tuple[GroupShareRule, ...] = ()
    #: at most so many awards, or so much capacity, per country (income group, region)
    group_caps: tuple[GroupCap, ...] = ()
    nationality_blind: bool = False
    quality_threshold: float | None = None
    objective: Literal["merit", "merit_x_amount"] = "merit"
    merit_floor: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_share_rules", tuple(self.group_share_rules))
        object.__setattr__(self, "group_caps", tuple(self.group_caps))
        for cap in self.group_caps:
            why = cap_value_error(cap, self.nationality_blind)
            if why is not None:
                raise PolicyError(why)
        object.__setattr__(
            self, "max_amount_per_pi_by_pool", _copy_mapping(self.max_amount_per_pi_by_pool)
        )
        object.__setattr__(self, "resource_limits", dict(self.resource_limits))
        object.__setattr__(self, "awards_held_by_pi", dict(self.awards_held_by_pi))
        for pi, held in self.awards_held_by_pi.items():
            if isinstance(held, bool) or not isinstance(held, int) or held < 0:
                raise PolicyError(
                    f"awards_held_by_pi[{pi!r}] must be a non-negative integer, got {held!r}"
                )
        held_amounts: dict[str, Mapping[str, float]] = {}
        for pi, per_pool in dict(self.amount_held_by_pi).items():
            if not isinstance(per_pool, Mapping):
                raise PolicyError(f"amount_held_by_pi[{pi!r}] must map pool ids to amounts")
            for pid, amount in per_pool.items():
                if (
                    isinstance(amount, bool)
                    or not isinstance(amount, int | float)
                    or not (math.isfinite(amount) and amount >= 0)
                ):
                    raise PolicyError(
                        f"amount_held_by_pi[{pi!r}][{pid!r}] must be a non-negative number, "
                        f"got {amount!r}"
                    )
            held_amounts[str(pi)] = _copy_mapping(per_pool)
        object.__setattr__(self, "amount_held_by_pi", held_amounts)
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

    def amount_held(self, pi: str, pool: str | None = None) -> float:
        """What ``pi`` already holds from earlier rounds of the call: of ``pool``, or of
        every pool (``None``)."""
        held = self.amount_held_by_pi.get(pi, {})
        return float(sum(held.values()) if pool is None else held.get(pool, 0.0))

    @property
    def effective_min_fraction(self) -> float:
        """The smallest awarded fraction the policy allows: ``min_fraction``, or 1 if whole."""
        return self.min_fraction if self.allow_partial else 1.0


@dataclass(frozen=True)
class SharedCapacity:
    """At most ``capacity`` units shared by some requests, beside their pools' capacities:
    the instants common to the resources of same-time bundles (``bundle_same_time``) that
    share a resource, which two such bundles cannot both take. ``demand``: request id to
    the amount it takes of the capacity when awarded in full (scaled by its fraction)."""

    id: str
    capacity: float
    demand: Mapping[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "demand", _copy_mapping(self.demand))


@dataclass(frozen=True)
class AllocationProblem:
    """Pools, requests, groups and the policy; validated on construction (raises ProblemError)."""

    pools: tuple[Pool, ...]
    requests: tuple[Request, ...]
    policy: AllocationPolicy = field(default_factory=AllocationPolicy)
    groups: tuple[Group, ...] = ()
    merit_higher_is_better: bool = True
    #: capacities shared by some requests across pools (``SharedCapacity``)
    shared: tuple[SharedCapacity, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pools", tuple(self.pools))
        object.__setattr__(self, "shared", tuple(self.shared))
        object.__setattr__(self, "requests", tuple(self.requests))
        object.__setattr__(self, "groups", tuple(self.groups))
        pool_ids = [p.id for p in self.pools]
        if len(set(pool_ids)) != len(pool_ids):
            raise ProblemError("pool ids must be unique")
        for p in self.pools:
            for name in ("capacity", "changeover"):
                _number(f"pool {p.id!r}", name, getattr(p, name))
            if p.room is not None:
                _number(f"pool {p.id!r}", "room", p.room)
            if not (math.isfinite(p.capacity) and p.capacity >= 0):
                raise ProblemError(f"pool {p.id!r}: capacity must be finite and >= 0")
            if not (math.isfinite(p.changeover) and p.changeover >= 0):
                raise ProblemError(f"pool {p.id!r}: changeover must be finite and >= 0")
            if p.room is not None and not (math.isfinite(p.room) and p.room >= 0):
                raise ProblemError(f"pool {p.id!r}: room must be finite and >= 0")
        known = set(pool_ids)
        whole = {p.id for p in self.pools if p.whole}
        req_ids = [r.id for r in self.requests]
        if len(set(req_ids)) != len(req_ids):
            raise ProblemError("request ids must be unique")
        for r in self.requests:
            _number(f"request {r.id!r}", "merit", r.merit)
            _number(f"request {r.id!r}", "min_fraction", r.min_fraction)
            if not math.isfinite(r.merit):
                raise ProblemError(f"request {r.id!r}: merit must be finite")
            if not (math.isfinite(r.min_fraction) and 0.0 < r.min_fraction <= 1.0):
                raise ProblemError(f"request {r.id!r}: min_fraction must lie in (0, 1]")
            if (
                isinstance(r.preference, bool)
                or not isinstance(r.preference, int)
                or (r.preference < 0)
            ):
                raise ProblemError(f"request {r.id!r}: preference must be an integer >= 0")
            for pid, amount in r.demand.items():
                if pid not in known:
                    raise ProblemError(f"request {r.id!r} asks for unknown pool {pid!r}")
                _number(f"request {r.id!r}", f"demand on {pid!r}", amount)
                if not (math.isfinite(amount) and amount >= 0):
                    raise ProblemError(f"request {r.id!r}: demand on {pid!r} must be >= 0")
                # the full award must be a whole number of units, as ``check`` requires
                if pid in whole and abs(amount - round(amount)) > _TOL:
                    raise ProblemError(
                        f"request {r.id!r}: demand {amount:.6g} on {pid!r} must be a whole "
                        f"number (the pool is counted in whole units)"
                    )
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
        for why in validate_caps(self):
            raise ProblemError(why)
        known_requests = set(req_ids)
        for sc in self.shared:
            _number(f"shared capacity {sc.id!r}", "capacity", sc.capacity)
            if not (math.isfinite(sc.capacity) and sc.capacity >= 0):
                raise ProblemError(f"shared capacity {sc.id!r}: capacity must be finite and >= 0")
            for rid, amount in sc.demand.items():
                if rid not in known_requests:
                    raise ProblemError(f"shared capacity {sc.id!r} names unknown request {rid!r}")
                if not (math.isfinite(amount) and amount >= 0):
                    raise ProblemError(f"shared capacity {sc.id!r}: demand of {rid!r} must be >= 0")

    @cached_property
    def bundles(self) -> dict[tuple[str, str], list[int]]:
        """The all-or-nothing bundles of the problem.

        Returns
        -------
        dict
            ``(proposal id, bundle key) -> indices of its requests``, in input order.
        """
        out: dict[tuple[str, str], list[int]] = {}
        for i, r in enumerate(self.requests):
            if r.bundle is not None:
                out.setdefault((r.proposal_id, r.bundle), []).append(i)
        return out

    def effective_capacity(self, pool_id: str) -> float:
        """The capacity that may be awarded from one pool.

        Parameters
        ----------
        pool_id : str
            A pool of the problem.

        Returns
        -------
        float
            The pool's capacity, lowered by a ``max_total`` resource limit on it.
        """
        cap = next(p.capacity for p in self.pools if p.id == pool_id)
        lim = self.policy.resource_limits.get(pool_id)
        if lim is not None and lim.max_total is not None:
            cap = min(cap, lim.max_total)
        return cap

    def rule_pools(self, rule: GroupShareRule) -> tuple[str, ...]:
        """The pools a share rule covers: its own, or every pool when it names none.

        Parameters
        ----------
        rule : GroupShareRule
            A rule of this problem's policy.

        Returns
        -------
        tuple of str
            Pool ids.
        """
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
        """The amount awarded from each pool.

        Returns
        -------
        dict
            ``pool id -> amount`` summed over every request (pools nobody asked for are left
            out).
        """
        usage: dict[str, float] = {}
        for per_pool in self.amounts.values():
            for pid, amount in per_pool.items():
                usage[pid] = usage.get(pid, 0.0) + amount
        return usage

    def check(self, problem: AllocationProblem) -> list[str]:
        """Check this result against every rule of ``problem``.

        Parameters
        ----------
        problem : AllocationProblem
            The problem the result was solved for.

        Returns
        -------
        list of str
            One sentence per violated rule (fractions, capacities, PI caps, group caps,
            resource limits, bundles, group shares, nationality-blind calls); empty when the result is
            feasible.
        """
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
                pi_awards.setdefault(r.pi_id, set()).add(award_key(r))
                pi_amount[r.pi_id] = pi_amount.get(r.pi_id, 0.0) + f * r.total_demand
        pi_count = {pi: len(keys) for pi, keys in pi_awards.items()}
        whole = {p.id for p in problem.pools if p.whole}
        for rid, per_pool in self.amounts.items():
            for pid, a in per_pool.items():
                if pid in whole and abs(a - round(a)) > _TOL:
                    errors.append(f"request {rid}: {a:.6g} on {pid} is not a whole number")
        for pid, used in usage.items():
            if used > cap[pid] + _TOL * max(1.0, cap[pid]):
                errors.append(f"pool {pid} overdrawn: {used:.6g} > {cap[pid]:.6g}")
        for sc in problem.shared:
            taken = sum(self.fractions.get(rid, 0.0) * d for rid, d in sc.demand.items())
            if taken > sc.capacity + _TOL * max(1.0, sc.capacity):
                errors.append(f"shared capacity {sc.id} overdrawn: {taken:.6g} > {sc.capacity:.6g}")
        for p in problem.pools:
            if p.changeover > 0:
                k = sum(1 for (_prop, q), a in proposal_pool.items() if q == p.id and a > _TOL)
                need = usage[p.id] + p.changeover * max(k - 1, 0)
                if need > p.changeover_room + _TOL * max(1.0, p.changeover_room):
                    errors.append(
                        f"pool {p.id}: {usage[p.id]:.6g} awarded to {k} proposals and "
                        f"{p.changeover:.6g} between each two exceed its room "
                        f"{p.changeover_room:.6g}"
                    )
        if policy.max_awards_per_pi is not None:
            for pi, n in pi_count.items():
                if n + policy.awards_held_by_pi.get(pi, 0) > policy.max_awards_per_pi:
                    errors.append(f"PI {pi}: {n} awards > cap {policy.max_awards_per_pi}")
        if policy.max_amount_per_pi is not None:
            for pi, amount in pi_amount.items():
                amount += policy.amount_held(pi) if amount > _TOL else 0.0
                if over_cap(amount, policy.max_amount_per_pi):
                    errors.append(f"PI {pi}: amount {amount:.6g} > cap {policy.max_amount_per_pi}")
        for (pi, pid), amount in pi_pool.items():
            amount += policy.amount_held(pi, pid) if amount > _TOL else 0.0
            pmax = policy.max_amount_per_pi_by_pool.get(pid)
            if pmax is not None and over_cap(amount, pmax):
                errors.append(f"PI {pi}: {amount:.6g} of pool {pid} > cap {pmax}")
        for (prop, pid), amount in proposal_pool.items():
            lim = policy.resource_limits.get(pid)
            if lim is not None and lim.max_per_proposal is not None:
                if over_cap(amount, lim.max_per_proposal):
                    errors.append(
                        f"proposal {prop}: {amount:.6g} of pool {pid} > limit "
                        f"{lim.max_per_proposal}"
                    )
        for (prop, bkey), members in problem.bundles.items():
            fs = [self.fractions.get(problem.requests[j].id, 0.0) for j in members]
            if any(f > _TOL for f in fs) and not all(f >= 1 - _TOL for f in fs):
                errors.append(f"proposal {prop}: bundle {bkey!r} split ({fs})")
        errors.extend(cap_errors(problem, self.fractions, self.amounts))
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
# Allocation
# --------------------------------------------------------------------------------------------


def _real(value: object) -> bool:
    """Whether ``value`` is a real number (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def _number(what: str, name: str, value: object) -> None:
    """Raise ``ProblemError`` naming the field unless ``value`` is a real number (a merit of
    "5" or None crashed in ``math.isfinite``, naming nothing)."""
    if not _real(value):
        raise ProblemError(f"{what}: {name} must be a number, got {value!r}")


def _oriented(problem: AllocationProblem, merit: float) -> float:
    return merit if problem.merit_higher_is_better else -merit


def _meets_threshold(problem: AllocationProblem, r: Request) -> bool:
    thr = problem.policy.quality_threshold
    if thr is None:
        return True
    return _oriented(problem, r.merit) >= _oriented(problem, thr) - 1e-12


def _is_candidate(r: Request, problem: AllocationProblem) -> bool:
    return r.eligible and r.feasible and _meets_threshold(problem, r)


def award_key(r: Request) -> str:
    """What the cap of awards per PI counts as one award: a request, or a proposal's
    bundle once. The allocation's ``check`` and :func:`offer_blocker` count by it."""
    return f"{r.proposal_id}\x00{r.bundle}" if r.bundle is not None else r.id


def over_cap(amount: float, cap: float) -> bool:
    """Whether ``amount`` goes over ``cap`` beyond the result's tolerance (the rule of the
    allocation's ``check`` and of :func:`offer_blocker`)."""
    return amount > cap * (1 + _TOL) + _TOL


def offer_blocker(
    problem: AllocationProblem,
    held: Mapping[str, Mapping[str, float]],
    proposal_id: str,
) -> str | None:
    """Why the stated policy keeps ``proposal_id``'s whole award out beside the awards
    ``held`` now ({proposal id: {pool id: amount}}, the candidate's own left out: the
    whole award replaces it): an offer of freed capacity to the next in line (a decline)
    follows the policy the allocation followed. The explanation code of the first rule it
    breaks, or None:

    - a request of it not eligible or graded below ``quality_threshold``
      (``NOT_ELIGIBLE``, ``BELOW_QUALITY_THRESHOLD``);
    - its PI's cap of awards, of amount or of a pool's amount, counting what the PI holds
      now and in the call's earlier batches (``policy.awards_held_by_pi``,
      ``amount_held_by_pi``) as ``check`` counts it (``PI_CAP_REACHED``; trialpolicy23);
    - a pool's ``max_per_proposal`` below its whole award, or the pool's ``max_total``
      that the awards held and it would go over (``NOT_AWARDED_RESOURCE_LIMIT``);
    - a group of it whose cap of awards (proposals awarded) or of amount it would go over
      (``GROUP_CAP_REACHED``);
    - a group share rule it does not count toward (outside the group, or graded below the
      rule's ``min_quality``) whose group holds less than its target while members not
      awarded could take what it lacks: the capacity those members could take, up to the
      target, is reserved (``GROUP_SHARE_RESERVED``; the rule's pools' capacity, less the
      awards held, is what is free).

    Capacity and feasibility are the caller's checks (a request kept out of the run by
    the TAC chair's reserve band reads infeasible, and is the one an offer is for); a
    proposal the problem does not hold is ``NOT_ELIGIBLE``."""
    return offer_blockers(problem, held, (proposal_id,)).get(proposal_id)


def offer_blockers(
    problem: AllocationProblem,
    held: Mapping[str, Mapping[str, float]],
    proposal_ids: Iterable[str],
) -> dict[str, str]:
    """:func:`offer_blocker` of each of ``proposal_ids`` (each with the others' awards
    ``held``, its own left out), the problem and the awards read once: {proposal id: its
    code}, the proposals the policy allows left out."""
    wanted = list(proposal_ids)
    ctx = _OfferContext(problem, held)
    out: dict[str, str] = {}
    for proposal_id in wanted:
        why = ctx.blocker(proposal_id)
        if why is not None:
            out[proposal_id] = why
    return out


class _OfferContext:
    """The awards ``held`` summed once per rule (PI, pool, group, share) for
    :func:`offer_blockers`."""

    def __init__(self, problem: AllocationProblem, held: Mapping[str, Mapping[str, float]]):
        self.problem = problem
        self.held = held
        policy = problem.policy
        self.mine: dict[str, list[Request]] = {}
        for r in problem.requests:
            self.mine.setdefault(r.proposal_id, []).append(r)
        self.awarded = {q for q, amounts in held.items() if any(amounts.values())}
        # per PI: the award keys and amounts of the proposals held
        self.pi_keys: dict[str, set[str]] = {}
        self.pi_amount: dict[str, float] = {}
        self.pi_pool: dict[tuple[str, str], float] = {}
        self.total: dict[str, float] = {}
        for q in self.awarded:
            for pid, a in held[q].items():
                self.total[pid] = self.total.get(pid, 0.0) + a
            requests = self.mine.get(q, [])
            if not requests:
                continue
            pi = requests[0].pi_id
            self.pi_keys.setdefault(pi, set()).update(self.keys_held(q))
            for pid, a in held[q].items():
                self.pi_amount[pi] = self.pi_amount.get(pi, 0.0) + a
                self.pi_pool[(pi, pid)] = self.pi_pool.get((pi, pid), 0.0) + a
        # each cap's groups, with the awards and amount each holds
        self.caps = []
        for cap in policy.group_caps:
            pools = cap_pools(problem, cap)
            sums = {}
            for name, members in cap_members(problem, cap):
                inside = self.awarded & members
                has = sum(held[q].get(pid, 0.0) for q in inside for pid in pools)
                sums[name] = (members, len(inside), has)
            self.caps.append((cap, pools, sums))
        self.shares = [self._share(rule) for rule in policy.group_share_rules]

    def keys_held(self, q: str) -> set[str]:
        """The award keys of proposal ``q``'s requests on the pools it holds some of."""
        amounts = self.held.get(q, {})
        return {
            award_key(r)
            for r in self.mine.get(q, [])
            if any(amounts.get(pid, 0.0) > 0 for pid in r.demand)
        }

    def own(self, q: str, pools: Iterable[str]) -> float:
        amounts = self.held.get(q, {})
        return sum(amounts.get(pid, 0.0) for pid in pools)

    def _counts(self, rule: GroupShareRule, q: str) -> bool:
        """Whether proposal ``q`` counts toward the share of ``rule``."""
        members = {g.name: g for g in self.problem.groups}[rule.group].proposal_ids
        return q in members and all(
            _meets(self.problem, r.merit, rule.min_quality) for r in self.mine.get(q, [])
        )

    def _share(self, rule: GroupShareRule) -> tuple[GroupShareRule, tuple[str, ...], float, float]:
        """(rule, its pools, the capacity free on them, the amount reserved for its group)."""
        problem = self.problem
        pools = problem.rule_pools(rule)
        capacity = sum(problem.effective_capacity(pid) for pid in pools)
        free = capacity - sum(self.total.get(pid, 0.0) for pid in pools)
        target = rule.min_share * capacity
        has = sum(self.own(q, pools) for q in self.awarded if self._counts(rule, q))
        # what the group's members not awarded could take of what is free
        could = 0.0
        for q, requests in self.mine.items():
            if q in self.awarded or not self._counts(rule, q):
                continue
            if not all(r.eligible and _meets_threshold(problem, r) for r in requests):
                continue
            want = sum(r.demand.get(pid, 0.0) for r in requests for pid in pools)
            if 0 < want <= free * (1 + _TOL) + _TOL:
                could += want
        reserved = max(0.0, min(target, has + could) - has)
        return rule, pools, free, reserved

    def blocker(self, proposal_id: str) -> str | None:
        problem, policy = self.problem, self.problem.policy
        mine = self.mine.get(proposal_id, [])
        if not mine:
            return NOT_ELIGIBLE
        for r in mine:
            if not r.eligible:
                return NOT_ELIGIBLE
            if not _meets_threshold(problem, r):
                return BELOW_QUALITY_THRESHOLD
        own = self.held.get(proposal_id, {}) if proposal_id in self.awarded else {}
        want: dict[str, float] = {}
        for r in mine:
            for pid, d in r.demand.items():
                want[pid] = want.get(pid, 0.0) + d
        if self._pi_blocks(mine, proposal_id, own, want):
            return PI_CAP_REACHED
        for pid, lim in policy.resource_limits.items():
            if lim.max_per_proposal is not None and over_cap(
                want.get(pid, 0.0), lim.max_per_proposal
            ):
                return NOT_AWARDED_RESOURCE_LIMIT
            if lim.max_total is not None and want.get(pid, 0.0) > 0:
                after = self.total.get(pid, 0.0) - own.get(pid, 0.0) + want[pid]
                if over_cap(after, lim.max_total):
                    return NOT_AWARDED_RESOURCE_LIMIT
        mine_in = proposal_id in self.awarded
        for cap, pools, sums in self.caps:
            more = sum(want.get(pid, 0.0) for pid in pools)
            for members, n, has in sums.values():
                if proposal_id not in members:
                    continue
                if mine_in:  # its own award is replaced by the whole one
                    n -= 1
                    has -= self.own(proposal_id, pools)
                if cap.max_awards is not None and n + 1 > cap.max_awards:
                    return GROUP_CAP_REACHED
                if cap.max_amount is not None and over_cap(has + more, cap.max_amount):
                    return GROUP_CAP_REACHED
        for rule, pools, free, reserved in self.shares:
            if reserved <= 0 or self._counts(rule, proposal_id):
                continue
            more = sum(want.get(pid, 0.0) for pid in pools) - self.own(proposal_id, pools)
            if more > 0 and over_cap(more, free - reserved):
                return GROUP_SHARE_RESERVED
        return None

    def _pi_blocks(
        self,
        mine: list[Request],
        proposal_id: str,
        own: Mapping[str, float],
        want: Mapping[str, float],
    ) -> bool:
        """Whether the whole award takes its PI over a cap of ``policy`` (as ``check``)."""
        policy = self.problem.policy
        pi = mine[0].pi_id
        if policy.max_awards_per_pi is not None:
            keys = set(self.pi_keys.get(pi, set()))
            if own:
                keys -= self.keys_held(proposal_id)
            keys |= {award_key(r) for r in mine}
            if len(keys) + policy.awards_held_by_pi.get(pi, 0) > policy.max_awards_per_pi:
                return True
        if policy.max_amount_per_pi is not None:
            amount = self.pi_amount.get(pi, 0.0) - sum(own.values()) + sum(want.values())
            if over_cap(amount + policy.amount_held(pi), policy.max_amount_per_pi):
                return True
        for pid, pmax in policy.max_amount_per_pi_by_pool.items():
            if want.get(pid, 0.0) <= 0:
                continue
            amount = self.pi_pool.get((pi, pid), 0.0) - own.get(pid, 0.0) + want[pid]
            if over_cap(amount + policy.amount_held(pi, pid), pmax):
                return True
        return False


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


def seeded_rank(
    problem: AllocationProblem, seed: int, among: AbstractSet[int] | None = None
) -> list[int]:
    """Rank the requests best first.

    Parameters
    ----------
    problem : AllocationProblem
        The problem whose requests are ranked.
    seed : int
        Seed of the tie-break (``opencall.optim.ties``): ties fall by a digest of the seed
        and each request's id, never by its position in ``problem.requests``.
    among : set of int, optional
        Rank only these request indices (the others neither take a place nor move one).

    Returns
    -------
    list of int
        Request indices, by oriented merit descending, ties by the seeded order of the ids; then,
        within each proposal, its requests of equal merit take the places its requests hold
        in the applicant's order (``Request.preference``, lower first), so that the
        preference never moves one proposal before another.
    """
    n = len(problem.requests)
    reqs = problem.requests
    tie = tie_ranks([r.id for r in reqs], seed)
    order = sorted(
        range(n) if among is None else sorted(among),
        key=lambda i: (-_oriented(problem, reqs[i].merit), int(tie[i])),
    )
    places: dict[str, list[int]] = {}
    for k, i in enumerate(order):
        places.setdefault(reqs[i].proposal_id, []).append(k)
    for ks in places.values():
        if len(ks) > 1:
            members = sorted(
                (order[k] for k in ks),
                key=lambda i: (-_oriented(problem, reqs[i].merit), reqs[i].preference, int(tie[i])),
            )
            for k, i in zip(ks, members, strict=True):
                order[k] = i
    return order


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
    itself never depends on sky geometry).

    Parameters
    ----------
    ra_deg, dec_deg : array_like
        Target coordinates in degrees, one entry per target.
    hours : array_like
        Hours asked for each target (broadcast against ``ra_deg``).
    n_bins : int, optional
        Number of equal LST bins over the sidereal day.
    max_zenith_deg : float, optional
        The telescope's zenith-angle limit; a target is observable while inside it.

    Returns
    -------
    numpy.ndarray
        Hours per LST bin, length ``n_bins``, summed over the targets.
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
