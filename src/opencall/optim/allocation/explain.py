"""Why each request got what it got: one ``Explanation`` per request, read best first."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from opencall.optim.allocation.caps import GROUP_CAP_REACHED, cap_reached, held
from opencall.optim.allocation.model import (
    _TOL,
    AWARDED,
    AWARDED_BY_GROUP_SHARE,
    AWARDED_PARTIALLY,
    BELOW_QUALITY_THRESHOLD,
    NOT_AWARDED_BUNDLE,
    NOT_AWARDED_POOL_EXHAUSTED,
    NOT_AWARDED_RESOURCE_LIMIT,
    NOT_AWARDED_SOLVER_GAP,
    NOT_ELIGIBLE,
    NOT_FEASIBLE,
    PI_CAP_REACHED,
    AllocationPolicy,
    AllocationProblem,
    Explanation,
    GroupShareOutcome,
    Request,
    _bundle_blocker,
    _is_candidate,
    _meets_threshold,
    _min_fraction,
    _per_proposal_limit_blocks,
    seeded_rank,
)

if TYPE_CHECKING:  # the built model is only named in a signature here
    from opencall.optim.allocation.solve import _Model


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
    # the proposals awarded of each pool with a changeover: one more needs its changeover too
    changeover = {p.id: p for p in problem.pools if p.changeover > 0}
    awarded_of: dict[str, set[str]] = {pid: set() for pid in changeover}
    for r in reqs:
        if fractions[r.id] > 0:
            for pid, d in r.demand.items():
                if pid in changeover and d > 0:
                    awarded_of[pid].add(r.proposal_id)
    # merit -> (proposal, pools used) of each awarded request: who a tie at the line went to
    # counted per merit and per (merit, proposal), so that each request left out reads its
    # tied pools in time proportional to the pools (the awarded requests of its merit were
    # walked for each: 10,000 tied requests left out beside 10,000 awarded took 10^8 steps)
    tied_by_merit: dict[float, dict[str, int]] = {}
    tied_own: dict[tuple[float, str], dict[str, int]] = {}
    for r in reqs:
        if fractions[r.id] > 0:
            for pid, d in r.demand.items():
                if d > 0:
                    every = tied_by_merit.setdefault(r.merit, {})
                    every[pid] = every.get(pid, 0) + 1
                    own = tied_own.setdefault((r.merit, r.proposal_id), {})
                    own[pid] = own.get(pid, 0) + 1

    def tied_pools(merit: float, proposal_id: str) -> set[str]:
        """Pools used by awarded requests of other proposals with this merit."""
        own = tied_own.get((merit, proposal_id), {})
        return {pid for pid, n in tied_by_merit.get(merit, {}).items() if n > own.get(pid, 0)}

    binding_groups = ", ".join(o.group for o in outcomes if o.binding)
    cap_state = held(problem, fractions) if policy.group_caps else None

    def cap_block(q: Request, least: float) -> tuple[str, tuple[str, ...]] | None:
        if cap_state is None:
            return None
        return cap_reached(problem, cap_state, q, least, readable)

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
                if d > 0 and used_total[pid] >= caps[pid] * (1 - _TOL)
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
                tied=tied_pools(r.merit, r.proposal_id),
                cap_block=cap_block,
            )
            if e.code == NOT_AWARDED_SOLVER_GAP:
                # room in the capacity, none once the changeovers are counted
                full = [
                    pid
                    for pid, d in whole.demand.items()
                    if pid in changeover
                    and d > 0
                    and used_total[pid]
                    + lo * d
                    + changeover[pid].changeover * len(awarded_of[pid] | {r.proposal_id})
                    > changeover[pid].changeover_room
                    + changeover[pid].changeover
                    + _TOL * max(1.0, changeover[pid].changeover_room)
                ]
                if full:
                    e = Explanation(
                        NOT_AWARDED_POOL_EXHAUSTED,
                        f"pool(s) {', '.join(full)} full once the changeover kept between "
                        "two proposals is counted",
                        tuple(full),
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
    """An amount as a person reads it.

    Parameters
    ----------
    x : float
        The amount, in any unit.

    Returns
    -------
    str
        At most two decimals, trailing zeros dropped, no rounding noise (``-5.684e-14`` is
        ``"0"``) and never a negative zero.
    """
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
    tied: AbstractSet[str] = frozenset(),
    cap_block: Callable[[Request, float], tuple[str, tuple[str, ...]] | None] | None = None,
) -> Explanation:
    """Why ``r`` got nothing; ``tied``: the pools used by awarded requests (of other
    proposals) whose merit equals ``r``'s; ``cap_block``: the cap per country (income
    group, region) that kept ``r`` out, if any (``caps.cap_reached``)."""
    k = policy.max_awards_per_pi
    earlier = policy.awards_held_by_pi.get(r.pi_id, 0)
    if k is not None and pi_count.get(r.pi_id, 0) + earlier >= k:
        return Explanation(PI_CAP_REACHED, f"the PI already holds {k} award(s), the cap")
    amax = policy.max_amount_per_pi
    # (with what the PI holds from earlier rounds of the call)
    holds = pi_amount.get(r.pi_id, 0.0) + policy.amount_held(r.pi_id)
    if amax is not None and holds + lo * r.total_demand > amax + _TOL:
        return Explanation(
            PI_CAP_REACHED,
            f"the PI already holds {readable(holds)} of the {readable(amax)} cap",
        )
    for pid, pmax in policy.max_amount_per_pi_by_pool.items():
        held = pi_pool.get((r.pi_id, pid), 0.0) + policy.amount_held(r.pi_id, pid)
        if r.demand.get(pid, 0.0) > 0 and held + lo * r.demand[pid] > pmax + _TOL:
            return Explanation(
                PI_CAP_REACHED,
                f"the PI already holds {held:.4g} of the cap of {pmax:.4g} {units[pid]} on {pid}",
                (pid,),
            )
    hit = cap_block(r, lo) if cap_block is not None else None
    if hit is not None:
        return Explanation(GROUP_CAP_REACHED, hit[0], hit[1])

    def short_of(used: Mapping[str, float]) -> list[str]:
        """The pools whose room (capacity less ``used``) is below the request's least
        share (``lo`` of its demand there), to within a tolerance relative to the demand
        (an absolute one called a pool of 1e-12 mg with nothing left "not exhausted")."""
        return [
            pid
            for pid, d in r.demand.items()
            if d > 0 and caps[pid] - used.get(pid, 0.0) < lo * d - _TOL * d
        ]

    whole_pool = short_of({})
    if whole_pool:
        # nothing could have made room: not "exhausted by higher-ranked requests"
        return Explanation(
            NOT_AWARDED_POOL_EXHAUSTED,
            f"the request asks for more than the whole capacity of {', '.join(whole_pool)}",
            tuple(whole_pool),
        )
    higher = short_of(used_higher)
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
    short = short_of(used_total)
    if short:
        # a rule that bound but pushed nobody in (no one of its group applied, say) made
        # no award, so it is not named
        rules = [
            o.group
            for o in outcomes
            if o.binding
            and o.achieved > o.merit_only_amount + _TOL * o.achieved
            and set(o.pools) & set(short)
        ]
        why = (
            f"awards made under the minimum share rule for {', '.join(rules)}"
            if rules
            else "requests whose merit equals this one's"
            if tied & set(short)
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
