"""Allocation of capacity pools to ranked requests: an integer program solved with HiGHS.

Every facility kind uses this one model: FAST hours split over LST-range pools, berths and
dives per cruise leg, milligrams per lunar-sample type, seats per course session. A request
asks for a *demand vector* (amount per pool for the full award); the programme chooses, for
each request, an awarded fraction ``f`` that is either 0 or lies in ``[min_fraction, 1]``
(``min_fraction == 1`` means whole awards only).

Model (``y`` binary "awarded", ``f`` continuous fraction; when the effective minimum fraction
is 1 the two are the same binary column)::

    maximise   sum_i w_i * f_i                           (w_i >= 0, see "Objective weights")
    subject to sum_i d_ip * f_i <= C_p                    for every pool p
               min_i * y_i <= f_i <= y_i                  partial awards
               sum_{i of PI k} y_i <= max_awards_per_pi   PI cap (count), less the
                                 - held_k                 awards held from earlier rounds
               sum_{i of PI k} D_i * f_i <= max_amount    PI cap (amount)
               sum_{awards of group g} y <= max_awards    cap per country (count; ``caps``)
               sum_{i in group g} D_ig * f_i <= max_amt   cap per country (amount)
               sum_{i in group g} D_ig * f_i >= R_g       group share (soft, see below)

Objective weights
    Merit comes calibrated (higher is better) or as a grade where lower is better
    (``AllocationProblem.merit_higher_is_better``). It is oriented so that higher is better,
    then rescaled affinely over the candidate requests some award can hold to
    ``[merit_floor, 1 + merit_floor]`` (a positive-slope affine map keeps the ranking;
    calibrated scores may be negative, and a weight must stay positive for an award to be
    worth making). ``merit_floor`` sets how much the weakest such candidate is worth next to
    the strongest. A candidate no award can hold (its least award, with its bundle, alone
    passes a pool's capacity or room, a shared capacity, its proposal's or PI's limit, or
    its PI may take no more awards) weighs 0 and takes no place in the tie-break below, so
    adding it changes no one else's award (trialopt24b). With ``objective="merit_x_amount"``
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
    Requests are ranked by oriented merit, ties broken by the seeded order of their ids
    (``opencall.optim.ties.tie_ranks``: a digest of ``seed`` and ``Request.id``, never the
    request's position in the input, so that shuffling the requests leaves the decision as
    it was). The same order adds a tiny relative
    perturbation (at most ``1e-7``) to the weights so that, between otherwise equal solutions,
    the solver prefers the request earlier in that order. This tie-break is exact whenever the
    solve is proven optimal to better than the perturbation (small instances); on large
    instances stopped at a gap tolerance the choice between near-equal solutions is the
    solver's, still deterministic for a given seed. The seed is also passed to HiGHS as its
    ``random_seed``. Both backends prove optimality only to HiGHS's absolute gap (1e-6, which
    ``scipy.optimize.milp`` does not expose), so the weights are handed to the solver in
    units where one place in the seeded order between two tied requests is worth at least
    ten times that gap while the largest weight stays at most 1e6 (``n * largest / least
    weight <= 10^4``: some 900 requests at the default ``merit_floor``; beyond, the scale
    stops at 1e6 and ties may fall within the gap): at ``mip_rel_gap=0`` both backends then
    follow the tie-break (before, scipy awarded 30 identical requests for 15 places as the
    last 15 by index, whatever the seed). The model itself is built, and handed to the
    solver, with the requests in that seeded order, never the caller's: where several
    answers lie within the gap (identical requests, some of them partial), the one the
    solver stops at no longer follows the input order.

The package is pure: it reads frozen dataclasses and numpy arrays and returns a result with a
``check(problem)`` feasibility checker. It is split into ``model`` (inputs, outputs, the rules
that read them), ``mip`` (the generic MIP call, shared with logistics and slot placement),
``solve`` (the integer program and its phases) and ``explain`` (one explanation per request); every name is re-exported here, so
``from opencall.optim.allocation import ...`` is the import path to use.
"""

from __future__ import annotations

from opencall.optim.allocation.caps import GROUP_CAP_REACHED, GroupCap
from opencall.optim.allocation.explain import _explain, _explain_not_awarded, readable
from opencall.optim.allocation.mip import (
    MipSolution,
    _gap,
    _lp_rounding,
    _solve_scipy,
    improve_packing,
    rows_to_csr,
    solve_mip,
)
from opencall.optim.allocation.model import (
    _TIE_EPS,
    _TOL,
    AWARDED,
    AWARDED_BY_GROUP_SHARE,
    AWARDED_PARTIALLY,
    BELOW_QUALITY_THRESHOLD,
    EXPLANATION_CODES,
    GROUP_SHARE_RESERVED,
    NOT_AWARDED_BUNDLE,
    NOT_AWARDED_POOL_EXHAUSTED,
    NOT_AWARDED_RESOURCE_LIMIT,
    NOT_AWARDED_SOLVER_GAP,
    NOT_ELIGIBLE,
    NOT_FEASIBLE,
    PI_CAP_REACHED,
    AllocationPolicy,
    AllocationProblem,
    AllocationResult,
    Backend,
    Explanation,
    Group,
    GroupShareOutcome,
    GroupShareRule,
    PolicyError,
    Pool,
    ProblemError,
    Request,
    ResourceLimit,
    SharedCapacity,
    _bundle_blocker,
    _copy_mapping,
    _is_candidate,
    _meets,
    _meets_threshold,
    _min_fraction,
    _oriented,
    _per_proposal_limit_blocks,
    fast_lst_demands,
    offer_blocker,
    offer_blockers,
    seeded_rank,
)
from opencall.optim.allocation.solve import (
    _build,
    _clean,
    _group_amount,
    _Model,
    _result,
    solve_allocation,
)
from opencall.optim.arrays import FloatArray
from opencall.optim.highs import new_highs as _new_highs

__all__ = [
    "AWARDED",
    "AWARDED_BY_GROUP_SHARE",
    "AWARDED_PARTIALLY",
    "BELOW_QUALITY_THRESHOLD",
    "GROUP_SHARE_RESERVED",
    "EXPLANATION_CODES",
    "GROUP_CAP_REACHED",
    "NOT_AWARDED_BUNDLE",
    "NOT_AWARDED_POOL_EXHAUSTED",
    "NOT_AWARDED_RESOURCE_LIMIT",
    "NOT_AWARDED_SOLVER_GAP",
    "NOT_ELIGIBLE",
    "NOT_FEASIBLE",
    "PI_CAP_REACHED",
    "AllocationPolicy",
    "AllocationProblem",
    "AllocationResult",
    "Backend",
    "Explanation",
    "FloatArray",
    "Group",
    "GroupCap",
    "GroupShareOutcome",
    "GroupShareRule",
    "MipSolution",
    "PolicyError",
    "Pool",
    "ProblemError",
    "Request",
    "ResourceLimit",
    "SharedCapacity",
    "fast_lst_demands",
    "improve_packing",
    "offer_blocker",
    "offer_blockers",
    "readable",
    "rows_to_csr",
    "seeded_rank",
    "solve_allocation",
    "solve_mip",
    # private helpers, kept importable from the old module path
    "_TIE_EPS",
    "_TOL",
    "_Model",
    "_build",
    "_bundle_blocker",
    "_clean",
    "_copy_mapping",
    "_explain",
    "_explain_not_awarded",
    "_gap",
    "_group_amount",
    "_is_candidate",
    "_lp_rounding",
    "_meets",
    "_meets_threshold",
    "_min_fraction",
    "_new_highs",
    "_oriented",
    "_per_proposal_limit_blocks",
    "_result",
    "_solve_scipy",
]
