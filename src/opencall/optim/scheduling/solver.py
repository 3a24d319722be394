"""The FAST block scheduler's driver: construction, local search, ruin and recreate,
the exact improvement where small, and the result (see the package's docstring)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from opencall.optim import limits, ties
from opencall.optim.messages import M_, Message
from opencall.optim.scheduling.exact import _cpsat_improve
from opencall.optim.scheduling.prepare import _prepare
from opencall.optim.scheduling.problem import (
    REASON_CROWDED_OUT,
    REASON_WORK_LIMIT,
    FastScheduleProblem,
    FastScheduleResult,
)
from opencall.optim.scheduling.result import _build_result
from opencall.optim.scheduling.search import (
    _default_iterations,
    _local_search,
    _place_fixed,
    _ruin_recreate,
    _score,
)
from opencall.optim.scheduling.sequence import _Seq

#: ``schedule_fast``'s default ``work_limit`` in array cells: about 17 times what the
#: demo's call needs (823 blocks over 120 days: 2.9e8 cells, 3.4 CPU s), 40-130 CPU s at
#: the measured 40-100 million cells a second; twice the demo's call (over-subscribed
#: twice) reaches it after 46 CPU s with the hours of the unlimited search (bench/README.md,
#: "The optimisers on instances nobody has seen, eleventh round (trialopt15)")
DEFAULT_WORK_LIMIT = 5 * 10**9


def schedule_fast(
    problem: FastScheduleProblem,
    seed: int = 0,
    *,
    restarts: int | None = None,
    local_search_passes: int = 3,
    exact: bool = True,
    exact_max_blocks: int = 40,
    exact_deterministic_time: float = 2.0,
    improve_iterations: int | None = None,
    work_limit: int | None = DEFAULT_WORK_LIMIT,
) -> FastScheduleResult:
    """Schedule FAST observing blocks; deterministic for a given ``seed``.

    ``restarts`` constructive orderings (two fixed, the rest seeded random tie-breaks
    within a priority; default 4 up to 600 blocks, else 2 -- on the benchmark instances
    the extra orderings never changed the result above 100 blocks) are each improved by
    local search and the best is kept.  ``improve_iterations`` ruin-and-recreate steps
    (default: about 1-2 s of work up to 600 blocks, little above; see
    ``_default_iterations``; 0 turns it off) then raise
    observed time without letting priority-weighted hours fall below the construction's.
    If the instance has at most ``exact_max_blocks`` visible flexible blocks, CP-SAT
    finally tries to improve it within ``exact_deterministic_time`` (deterministic
    seconds).

    Parameters
    ----------
    problem : FastScheduleProblem
        The window, the site, the blocks and the maintenance windows.
    seed : int, optional
        Seed of the random tie-breaks, the ruin and recreate moves and CP-SAT.
    restarts : int or None, optional
        Constructive orderings tried (default: 4 up to 600 blocks, else 2).
    local_search_passes : int, optional
        Passes of replace moves and fill insertions after each construction.
    exact : bool, optional
        Whether CP-SAT may improve a small instance.
    exact_max_blocks : int, optional
        The most visible flexible blocks for which CP-SAT is tried.
    exact_deterministic_time : float, optional
        CP-SAT's limit in deterministic seconds (single worker: reproducible).
    improve_iterations : int or None, optional
        Ruin and recreate steps (None: sized to the instance; 0: none).
    work_limit : int or None, optional
        The most work the search may do, in array cells evaluated (an insertion test
        costs its positions times the block's windows, a recompute or copy of the
        sequence its items, each step a fixed cost besides); None: no limit. Once
        reached, construction, local search and ruin and recreate stop, CP-SAT is not
        tried, and the best schedule found so far is returned, with
        ``stats.work_limit_reached`` set and the blocks whose turn never came unscheduled
        as ``work_limit_reached``. A count, not a clock: the answer is the same for a
        seed on any machine. The default (``DEFAULT_WORK_LIMIT``) is far above what
        the demo's call (823 blocks over 120 days) needs, and bounds ten times that.

    Returns
    -------
    FastScheduleResult
        The entries (a split block has several), the unscheduled blocks each with its
        reason and detail, the figures and the solver's statistics; ``check`` on it
        returns no violation.

    References
    ----------
    .. [1] Solomon, M. M. (1987). Algorithms for the vehicle routing and scheduling
       problems with time window constraints. *Operations Research* 35(2), 254-265
       (best insertion).
    .. [2] Savelsbergh, M. W. P. (1992). The vehicle routing problem with time windows:
       minimizing route duration. *ORSA Journal on Computing* 4(2), 146-154 (earliest
       and latest starts: constant-time insertion tests).
    .. [3] Schrimpf, G., Schneider, J., Stamm-Wilbrandt, H., Dueck, G. (2000). Record
       breaking optimization results using the ruin and recreate principle.
       *Journal of Computational Physics* 159(2), 139-171.
    .. [4] Perron, L., Furnon, V. OR-Tools (CP-SAT), Google,
       https://developers.google.com/optimization.
    """
    t_start = time.perf_counter()
    seed = limits.seed(seed)
    restarts = limits.optional_count("restarts", restarts, minimum=1)
    local_search_passes = limits.count("local_search_passes", local_search_passes)
    exact_max_blocks = limits.count("exact_max_blocks", exact_max_blocks)
    exact_deterministic_time = limits.non_negative(
        "exact_deterministic_time", exact_deterministic_time
    )
    improve_iterations = limits.optional_count("improve_iterations", improve_iterations)
    work_limit = limits.optional_count("work_limit", work_limit, minimum=1)
    problem.validate()
    given = problem
    problem = _canonical(problem, seed)
    prep = _prepare(problem)
    prep.work.limit = work_limit
    rng = np.random.default_rng(seed)
    if restarts is None:
        restarts = 4 if len(problem.blocks) <= 600 else 2
    fixed_reasons: dict[int, tuple[str, Message]] = {}
    base = _Seq(prep)
    _place_fixed(prep, base, fixed_reasons)
    base.recompute()
    cand = [i for i in prep.flexible if prep.win_lo[i].size or problem.blocks[i].splittable]
    window_total = np.array([float(np.sum(prep.win_hi[i] - prep.win_lo[i])) for i in range(prep.n)])
    orders: list[list[int]] = [
        sorted(cand, key=lambda i: (prep.prio[i], -prep.dur[i], i)),
        sorted(cand, key=lambda i: (prep.prio[i], window_total[i], -prep.dur[i], i)),
    ]
    for _ in range(max(0, restarts - 2)):
        key = rng.random(prep.n)
        orders.append(sorted(cand, key=lambda i: (prep.prio[i], key[i])))
    best: _Seq | None = None
    untried: list[int] = []  # the blocks of the kept ordering whose turn never came
    moves_total = 0
    for order in orders[: max(1, restarts)]:
        if best is not None and not prep.work.left():
            break
        seq = base.copy()
        reached = len(order)
        for k, i in enumerate(order):
            if not prep.work.left():
                reached = k
                break
            seq.place(i)
        moves_total += _local_search(seq, prep, local_search_passes)
        if best is None or _score(seq) > _score(best):
            best, untried = seq, order[reached:]
    assert best is not None
    n_vis = sum(1 for i in prep.flexible if prep.win_lo[i].size)
    bound = float(sum(prep.weight[i] for i in prep.flexible if prep.win_lo[i].size))
    bound += float(sum(prep.weight[i] for i in prep.fixed if i in best.placed))
    if improve_iterations is None:
        improve_iterations = _default_iterations(len(problem.blocks), n_vis)
    method = "insertion+local_search"
    if best.weighted_hours() < bound - 1e-9 and improve_iterations > 0 and prep.work.left():
        # (at the bound every placeable block is placed, so observed time is fixed too)
        best, lns_moves = _ruin_recreate(best, prep, rng, improve_iterations)
        moves_total += lns_moves
        method = "insertion+local_search+ruin_recreate"
    heuristic_wh = best.weighted_hours()
    exact_status = "not_run"
    exact_wall = 0.0
    has_split = any(problem.blocks[i].splittable for i in prep.flexible)
    if best.weighted_hours() >= bound - 1e-9:
        exact_status = "optimal_by_bound"  # every block that could be placed is placed
    elif exact and 0 < n_vis <= exact_max_blocks and not has_split and prep.work.left():
        te = time.perf_counter()
        improved, exact_status = _cpsat_improve(prep, best, seed, exact_deterministic_time)
        exact_wall = time.perf_counter() - te
        if improved is not None and _score(improved) >= _score(best):
            best = improved
            method += "+cp_sat"
    for i in untried:
        if i not in best.placed and prep.reason[i] == REASON_CROWDED_OUT:
            prep.reason[i] = REASON_WORK_LIMIT
            prep.detail[i] = M_("not tried: the scheduler's work limit was reached first")
    result = _build_result(
        prep,
        best,
        fixed_reasons,
        t_start,
        len(orders),
        heuristic_wh,
        exact_status,
        exact_wall,
        moves_total,
        method,
    )
    # the unscheduled blocks in the order they were given
    position = {b.id: k for k, b in enumerate(given.blocks)}
    stats = dataclasses.replace(
        result.stats,
        work_used=prep.work.used,
        work_limit=work_limit,
        work_limit_reached=prep.work.exhausted,
    )
    return dataclasses.replace(
        result,
        unscheduled=tuple(sorted(result.unscheduled, key=lambda u: position[u.block_id])),
        stats=stats,
    )


def _canonical(problem: FastScheduleProblem, seed: int) -> FastScheduleProblem:
    """``problem`` with its blocks in the seeded order of their ids
    (``opencall.optim.ties``) and its maintenance windows by time: the searches break ties
    between blocks of one priority and length by their index, so that the blocks given in
    another order were scheduled differently with the same seed (60 blocks over 2 days:
    201.67 against 203.08 priority-weighted hours)."""
    ranks = ties.tie_ranks([b.id for b in problem.blocks], seed)
    blocks = tuple(problem.blocks[i] for i in np.argsort(ranks, kind="stable"))
    maintenance = tuple(
        sorted(problem.maintenance, key=lambda m: (m.start_unix, m.end_unix, m.label))
    )
    return dataclasses.replace(problem, blocks=blocks, maintenance=maintenance)
