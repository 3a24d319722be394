"""Experiment: whole-award FAST-like call (case a-whole) under HiGHS settings and formulations.

Usage:
    .venv/bin/python bench/exp_whole_award.py [LIMIT_S] [VARIANT,VARIANT,...]

One JSON line per variant (also appended to ``$OUT/whole_award.jsonl``, default bench/out).
Settings variants run ``solve_allocation`` as shipped with extra HiGHS options. Formulation
variants take the merit-only model (phase 0, the phase that is final on this instance, where
the share rule does not bind) and add rows that are valid for it before one ``solve_mip``
call with the shipped settings (LP-rounding warm start):

  windows   for every run of 2..4 consecutive LST pools, the sum of their capacity rows
            (implied rows; they give HiGHS's cover and MIR separators aggregated knapsacks)
  dominance x_j <= x_i whenever request i dominates j (weight at least as high, no more
            demand in any pool, and i's PI cap cannot be exceeded by swapping j for i); valid
            for some optimum, so the bound still bounds the optimum
  lp        no MIP: the LP bound and how many requests reduced-cost fixing would leave free
            at several gaps (the core a branch and bound must still search)

Variants that read LIMIT_S as a budget of CPU seconds (HiGHS is stopped by a callback once
the process has used that much CPU, so the figures do not depend on the machine's load):

  structure   what the candidate strengthenings of issue 15 item 4 have to work with: pairs
              of requests that cannot share a pool (the clique rows), identical requests
              (symmetry), the PI-cap groups, and the Lagrangian bound over the capacity rows
              at the LP duals with each PI's subproblem (its best feasible award set, a
              Dantzig-Wolfe pattern) solved exactly, next to the LP bound
  cpu         HiGHS on the shipped phase-0 model from the shipped warm start, with the bound
              and the incumbent recorded about every tenth of the budget
  cardinality decomposition by the number of awards k: the LP with sum x = k bounds every
              solution with k awards; the k whose LP bound exceeds BEST_KNOWN are each
              solved with the rows sum x = k and w x >= BEST_KNOWN, the budget split
              evenly; the optimum is at most max(BEST_KNOWN, the largest bound left)
  blocks      Lagrangian decomposition into 3 blocks of 8 consecutive LST pools: each
              request's weight is split among the blocks it touches (start: its LP dual
              cost in each block plus an equal share of its LP reduced cost); each block
              keeps its 8 capacity rows and the PI caps over its requests and is solved
              by HiGHS; the sum of the blocks' dual bounds bounds the optimum for any
              split; the split is improved by subgradient steps (Polyak, target
              BEST_KNOWN) until the budget is spent
  blocks12    the same with 2 blocks of 12 pools (fifth attempt)
  window_cg   fifth attempt: Lagrangian decomposition over all 24 cyclic windows of 4
              consecutive pools (each window a multi-row knapsack over the requests that
              touch it, with the PI caps among them), by column generation: master
              max w.x over the LP polytope with x_j <= sum_p lambda_Wp p_j in every window W
              holding j; pricing by HiGHS (gap 1e-4, 0.5 s; its dual bound is used, so the
              Lagrangian bound stays valid); duals smoothed towards the best point found
              (Wentges, alpha 0.8), started from the LP duals shared equally among the windows
  gurobi, cplex, cpsat  other solvers on the same phase-0 model (2 threads, LIMIT_S of
              wall): gurobipy and cplex (size-limited pip licences, scratch venv only, not a
              dependency; skipped when not importable), OR-Tools CP-SAT with demands in
              0.01 h, weights scaled by 1e5, the shipped warm start as a hint
  options     alloc3 session: HiGHS from the shipped start under each of ``OPTION_SETS``
              (pseudo-cost reliability, LP and cut-pool ageing, symmetry detection,
              restarts, presolve, heuristics, simulated concurrency), bound at the budget
  lns_start   alloc3 session: HiGHS for the budget from the shipped start and from the
              start improved by ``lns`` (for another budget): does a better incumbent
              move the bound?
  lns         the incumbent side: from the shipped warm start, free the requests of a random
              capacity row and of the 3 rows sharing most requests with it (about 4
              neighbouring LST pools), fix the rest, and solve that sub-MIP with HiGHS
              (2 s wall each); keep what improves, until the budget is spent
"""

from __future__ import annotations

import collections
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_allocation import make_problem  # noqa: E402
from opencall.optim.allocation import (  # noqa: E402
    AllocationProblem,
    _build,
    _Model,
    rows_to_csr,
    solve_allocation,
    solve_mip,
)

VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "threads16": {"threads": 16, "parallel": "on"},
    "threads16_noheur": {"threads": 16, "parallel": "on", "mip_heuristic_effort": 0.0},
    "threads16_sim": {"threads": 16, "parallel": "on", "mip_search_simulate_concurrency": True},
    "noheur": {"mip_heuristic_effort": 0.0},
}
FORMULATIONS = ("windows", "dominance", "lp")
CPU_VARIANTS = (
    "structure",
    "cpu",
    "cardinality",
    "blocks",
    "blocks12",
    "window_cg",
    "lns",
    "options",
    "lns_start",
)
# HiGHS settings of the ``options`` variant (alloc3 session), each from the shipped start
OPTION_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "pscost_minreliable=2": {"mip_pscost_minreliable": 2},
    "pscost_minreliable=16": {"mip_pscost_minreliable": 16},
    "lp_age_limit=30": {"mip_lp_age_limit": 30},
    "pool_soft_limit=50000": {"mip_pool_soft_limit": 50000, "mip_pool_age_limit": 60},
    "detect_symmetry=false": {"mip_detect_symmetry": False},
    "allow_restart=false": {"mip_allow_restart": False},
    "presolve=off": {"presolve": "off"},
    "heuristic_effort=0": {"mip_heuristic_effort": 0.0},
    "simulate_concurrency": {"mip_search_simulate_concurrency": True},
}
OTHER_SOLVERS = ("gurobi", "cplex", "cpsat")
# the best solution known for phase 0 of a-whole (every solver, long runs; bench/README.md)
BEST_KNOWN = 67.6872

Rows = list[tuple[dict[int, float], float, float]]


def window_rows(problem: AllocationProblem, model: _Model, longest: int = 4) -> Rows:
    pools = [p.id for p in problem.pools]
    cap = {p.id: problem.effective_capacity(p.id) for p in problem.pools}
    out: Rows = []
    for start in range(len(pools)):
        for length in range(2, longest + 1):
            window = {pools[(start + k) % len(pools)] for k in range(length)}
            terms: dict[int, float] = {}
            for i in model.cand:
                v = sum(d for pid, d in problem.requests[i].demand.items() if pid in window)
                if v > 0:
                    terms[model.f_col[i]] = terms.get(model.f_col[i], 0.0) + v
            out.append((terms, -math.inf, sum(cap[pid] for pid in window)))
    return out


def dominance_rows(problem: AllocationProblem, model: _Model) -> Rows:
    reqs = problem.requests
    cap = problem.policy.max_awards_per_pi
    per_pi = collections.Counter(r.pi_id for r in reqs)
    out: Rows = []
    for i in model.cand:
        for j in model.cand:
            ri, rj = reqs[i], reqs[j]
            if i == j or (model.weights[i], -i) <= (model.weights[j], -j):
                continue
            if not all(rj.demand.get(pid, 0.0) >= d for pid, d in ri.demand.items()):
                continue
            if cap is not None and per_pi[ri.pi_id] > cap and ri.pi_id != rj.pi_id:
                continue
            out.append(({model.f_col[j]: 1.0, model.f_col[i]: -1.0}, -math.inf, 0.0))
    return out


def formulation(name: str, limit: float) -> dict[str, Any]:
    problem = make_problem("a-whole")
    model = _build(problem, 0)
    n = model.n_cols
    rows: Rows = list(model.rows)
    t0 = time.perf_counter()
    if name == "lp":
        from scipy.optimize import linprog

        a, _, hi = rows_to_csr(rows, n)
        lp = linprog(-model.weights, A_ub=a, b_ub=hi, bounds=(0, 1), method="highs")
        duals = -np.asarray(lp.ineqlin.marginals)
        rc = model.weights - a.T @ duals
        free = {f"free_at_{g}": int((np.abs(rc) < g).sum()) for g in (1.0, 0.5, 0.3, 0.1)}
        return dict(variant=name, wall=time.perf_counter() - t0, lp_bound=-lp.fun, **free)
    extra = window_rows(problem, model) if name == "windows" else dominance_rows(problem, model)
    a, lo, hi = rows_to_csr(rows + extra, n)
    sol = solve_mip(
        model.weights,
        a,
        lo,
        hi,
        np.zeros(n),
        model.col_hi,
        model.integer,
        mip_rel_gap=0.0009,
        time_limit_s=limit,
        polish=True,
    )
    return dict(
        variant=name,
        limit=limit,
        extra_rows=len(extra),
        wall=time.perf_counter() - t0,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        status=sol.status,
    )


def _pass_binary_model(h: Any, a: Any, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Give HiGHS ``h`` the 0-1 program max ``c.x`` with ``lo <= a x <= hi`` (inf where
    a side is open)."""
    import highspy
    import scipy.sparse as sp

    n = int(c.shape[0])
    csc = sp.csc_matrix(a)
    csc.sort_indices()
    inf = highspy.kHighsInf
    h.passModel(
        n,
        int(a.shape[0]),
        int(csc.nnz),
        int(highspy.MatrixFormat.kColwise.value),
        int(highspy.ObjSense.kMaximize.value),
        0.0,
        np.ascontiguousarray(c, dtype=np.float64),
        np.zeros(n),
        np.ones(n),
        np.where(np.isfinite(lo), lo, -inf).astype(np.float64),
        np.where(np.isfinite(hi), hi, inf).astype(np.float64),
        csc.indptr.astype(np.int32),
        csc.indices.astype(np.int32),
        csc.data.astype(np.float64),
        np.ones(n, dtype=np.int32),
    )


def highs_cpu(
    c: np.ndarray,
    rows: Rows,
    cpu_budget: float,
    start: np.ndarray | None = None,
    samples: int = 10,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Maximise ``c.x`` over the binary ``rows`` with HiGHS until ``cpu_budget`` CPU s."""
    import highspy

    n = int(c.shape[0])
    a, lo, hi = rows_to_csr(rows, n)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0009)
    h.setOptionValue("time_limit", 3600.0)
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    _pass_binary_model(h, a, c, lo, hi)
    if start is not None:
        h.setSolution(n, np.arange(n, dtype=np.int32), np.asarray(start, dtype=np.float64))
    c0 = time.process_time()
    trajectory: list[tuple[float, float, float]] = []

    def callback(kind: Any, msg: Any, out: Any, into: Any, user: Any) -> None:
        used = time.process_time() - c0
        if used >= (len(trajectory) + 1) * cpu_budget / samples:
            trajectory.append((round(used, 2), out.mip_dual_bound, out.mip_primal_bound))
        if used > cpu_budget:
            into.user_interrupt = True

    h.setCallback(callback, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    w0 = time.perf_counter()
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    return dict(
        status=status,
        objective=float(c @ x) if x.size == n and status != "Infeasible" else None,
        bound=float(h.getInfo().mip_dual_bound),
        cpu_s=round(time.process_time() - c0, 2),
        wall_s=round(time.perf_counter() - w0, 2),
        trajectory=trajectory,
    )


def shipped_start(model: _Model) -> np.ndarray:
    """The warm start ``solve_mip(..., polish=True)`` builds for this model."""
    from opencall.optim.allocation.mip import MipModel, _lp_rounding, improve_packing

    n = model.n_cols
    a, lo, hi = rows_to_csr(model.rows, n)
    mip = MipModel(model.weights, a, lo, hi, np.zeros(n), model.col_hi, model.integer)
    x = _lp_rounding(mip, True, 0, 60.0, 1e-5)
    assert x is not None
    return improve_packing(model.weights, a, hi, x)


def blocks_variant(model: _Model, budget: float, size: int = 8) -> dict[str, Any]:
    import scipy.sparse as sp
    from scipy.optimize import linprog

    n = model.n_cols
    w = model.weights
    a0, lo, hi = rows_to_csr(model.rows, n)
    a = sp.csr_matrix(a0)
    lp = linprog(-w, A_ub=a, b_ub=hi, bounds=(0, 1), method="highs")
    u = -np.asarray(lp.ineqlin.marginals)
    caps = [k for k, (t, _, _) in enumerate(model.rows) if any(v != 1.0 for v in t.values())]
    pi_rows = [k for k in range(a.shape[0]) if k not in set(caps)]
    blocks = [caps[b0 : b0 + size] for b0 in range(0, len(caps), size)]
    touch = np.zeros((len(blocks), n), dtype=bool)
    dual_cost = np.zeros((len(blocks), n))
    for j, rows_j in enumerate(blocks):
        touch[j, np.unique(a[rows_j].indices)] = True
        dual_cost[j] = a[rows_j].T @ u[rows_j]
    count = touch.sum(axis=0)
    reduced = w - dual_cost.sum(axis=0)
    split = np.where(touch, dual_cost + reduced / np.maximum(count, 1), 0.0)
    c0 = time.process_time()
    best = math.inf
    history: list[tuple[float, float]] = []
    scale = 1.0
    it = 0
    while time.process_time() - c0 < budget:
        copies = np.zeros((len(blocks), n))
        total = 0.0
        for j, rows_j in enumerate(blocks):
            r = list(rows_j) + pi_rows
            # a copy with a non-positive weight is never taken in a packing problem
            use = touch[j] & (split[j] > 0)
            sub = solve_mip(
                np.where(use, split[j], 0.0),
                a[r],
                lo[r],
                hi[r],
                np.zeros(n),
                use.astype(np.float64),
                model.integer,
                mip_rel_gap=1e-5,
                time_limit_s=60.0,
            )
            copies[j] = np.round(sub.x) * touch[j]
            total += sub.bound
        best = min(best, total)
        history.append((round(time.process_time() - c0, 2), round(best, 4)))
        mean = copies.sum(axis=0) / np.maximum(count, 1)
        g = np.where(touch, copies - mean, 0.0)
        norm = float((g * g).sum())
        if norm == 0.0:
            break
        split = split - scale * (total - BEST_KNOWN) / norm * g
        it += 1
        if it % 10 == 0:
            scale *= 0.7
    return dict(
        variant="blocks" if size == 8 else f"blocks{size}",
        budget_cpu_s=budget,
        blocks=len(blocks),
        lp_bound=-float(lp.fun),
        bound=best,
        gap_to_best_known=(best - BEST_KNOWN) / BEST_KNOWN,
        iterations=it,
        history=history,
        cpu_s=round(time.process_time() - c0, 2),
    )


def cpu_variant(name: str, budget: float) -> dict[str, Any]:
    from scipy.optimize import linprog

    problem = make_problem("a-whole")
    model = _build(problem, 0)
    n = model.n_cols
    w = model.weights
    rows: Rows = list(model.rows)
    a, _, hi = rows_to_csr(rows, n)
    c0 = time.process_time()
    if name == "cpu":
        start = shipped_start(model)
        return dict(variant=name, start=float(w @ start), **highs_cpu(w, rows, budget, start))
    if name in ("blocks", "blocks12"):
        return blocks_variant(model, budget, 8 if name == "blocks" else 12)
    if name == "window_cg":
        return window_cg(model, budget)
    if name == "options":
        start = shipped_start(model)
        runs = {}
        for label, opts in OPTION_SETS.items():
            got = highs_cpu(w, rows, budget, start, options=opts)
            runs[label] = dict(bound=got["bound"], objective=got["objective"], cpu_s=got["cpu_s"])
        return dict(variant=name, budget_cpu_s=budget, start=float(w @ start), runs=runs)
    if name == "lns_start":
        # does a better incumbent help HiGHS's bound? The same CPU budget from the shipped
        # start and from the start improved by window LNS for another such budget
        shipped = shipped_start(model)
        better = cpu_variant("lns", budget)["x"]
        out = {}
        for label, start in (("shipped", shipped), ("lns", better)):
            got = highs_cpu(w, rows, budget, start)
            out[label] = dict(start=float(w @ start), bound=got["bound"], cpu_s=got["cpu_s"])
        return dict(variant=name, budget_cpu_s=budget, **out)
    if name == "lns":
        import scipy.sparse as sp

        x = shipped_start(model)
        start_value = float(w @ x)
        lo = np.full(a.shape[0], -math.inf)
        pattern = (sp.csr_matrix(a) != 0).astype(np.float64)
        overlap = (pattern @ pattern.T).toarray()
        csr = sp.csr_matrix(a)
        rng = np.random.default_rng(0)
        found: list[tuple[float, float]] = []
        rounds = 0
        while time.process_time() - c0 < budget:
            seed_row = int(rng.integers(a.shape[0]))
            near = np.argsort(-overlap[seed_row], kind="stable")[:4]
            free = np.zeros(n, dtype=bool)
            free[np.unique(csr[near].indices)] = True
            sub = solve_mip(
                w,
                csr,
                lo,
                hi,
                np.where(free, 0.0, x),
                np.where(free, 1.0, x),
                model.integer,
                mip_rel_gap=1e-6,
                time_limit_s=2.0,
                start=x,
            )
            rounds += 1
            if sub.status in ("optimal", "time_limit") and float(w @ sub.x) > float(w @ x) + 1e-9:
                x = np.round(sub.x)
                found.append((round(time.process_time() - c0, 2), round(float(w @ x), 4)))
        return dict(
            variant=name,
            budget_cpu_s=budget,
            start=start_value,
            objective=float(w @ x),
            rounds=rounds,
            improvements=found,
            cpu_s=round(time.process_time() - c0, 2),
            x=x,
        )
    if name == "structure":
        # the capacity rows are the ones with demands (the PI-cap rows count awards: all 1)
        caps = [k for k, (terms, _, _) in enumerate(rows) if any(v != 1.0 for v in terms.values())]
        dense = a.toarray()
        pair_conflicts = sum(
            int(((dense[r][:, None] + dense[r][None, :]) > hi[r] + 1e-9).sum() // 2) for r in caps
        )
        identical = n - len({tuple(np.round(dense[:, j], 6)) for j in range(n)})
        lp = linprog(-w, A_ub=a, b_ub=hi, bounds=(0, 1), method="highs")
        duals = -np.asarray(lp.ineqlin.marginals)
        # Lagrangian over the capacity rows at the LP duals: each PI's subproblem (at most
        # max_awards_per_pi of its requests) is solved exactly by taking its best positive
        # reduced costs; this is the Dantzig-Wolfe bound over per-PI patterns at those duals
        u = np.zeros(a.shape[0])
        u[caps] = duals[caps]
        reduced = w - a.T @ u
        k = problem.policy.max_awards_per_pi or n
        by_pi: dict[str, list[int]] = collections.defaultdict(list)
        for i in model.cand:
            by_pi[problem.requests[i].pi_id].append(model.f_col[i])
        lagrangian = float(u @ hi) + sum(
            float(np.sort(np.maximum(reduced[cols], 0.0))[::-1][:k].sum())
            for cols in by_pi.values()
        )
        return dict(
            variant=name,
            capacity_rows=len(caps),
            max_demand_in_a_pool=float(dense[caps].max()),
            pair_conflicts=pair_conflicts,
            identical_requests=identical,
            pis_over_cap=sum(1 for cols in by_pi.values() if len(cols) > k),
            lp_bound=-float(lp.fun),
            lagrangian_capacity_rows=lagrangian,
            lp_awards=float(lp.x.sum()),
            cpu_s=round(time.process_time() - c0, 2),
        )
    # cardinality
    live: list[tuple[int, float]] = []
    ones = np.ones((1, n))
    for k in range(n + 1):
        r = linprog(-w, A_ub=a, b_ub=hi, A_eq=ones, b_eq=[k], bounds=(0, 1), method="highs")
        if r.status == 0 and -r.fun > BEST_KNOWN:
            live.append((k, -float(r.fun)))
    per_k = []
    worst = BEST_KNOWN
    for k, ub in live:
        sub = rows + [
            ({j: 1.0 for j in range(n)}, float(k), float(k)),
            ({j: float(w[j]) for j in range(n)}, BEST_KNOWN, math.inf),
        ]
        out = highs_cpu(w, sub, budget / len(live), samples=1)
        bound = BEST_KNOWN if out["status"] == "Infeasible" else out["bound"]
        worst = max(worst, bound)
        per_k.append(dict(k=k, lp=round(ub, 4), status=out["status"], bound=round(bound, 4)))
    return dict(
        variant=name,
        budget_cpu_s=budget,
        live_k=[k for k, _ in live],
        bound=worst,
        gap_to_best_known=(worst - BEST_KNOWN) / BEST_KNOWN,
        cpu_s=round(time.process_time() - c0, 2),
        per_k=per_k,
    )


def _pool_rows(model: _Model) -> tuple[Any, np.ndarray, np.ndarray, list[int]]:
    """The phase-0 matrix, its upper bounds, the capacity rows in LST order, the PI rows."""
    import scipy.sparse as sp

    problem = make_problem("a-whole")
    a0, _, hi = rows_to_csr(model.rows, model.n_cols)
    a = sp.csr_matrix(a0)
    order = []
    for pool in problem.pools:
        terms = {model.f_col[i]: problem.requests[i].demand.get(pool.id, 0.0) for i in model.cand}
        for k, (t, _, _) in enumerate(model.rows):
            if (
                t
                and all(abs(terms.get(c, 0.0) - v) < 1e-9 for c, v in t.items())
                and any(v != 1.0 for v in t.values())
            ):
                order.append(k)
                break
    pis = [k for k in range(a.shape[0]) if k not in set(order)]
    return a, hi, np.asarray(order), pis


def window_cg(model: _Model, budget: float, length: int = 4, alpha: float = 0.8) -> dict[str, Any]:
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    w = model.weights
    n = model.n_cols
    a, hi, caps, pis = _pool_rows(model)
    cap_a = a[caps].toarray()
    cap = hi[caps]
    pi_a = a[pis].toarray()
    lp = linprog(-w, A_ub=a, b_ub=hi, bounds=(0, 1), method="highs")
    u = -np.asarray(lp.ineqlin.marginals)[caps]
    k_pools = len(caps)
    wins = [[(s + k) % k_pools for k in range(length)] for s in range(k_pools)]
    req = [np.flatnonzero((cap_a[win] > 0).any(axis=0)) for win in wins]
    offs = np.cumsum([0] + [len(r) for r in req])
    nlink = int(offs[-1])
    center = np.concatenate(
        [(u[win] @ cap_a[win][:, req[k]]) / length for k, win in enumerate(wins)]
    )
    inc = shipped_start(model)
    base = np.floor(lp.x + 1e-9)
    cols: list[list[np.ndarray]] = [[np.zeros(len(r)), inc[r], base[r]] for r in req]

    def price(mu: np.ndarray) -> tuple[float, list[np.ndarray]]:
        cx = w.copy()
        for k in range(len(wins)):
            np.subtract.at(cx, req[k], mu[offs[k] : offs[k + 1]])
        value = -float(linprog(-cx, A_ub=a, b_ub=hi, bounds=(0, 1), method="highs").fun)
        pats = []
        for k, win in enumerate(wins):
            rk, muk = req[k], mu[offs[k] : offs[k + 1]]
            pk = pi_a[:, rk]
            keep = (pk > 0).sum(axis=1) > 1
            cons = [LinearConstraint(cap_a[win][:, rk], -np.inf, cap[win])]
            if keep.any():
                cons.append(LinearConstraint(pk[keep], -np.inf, hi[pis][keep]))
            if not (muk > 1e-12).any():
                pats.append(np.zeros(len(rk)))
                continue
            sub = milp(
                -muk,
                constraints=cons,
                integrality=np.ones(len(rk)),
                bounds=Bounds(0, (muk > 1e-12).astype(float)),
                options=dict(mip_rel_gap=1e-4, time_limit=0.5),
            )
            pat = np.round(sub.x)
            pats.append(pat)
            value += max(float(muk @ pat), -float(sub.mip_dual_bound))
        return value, pats

    c0 = time.process_time()
    best, pats = price(center)
    history = [(round(time.process_time() - c0, 1), None, round(best, 4))]
    for k in range(len(wins)):
        cols[k].append(pats[k])
    while time.process_time() - c0 < budget:
        nl = sum(len(c) for c in cols)
        lr: list[int] = []
        lc: list[int] = []
        lv: list[float] = []
        off = n
        for k in range(len(wins)):
            pk = np.array(cols[k])
            for t, j in enumerate(req[k]):
                nz = np.flatnonzero(pk[:, t])
                lr += [int(offs[k]) + t] * (len(nz) + 1)
                lc += [int(j), *(off + nz)]
                lv += [1.0] + [-1.0] * len(nz)
            lr += [nlink + k] * len(pk)
            lc += list(range(off, off + len(pk)))
            lv += [1.0] * len(pk)
            off += len(pk)
        m = sp.vstack(
            [
                sp.hstack([a, sp.csr_matrix((a.shape[0], nl))]),
                sp.csr_matrix((lv, (lr, lc)), shape=(nlink + len(wins), n + nl)),
            ]
        ).tocsr()
        b = np.concatenate([hi, np.zeros(nlink), np.ones(len(wins))])
        res = linprog(
            np.concatenate([-w, np.zeros(nl)]),
            A_ub=m,
            b_ub=b,
            bounds=[(0, 1)] * n + [(0, None)] * nl,
            method="highs",
        )
        y = -np.asarray(res.ineqlin.marginals)
        mu_m = y[a.shape[0] : a.shape[0] + nlink]
        sig = y[a.shape[0] + nlink :]
        mu_s = alpha * center + (1 - alpha) * mu_m
        value, pats = price(mu_s)
        added = 0
        for k in range(len(wins)):
            if float(mu_m[offs[k] : offs[k + 1]] @ pats[k]) - sig[k] > 1e-7:
                cols[k].append(pats[k])
                added += 1
        if value < best:
            best, center = value, mu_s
        history.append(
            (round(time.process_time() - c0, 1), round(-float(res.fun), 4), round(best, 4))
        )
        if added == 0 or best + float(res.fun) < 1e-4:
            break
    return dict(
        variant="window_cg",
        window=length,
        budget_cpu_s=budget,
        lp_bound=-float(lp.fun),
        bound=best,
        iterations=len(history) - 1,
        history=history[:: max(1, len(history) // 12)] + history[-1:],
        cpu_s=round(time.process_time() - c0, 2),
    )


def other_solver(name: str, limit: float) -> dict[str, Any]:
    """Another solver on the phase-0 model, 2 threads, ``limit`` s of wall."""
    import resource

    import highspy
    import scipy.sparse as sp

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    model = _build(make_problem("a-whole"), 0)
    n = model.n_cols
    w = model.weights
    a, lo, hi = rows_to_csr(model.rows, n)
    a = sp.csr_matrix(a)
    c0, w0 = cpu(), time.perf_counter()
    if name == "cpsat":
        from ortools.sat.python import cp_model

        scale = 100000
        start = shipped_start(model)
        c0, w0 = cpu(), time.perf_counter()
        md = cp_model.CpModel()
        x = [md.NewBoolVar(f"x{j}") for j in range(n)]
        for r in range(a.shape[0]):
            s, e = a.indptr[r], a.indptr[r + 1]
            row = sum(int(round(a.data[k] * 100)) * x[a.indices[k]] for k in range(s, e))
            md.Add(row <= int(round(hi[r] * 100)))
        md.Maximize(sum(int(round(w[j] * scale)) * x[j] for j in range(n)))
        for j in range(n):
            md.AddHint(x[j], int(start[j]))
        sv = cp_model.CpSolver()
        sv.parameters.num_workers = 2
        sv.parameters.max_time_in_seconds = limit
        sv.parameters.linearization_level = 2
        sv.parameters.relative_gap_limit = 0.0009
        status = sv.StatusName(sv.Solve(md))
        obj, bound = sv.ObjectiveValue() / scale, sv.BestObjectiveBound() / scale
    else:
        mps = Path(os.environ.get("OUT", "bench/out")) / "a_whole_phase0.mps"
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        _pass_binary_model(h, a, w, lo, hi)
        h.writeModel(str(mps))
        c0, w0 = cpu(), time.perf_counter()
        if name == "gurobi":
            import gurobipy as gp

            g = gp.read(str(mps))
            g.Params.Threads, g.Params.TimeLimit, g.Params.MIPGap = 2, limit, 0.0009
            g.Params.OutputFlag = 0
            g.optimize()
            obj, bound, status = g.ObjVal, g.ObjBound, str(g.Status)
        else:
            import cplex

            c = cplex.Cplex(str(mps))
            c.set_log_stream(None)
            c.set_results_stream(None)
            c.set_warning_stream(None)
            c.parameters.threads.set(2)
            c.parameters.timelimit.set(limit)
            c.parameters.mip.tolerances.mipgap.set(0.0009)
            c.solve()
            obj = c.solution.get_objective_value()
            bound = c.solution.MIP.get_best_objective()
            status = c.solution.get_status_string()
    return dict(
        variant=name,
        limit=limit,
        wall=round(time.perf_counter() - w0, 2),
        cpu_s=round(cpu() - c0, 2),
        objective=obj,
        bound=bound,
        gap=(bound - obj) / obj,
        status=status,
    )


def settings(name: str, limit: float) -> dict[str, Any]:
    problem = make_problem("a-whole")
    t0 = time.perf_counter()
    res = solve_allocation(
        problem, mip_rel_gap=0.0009, time_limit_s=limit, highs_options=VARIANTS[name]
    )
    return dict(
        variant=name,
        limit=limit,
        wall=time.perf_counter() - t0,
        objective=res.objective,
        bound=res.bound,
        gap=res.mip_gap,
        status=res.status,
        phases=res.phases,
        check=len(res.check(problem)),
    )


def main() -> None:
    out = Path(os.environ.get("OUT", "bench/out")) / "whole_award.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    names = (
        sys.argv[2].split(",") if len(sys.argv) > 2 else [*VARIANTS, *FORMULATIONS, *CPU_VARIANTS]
    )
    for name in names:
        try:
            if name in CPU_VARIANTS:
                row = cpu_variant(name, limit)
            elif name in OTHER_SOLVERS:
                row = other_solver(name, limit)
            elif name in FORMULATIONS:
                row = formulation(name, limit)
            else:
                row = settings(name, limit)
        except Exception as exc:  # noqa: BLE001
            print(name, "error", exc, flush=True)
            continue
        row.pop("x", None)
        print(json.dumps(row), flush=True)
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
