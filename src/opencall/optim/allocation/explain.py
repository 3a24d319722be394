"""Why each request got what it got: one ``Explanation`` per request, read best first."""

from __future__ import annotations

import dataclasses
import math
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
from opencall.optim.messages import (
    M_,
    Message,
    composed,
    listing,
    number,
    render,
    share_group,
    unit,
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

    binding_groups = listing([share_group(o.group) for o in outcomes if o.binding])
    cap_state = held(problem, fractions) if policy.group_caps else None

    def cap_block(q: Request, least: float) -> tuple[Message, tuple[str, ...]] | None:
        if cap_state is None:
            return None
        return cap_reached(problem, cap_state, q, least, readable)

    # the capacities some requests share (same-time bundles' common instants, an
    # instrument's hours across its resources): what the awards take of each
    shared_used = {
        sc.id: sum(fractions[k] * d for k, d in sc.demand.items()) for sc in problem.shared
    }

    def shared_taken(ids: Sequence[str], lo: float) -> list[str]:
        """The shared capacities with no room left for the least award of ``ids``."""
        out = []
        for sc in problem.shared:
            d = sum(sc.demand.get(k, 0.0) for k in ids)
            if d > 0 and shared_used[sc.id] + lo * d > sc.capacity + _TOL * max(1.0, d):
                out.append(sc.id)
        return out

    out: dict[str, Explanation] = {}
    used_higher = {p.id: 0.0 for p in problem.pools}
    whole_pools = frozenset(p.id for p in problem.pools if p.whole)
    for i in seeded_rank(problem, seed):
        r = reqs[i]
        f = fractions[r.id]
        lo = _min_fraction(r, policy)
        members = problem.bundles[(r.proposal_id, r.bundle)] if r.bundle is not None else [i]
        in_bundle = (
            M_(
                "the all-or-nothing bundle %(key)s (%(n)s requests)",
                key=repr(r.bundle),
                n=len(members),
            )
            if r.bundle is not None
            else None
        )
        blocker = _bundle_blocker(problem, i) if _is_candidate(r, problem) else None
        limit_pool = _per_proposal_limit_blocks(problem, i) if _is_candidate(r, problem) else None
        if not r.eligible:
            out[r.id] = _said(NOT_ELIGIBLE, M_("the request did not pass the eligibility check"))
        elif not r.feasible:
            out[r.id] = _said(NOT_FEASIBLE, M_("not feasible: %(why)s", why=_infeasible(r)))
        elif not _meets_threshold(problem, r):
            merit, threshold = f"{r.merit:.4g}", str(policy.quality_threshold)
            out[r.id] = _said(
                BELOW_QUALITY_THRESHOLD,
                M_(
                    "merit %(merit)s is below the quality threshold %(threshold)s",
                    merit=merit,
                    threshold=threshold,
                )
                if problem.merit_higher_is_better
                else M_(
                    "merit %(merit)s is worse than the quality threshold %(threshold)s",
                    merit=merit,
                    threshold=threshold,
                ),
            )
        elif blocker is not None:
            other = reqs[blocker]
            why = (
                M_("is not eligible")
                if not other.eligible
                else M_(
                    "is not feasible (%(why)s)",
                    why=_infeasible(other)
                    if other.infeasible_reason or other.infeasible_message
                    else M_("technical review"),
                )
                if not other.feasible
                else M_("is below the quality threshold")
            )
            out[r.id] = _said(
                NOT_AWARDED_BUNDLE,
                M_(
                    "not awarded: %(bundle)s was dropped as a whole, because its request "
                    "%(other)s %(why)s",
                    bundle=in_bundle,
                    other=other.id,
                    why=why,
                ),
            )
        elif limit_pool is not None:
            lim = policy.resource_limits[limit_pool]
            out[r.id] = _said(
                NOT_AWARDED_RESOURCE_LIMIT,
                M_(
                    "not awarded: %(subject)s asks for more of %(pool)s than the limit of "
                    "%(limit)s %(unit)s per proposal",
                    subject=M_("%(bundle)s as a whole", bundle=in_bundle)
                    if in_bundle
                    else M_("the request"),
                    pool=limit_pool,
                    limit=number(f"{lim.max_per_proposal:.4g}"),
                    unit=unit(units[limit_pool]),
                ),
                (limit_pool,),
            )
        elif f > 0 and i in binding_members and f > f0.get(i, 0.0) + 1e-6:
            share = {"f": f"{f:.0%}", "groups": binding_groups, "f0": f"{f0.get(i, 0.0):.0%}"}
            out[r.id] = _said(
                AWARDED_BY_GROUP_SHARE,
                M_(
                    "awarded %(f)s because the minimum share rule for %(groups)s bound; "
                    "on merit alone it would have received %(f0)s; awarded in full with "
                    "%(bundle)s",
                    bundle=in_bundle,
                    **share,
                )
                if in_bundle
                else M_(
                    "awarded %(f)s because the minimum share rule for %(groups)s bound; "
                    "on merit alone it would have received %(f0)s",
                    **share,
                ),
            )
        elif f >= 1.0 - 1e-9:
            out[r.id] = _said(
                AWARDED,
                M_("awarded in full, as part of %(bundle)s: all of it or none", bundle=in_bundle)
                if in_bundle
                else M_("awarded in full"),
            )
        elif f > 0:
            short = [
                pid
                for pid, d in r.demand.items()
                if d > 0 and used_total[pid] >= caps[pid] * (1 - _TOL)
            ]
            part = {"f": f"{f:.1%}", "lo": f"{lo:.0%}"}
            out[r.id] = _said(
                AWARDED_PARTIALLY,
                M_(
                    "awarded %(f)s of the request (minimum %(lo)s); pool(s) %(pools)s full",
                    pools=listing(short),
                    **part,
                )
                if short
                else M_("awarded %(f)s of the request (minimum %(lo)s)", **part),
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
                _least_award(whole, lo, whole_pools),
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
                    e = _said(
                        NOT_AWARDED_POOL_EXHAUSTED,
                        M_(
                            "pool(s) %(pools)s full once the changeover kept between two "
                            "proposals is counted",
                            pools=listing(full),
                        ),
                        tuple(full),
                    )
            taken = shared_taken([reqs[j].id for j in members], lo)
            if e.code == NOT_AWARDED_SOLVER_GAP and taken:
                e = _said(
                    NOT_AWARDED_POOL_EXHAUSTED,
                    M_(
                        "capacity shared with other requests taken by the awards: %(names)s",
                        names=listing(taken),
                    ),
                )
            if in_bundle:
                e = _said(
                    e.code,
                    M_(
                        "%(bundle)s was not awarded as a whole (all or nothing): %(detail)s",
                        bundle=in_bundle,
                        detail=e.message,
                    ),
                    e.pools,
                )
            out[r.id] = e
        for pid, d in r.demand.items():
            used_higher[pid] += f * d
    return out


def _said(code: str, msg: Message, pools: tuple[str, ...] = ()) -> Explanation:
    """An explanation whose sentence is ``msg``: its English rendering and the message."""
    return Explanation(code, render(msg), pools, msg)


def _infeasible(r: Request) -> Message | dict[str, str]:
    """Why a request is not feasible: the service's reason (its message where it gave one,
    else its English text), else the review that found it so."""
    if r.infeasible_message is not None:
        return r.infeasible_message
    return (
        composed(r.infeasible_reason)
        if r.infeasible_reason
        else M_("technical or suitability review")
    )


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


def _least_award(r: Request, lo: float, whole: AbstractSet[str]) -> float:
    """The least fraction ``r`` may be awarded: ``lo``, raised to the least one at which its
    part of every pool counted in whole units is whole (a request of 2 h of one pool and
    1 unit of a whole one, minimum 50 %, is awarded in full or not at all: judged at 50 %,
    it was said to fit a pool of 1 h, "capacity remained")."""
    ds = [d for pid, d in r.demand.items() if pid in whole and d > 0]
    if not ds or lo >= 1.0 or min(ds) > 10_000:  # beyond, a unit is below any tolerance
        return lo
    step = min(ds)
    for k in range(math.ceil(lo * step - 1e-9), int(round(step)) + 1):
        f = k / step
        if f >= lo - 1e-12 and all(abs(d * f - round(d * f)) <= 1e-9 for d in ds):
            return f
    return 1.0


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
    cap_block: Callable[[Request, float], tuple[Message, tuple[str, ...]] | None] | None = None,
) -> Explanation:
    """Why ``r`` got nothing; ``tied``: the pools used by awarded requests (of other
    proposals) whose merit equals ``r``'s; ``cap_block``: the cap per country (income
    group, region) that kept ``r`` out, if any (``caps.cap_reached``)."""
    k = policy.max_awards_per_pi
    earlier = policy.awards_held_by_pi.get(r.pi_id, 0)
    if k is not None and pi_count.get(r.pi_id, 0) + earlier >= k:
        return _said(PI_CAP_REACHED, M_("the PI already holds %(k)s award(s), the cap", k=k))
    amax = policy.max_amount_per_pi
    # (with what the PI holds from earlier rounds of the call)
    holds = pi_amount.get(r.pi_id, 0.0) + policy.amount_held(r.pi_id)
    if amax is not None and holds + lo * r.total_demand > amax + _TOL:
        return _said(
            PI_CAP_REACHED,
            M_(
                "the PI already holds %(amount)s of the %(cap)s cap",
                amount=readable(holds),
                cap=readable(amax),
            ),
        )
    for pid, pmax in policy.max_amount_per_pi_by_pool.items():
        held = pi_pool.get((r.pi_id, pid), 0.0) + policy.amount_held(r.pi_id, pid)
        if r.demand.get(pid, 0.0) > 0 and held + lo * r.demand[pid] > pmax + _TOL:
            return _said(
                PI_CAP_REACHED,
                M_(
                    "the PI already holds %(held)s of the cap of %(cap)s %(unit)s on %(pool)s",
                    held=number(f"{held:.4g}"),
                    cap=number(f"{pmax:.4g}"),
                    unit=unit(units[pid], f"{pmax:.4g}"),
                    pool=pid,
                ),
                (pid,),
            )
    hit = cap_block(r, lo) if cap_block is not None else None
    if hit is not None:
        return _said(GROUP_CAP_REACHED, hit[0], hit[1])

    def short_of(used: Mapping[str, float]) -> list[str]:
        """The pools whose room (capacity less ``used``) is below the request's least
        share (``lo`` of its demand there), to within round-off: 1e-9 of that share and
        1e-12 of the capacity, the repair's tolerance (an absolute one called a pool of
        1e-12 mg with nothing left "not exhausted"; 1e-6 of the demand called a request of
        5e8 h beside 5e8 - 2 h left "capacity remained")."""
        return [
            pid
            for pid, d in r.demand.items()
            if d > 0 and caps[pid] - used.get(pid, 0.0) < lo * d * (1 - 1e-9) - 1e-12 * caps[pid]
        ]

    whole_pool = short_of({})
    if whole_pool:
        # nothing could have made room: not "exhausted by higher-ranked requests"
        return _said(
            NOT_AWARDED_POOL_EXHAUSTED,
            M_(
                "the request asks for more than the whole capacity of %(pools)s",
                pools=listing(whole_pool),
            ),
            tuple(whole_pool),
        )
    higher = short_of(used_higher)
    if higher:
        names = [
            M_(
                "%(pool)s (%(left)s of %(cap)s %(unit)s left)",
                pool=pid,
                left=number(readable(caps[pid] - used_higher[pid])),
                cap=number(readable(caps[pid])),
                unit=unit(units[pid], readable(caps[pid])),
            )
            for pid in higher
        ]
        return _said(
            NOT_AWARDED_POOL_EXHAUSTED,
            M_("pool(s) exhausted by higher-ranked requests: %(names)s", names=listing(names)),
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
            M_(
                "awards made under the minimum share rule for %(rules)s",
                rules=listing([share_group(g) for g in rules]),
            )
            if rules
            else M_("requests whose merit equals this one's")
            if tied & set(short)
            else M_("lower-ranked requests that fit the remaining capacity better")
        )
        return _said(
            NOT_AWARDED_POOL_EXHAUSTED,
            M_(
                "pool(s) %(pools)s exhausted by the best combination of awards, including %(why)s",
                pools=listing(short),
                why=why,
            ),
            tuple(short),
        )
    return _said(
        NOT_AWARDED_SOLVER_GAP,
        M_("capacity remained, but the solver stopped within its optimality-gap tolerance"),
    )
