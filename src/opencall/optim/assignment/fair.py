"""Fair mode: max-min of the proposal sums (LP bound by column generation, MIPs on its
support), then the total given that minimum (Lagrangian bound over every allowed pair,
reduced-cost fixing). See the package docstring for the method.
"""

from __future__ import annotations

import math
import time

import numpy as np

from opencall.optim.arrays import BoolArray, FloatArray, IntArray
from opencall.optim.assignment.common import (
    _BLOCK_ENTRIES,
    NO_GROUPED_ASSIGNMENT,
    InfeasibleAssignment,
    _member,
    _merge,
    _mip_rows,
    _scaled,
    _State,
    _union,
    _uniq,
)
from opencall.optim.highs import new_highs

_RC_FIX_MAX_EDGES = 50_000  # largest restricted MIP tried for an exact fair total (see _fair)


_FAIR_TOTAL_MIP_S = 15.0  # time limit of each MIP that improves the fair total (see _fair)


def _fair(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    x0_p: IntArray,
    x0_r: IntArray,
    time_limit: float,
    max_rounds: int,
    mip_max_edges: int,
    total_bound: bool = True,
    lp_start: int | None = None,
) -> tuple[IntArray, IntArray, float, float, bool, float]:
    """Lexicographic max-min then max-total.

    Returns (p, r, ub_min, achieved_min, certified_min, ub_total): ``ub_total`` bounds the
    total (forced pairs excluded) of any assignment whose lowest proposal reaches
    ``achieved_min``, over every allowed pair (inf when its column generation did not
    converge). ``x0`` is the total-mode optimum. Values are in scaled units (the forced
    pairs' affinity is included per proposal).

    ``lp_start``: the total's LP starts from the max-min LP's support, ``x0``, the fair
    assignment and the ``lp_start`` best candidate edges of each proposal, and pricing over
    every allowed pair adds the rest (None: from every column of the max-min LP, i.e. every
    candidate edge). Either way its bound is taken over every allowed pair.
    """
    P, R = st.nm.P, st.nm.R
    fs = _scaled(st, st.oracle.pairs(st.forced_p, st.forced_r)) if len(st.forced_p) else None
    forced_aff = np.bincount(st.forced_p, weights=fs, minlength=P) if fs is not None else None
    base = np.zeros(P) if forced_aff is None else forced_aff.astype(np.float64)
    # LP relaxation with column generation over the full affinity: a valid bound for the min
    rounds = 0
    ub_tau = math.inf
    t0 = time.perf_counter()
    lp = _FairLP(st, base)
    lp.add(ep, er, es)
    keys = ep * R + er  # sorted (key order)
    while True:
        if not lp.solve():
            raise InfeasibleAssignment("fair LP relaxation infeasible")
        y_fair, y_cnt, y_load = lp.fair_duals()
        new_p, new_r, new_s, lag = _fair_price(st, keys, y_fair, y_cnt, y_load, base)
        ub_tau = min(ub_tau, lag)
        if len(new_p) == 0 or rounds >= max_rounds:
            break
        rounds += 1
        lp.add(new_p, new_r, new_s)
        keys = _union(keys, new_p * R + new_r)
    x_lp = lp.x()
    cp, cr, cs = lp.p, lp.r, lp.s
    # the Lagrangian bound is valid whether or not column generation converged
    lp_certified = math.isfinite(ub_tau)
    if not lp_certified:  # no fairness dual (degenerate): the LP's own value, uncertified
        ub_tau = lp.tau()
    st.timings["fair_lp_value"] = lp.tau() / st.scale
    st.timings["fair_lp_bound"] = ub_tau / st.scale
    st.timings["fair_lp"] = time.perf_counter() - t0
    st.timings["fair_lp_rounds"] = float(rounds)
    ub_int = math.floor(ub_tau + 1e-6)  # affinities are integers: so is the best minimum
    n = len(cp)
    x0 = _member(_uniq(x0_p * R + x0_r), cp * R + cr)
    # small graphs: MIPs over every candidate edge; large ones: over the support of the LP
    # optimum plus the total-mode optimum (the LP is integral but for a few hundred edges, and
    # the total-mode optimum adds room to round them)
    whole_graph = n <= mip_max_edges
    supp = np.ones(n, bool) if whole_graph else (x_lp > 1e-7) | x0
    t0 = time.perf_counter()
    idx = np.flatnonzero(supp)
    x: BoolArray | None = None
    ok1 = ok2 = False
    if not st.extra and int(x0.sum()) == len(x0_p):
        # the total-mode optimum (a certified flow, every diversity cap in it) reaching the
        # max-min bound is max-min optimal, and no assignment has a larger total at all: it
        # settles both stages (one proposal; fairness that does not bind). The MIPs took
        # 25 s of HiGHS for 1 proposal x 2,000 reviewers.
        low0 = float(np.min(np.bincount(cp[x0], weights=cs[x0], minlength=P) + base))
        if low0 >= ub_int:
            x, ok1, ok2 = x0, True, True
            st.timings["fair_stage1"] = 0.0
    if x is None and not whole_graph:
        # the LP bound is usually reached: then one MIP (max total with every proposal at the
        # bound) settles both stages, and reaching the bound certifies the first
        sel, got, ok2 = _fair_mip(
            st, cp[idx], cr[idx], cs[idx], base, float(ub_int), ub_int, time_limit
        )
        if sel is not None and got >= ub_int:
            x = np.zeros(n, bool)
            x[idx[sel]] = True
            ok1 = True
            st.timings["fair_stage1"] = 0.0
    if x is None:
        # stage 1: max-min on the support (whole graph when small, or when the support is too
        # narrow for the diversity caps)
        # (on every candidate edge, a model without solution is the problem's, said as in
        # total mode's MIP; it was reported as the time limit)
        sel1, tau, ok1 = _fair_mip(
            st,
            cp[idx],
            cr[idx],
            cs[idx],
            base,
            None,
            ub_int,
            time_limit,
            infeasible=NO_GROUPED_ASSIGNMENT if whole_graph else None,
        )
        if sel1 is None and not whole_graph:
            idx = np.arange(n)
            sel1, tau, ok1 = _fair_mip(
                st, cp, cr, cs, base, None, ub_int, time_limit, infeasible=NO_GROUPED_ASSIGNMENT
            )
        if sel1 is None:
            raise RuntimeError("fair stage 1 MIP found no solution within the time limit")
        st.timings["fair_stage1"] = time.perf_counter() - t0
        x1 = np.zeros(n, bool)
        x1[idx[sel1]] = True
        # stage 2: max total subject to every proposal >= tau, on the same edges (on the whole
        # graph while that stays cheap)
        t0 = time.perf_counter()
        idx2 = np.arange(n) if n <= 4 * mip_max_edges else np.flatnonzero(supp | x1)
        sel2, _, ok2 = _fair_mip(st, cp[idx2], cr[idx2], cs[idx2], base, tau, ub_int, time_limit)
        x = x1
        if sel2 is not None:
            x = np.zeros(n, bool)
            x[idx2[sel2]] = True
    st.timings["fair_stage2"] = time.perf_counter() - t0
    st.timings["fair_stage2_optimal_on_support"] = float(ok2)
    achieved = float(np.min(np.bincount(cp[x], weights=cs[x], minlength=P) + base))
    # exact when the LP bound is reached, or when the MIP was solved to optimality over a
    # candidate graph that holds every allowed pair (small instances)
    whole = bool((st.bound_s == np.iinfo(np.int64).min).all()) and whole_graph
    certified = lp_certified and (achieved >= ub_int or (whole and ok1))
    if whole and ok1:
        ub_int = math.floor(achieved)
    # the total given that minimum: an LP bound over every allowed pair (column generation),
    # and when the MIP above falls short of it, one more MIP over the LP's edges
    if not total_bound:  # the caller skips the total's bound (and its cost)
        return cp[x], cr[x], float(ub_int), achieved, certified, math.inf
    t0 = time.perf_counter()
    need = np.full(P, achieved)
    got_total = float(cs[x].sum())
    if lp_start is not None:
        # a new model for the total's LP on fewer columns (see _start_columns)
        on = x_lp > 1e-7
        keep = _uniq(np.concatenate([lp.p[on] * R + lp.r[on], cp[x] * R + cr[x], x0_p * R + x0_r]))
        cols = _start_columns(st, ep, er, es, keep, lp_start)
        cols = _merge(R, *cols, cp[x], cr[x], cs[x])
        lp = _FairLP(st, base)
        lp.add(*cols)
        st.timings["fair_total_lp_start_columns"] = float(len(lp.p))
    ub_total, conv, bp, br, bs, duals = _fair_total_bound(st, lp, base, need, max_rounds)
    st.timings["fair_total_bound"] = time.perf_counter() - t0
    st.timings["fair_total_lp_bound"] = ub_total / st.scale
    t0 = time.perf_counter()

    def improve(mp: IntArray, mr: IntArray, ms: IntArray, gap: float) -> bool:
        nonlocal cp, cr, cs, x, got_total
        mp, mr, ms = _merge(R, mp, mr, ms, cp[x], cr[x], cs[x])
        limit = min(time_limit, _FAIR_TOTAL_MIP_S)
        sel, got, ok = _fair_mip(st, mp, mr, ms, base, achieved, ub_int, limit, gap)
        if sel is None or got < achieved:
            return False
        if float(ms[sel].sum()) > got_total:
            cp, cr, cs = _merge(R, cp, cr, cs, mp, mr, ms)
            x = _member(_uniq(mp[sel] * R + mr[sel]), cp * R + cr)
            got_total = float(cs[x].sum())
        return ok

    total_exact = conv and got_total > ub_total - 1.0 + 1e-6
    if conv and not total_exact:
        # a better total on the LP's edges, then reduced-cost fixing: every assignment better
        # than that one uses only the pairs kept, so a MIP over them solved to optimality is
        # the optimum over every allowed pair
        improve(bp, br, bs, 1e-9)
        total_exact = got_total > ub_total - 1.0 + 1e-6
        thr = got_total + 1.0 - ub_total - 1e-6 * max(1.0, abs(ub_total))
        kept = None if total_exact else _rc_fixed_pairs(st, duals, thr, _RC_FIX_MAX_EDGES)
        if kept is not None:
            fk = _uniq(kept)
            fp, fr = fk // R, fk % R
            st.timings["fair_total_mip_edges"] = float(len(fk))
            total_exact = improve(fp, fr, _scaled(st, st.oracle.pairs(fp, fr)), 0.0)
    st.timings["fair_total_mip"] = time.perf_counter() - t0
    ub_tot = got_total if total_exact else ub_total
    return cp[x], cr[x], float(ub_int), achieved, certified, ub_tot if conv else math.inf


def _start_columns(
    st: _State, ep: IntArray, er: IntArray, es: IntArray, x0_keys: IntArray, per_p: int
) -> tuple[IntArray, IntArray, IntArray]:
    """The candidate edges in ``x0`` and the ``per_p`` candidate edges of highest affinity
    of each proposal, in key order: the first columns of the total's LP (``x0_keys``, the
    sorted unique keys ``p * R + r`` of ``x0``, holds the max-min LP's support and the
    total-mode optimum). Pricing over every allowed pair adds whatever else the LP needs;
    the columns change the speed, never the bound."""
    R = st.nm.R
    order = np.lexsort((-es, ep))
    ps = ep[order]
    rank = np.arange(len(order)) - np.searchsorted(ps, ps)
    keep = np.zeros(len(ep), bool)
    keep[order[rank < per_p]] = True
    keep |= _member(x0_keys, ep * R + er)
    return ep[keep], er[keep], es[keep]


class _FairLP:
    """One HiGHS model for both LPs of fair mode, kept across column-generation rounds and
    from the first LP to the second (each re-solve restarts primal simplex from the last
    optimal basis; the first solve of each LP is by interior point, with crossover).

    Rows: counts (= k), loads ([lo, hi]), and per proposal ``sum_r s_pr x_pr - tau >= -base_p``
    (diversity caps dropped: a relaxation). Column 0 is ``tau``, then one column per edge in
    the order added (``p``, ``r``, ``s``). First LP: maximise ``tau`` (the max-min bound).
    ``to_total(need)`` fixes ``tau = need`` and maximises the total instead (the LP behind
    the total's bound), on the same rows and columns.
    """

    def __init__(self, st: _State, base: FloatArray) -> None:
        import highspy

        self.P, self.R = P, R = st.nm.P, st.nm.R
        h = self.h = new_highs()
        h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        self.ok_status = highspy.HighsModelStatus.kOptimal
        # the fairness rows and both objectives in affinity units (costs / scale): with scaled
        # costs (up to 1e6) next to unit coefficients HiGHS's interior point took a quarter
        # more iterations (21 and 48 against 17 and 38 at 2000 x 1500); _y and tau() convert
        # back to scaled units. The unit is a million grid steps whatever the grid (with the
        # default grid, the affinity itself; ``common.cost_scale`` may change the grid)
        self.sc = sc = 1e6
        lower = np.concatenate([st.k, st.lo, -base / sc]).astype(np.float64)
        upper = np.concatenate([st.k, st.hi, np.full(P, inf)]).astype(np.float64)
        e32 = np.zeros(0, np.int32)
        h.addRows(len(lower), lower, upper, 0, e32, e32, np.zeros(0))
        fair_rows = (P + R + np.arange(P)).astype(np.int32)
        h.addCols(
            1,
            np.array([-1.0]),
            np.array([-inf]),
            np.array([inf]),
            P,
            np.zeros(1, np.int32),
            fair_rows,
            -np.ones(P),
        )
        z = np.zeros(0, np.int64)
        self.p, self.r, self.s = z, z, z
        self.total = False
        self.solved = False
        self.cold = False  # next solve from scratch (set when switched to the total LP)

    def add(self, p: IntArray, r: IntArray, s: IntArray) -> None:
        n = len(p)
        if n == 0:
            return
        idx = np.empty(3 * n, np.int32)
        idx[0::3] = p
        idx[1::3] = self.P + r
        idx[2::3] = self.P + self.R + p
        val = np.empty(3 * n)
        val[0::3] = 1.0
        val[1::3] = 1.0
        val[2::3] = s / self.sc
        starts = np.arange(0, 3 * n, 3, dtype=np.int32)
        cost = -s.astype(np.float64) / self.sc if self.total else np.zeros(n)
        self.h.addCols(n, cost, np.zeros(n), np.ones(n), 3 * n, starts, idx, val)
        self.p = np.concatenate([self.p, p])
        self.r = np.concatenate([self.r, r])
        self.s = np.concatenate([self.s, s])

    def solve(self) -> bool:
        """Solve; True if solved to optimality."""
        h = self.h
        if self.solved and self.cold:
            # the first total LP: interior point from scratch beats primal simplex from the
            # max-min LP's basis (2.9 s against 5.7 s CPU at 2000 x 1500)
            h.clearSolver()
            h.setOptionValue("solver", "ipm")
        elif self.solved:
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", 4)  # primal: the last basis stays feasible
        else:
            h.setOptionValue("solver", "ipm")
        h.run()
        self.solved = True
        self.cold = False
        return bool(h.getModelStatus() == self.ok_status)

    def _y(self) -> FloatArray:
        # duals of the model in scaled units: the fairness rows' are unchanged by dividing
        # both the rows and the objective by the scale, the others are multiplied by it
        y = np.asarray(self.h.getSolution().row_dual, np.float64).copy()
        y[: self.P + self.R] *= self.sc
        return y

    def tau(self) -> float:
        return float(self.h.getSolution().col_value[0]) * self.sc

    def x(self) -> FloatArray:
        return np.asarray(self.h.getSolution().col_value, np.float64)[1:]

    def fair_duals(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(y_fair, y_cnt, y_load) of the max-min LP, with the fairness rows' duals signed as
        for ``-s x + tau <= base`` (scipy's convention, <= 0)."""
        y, P, R = self._y(), self.P, self.R
        return -y[P + R :], y[:P], y[P : P + R]

    def to_total(self, need: float) -> None:
        n = len(self.s)
        self.h.changeColCost(0, 0.0)
        self.h.changeColBounds(0, need / self.sc, need / self.sc)
        cost = -self.s.astype(np.float64) / self.sc
        self.h.changeColsCost(n, np.arange(1, n + 1, dtype=np.int32), cost)
        self.total = True
        self.cold = True

    def total_duals(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Multipliers (mu >= 0 for the fairness rows, alpha for counts, gamma for loads) of
        the total LP: HiGHS's duals of min -s x (reduced cost -s - y_cnt - y_load - s y_fair)."""
        y, P, R = self._y(), self.P, self.R
        return np.maximum(y[P + R :], 0.0), -y[:P], -y[P : P + R]


def _fair_total_bound(
    st: _State,
    lp: _FairLP,
    base: FloatArray,
    need: FloatArray,
    max_rounds: int,
) -> tuple[
    float,
    bool,
    IntArray,
    IntArray,
    IntArray,
    tuple[FloatArray, FloatArray, FloatArray],
]:
    """Upper bound (scaled units, forced pairs excluded) on the total affinity of any
    assignment whose proposal sums are all at least ``need`` (one value for all; forced
    pairs' affinity ``base`` included), over every allowed pair.

    The LP relaxation (counts, loads, the fairness rows; diversity caps dropped, which only
    loosens it) is solved by column generation in the max-min LP's model ``lp`` (switched
    by ``to_total``: its columns kept; interior point, then warm-started primal simplex), priced over the full affinity by
    ``_screen``. For the LP's duals (alpha for counts, gamma for loads, mu >= 0 for the
    fairness rows) the bound is the explicit Lagrangian dual value

        sum_p alpha_p k_p - sum_p mu_p (need_p - base_p) + sum_r max(gamma_r hi_r, gamma_r lo_r)
        + sum over every allowed pair of max(0, s_pr (1 + mu_p) - alpha_p - gamma_r),

    valid for any multipliers with mu >= 0 (so it does not rest on the LP solver's accuracy);
    the last sum is taken over all pairs in each pass. Returns (bound, converged, the edges
    of the LP's optimal support, the final multipliers (mu, alpha, gamma)).
    """
    R = st.nm.R
    m = max(2, 4 * int(st.nm.k.max()))
    rounds = 0
    bound = math.inf
    converged = False
    lp.to_total(float(need.max()) if len(need) else 0.0)
    keys = _uniq(lp.p * R + lp.r)
    z = np.zeros(0)
    duals: tuple[FloatArray, FloatArray, FloatArray] = (z, z, z)
    while True:
        if not lp.solve():
            zi = np.zeros(0, np.int64)
            return math.inf, False, zi, zi, zi, (z, z, z)
        mu, alpha, gamma = duals = lp.total_duals()
        const = float(
            np.dot(alpha, st.k)
            - np.dot(mu, need - base)
            + np.maximum(gamma * st.hi, gamma * st.lo).sum()
        )
        # full pass: the bound for these duals, and the violators outside the LP's edges
        p, r, s, f, pos, _ = _screen(
            st, 1.0 + mu, -gamma, alpha, 0.0, keys, per_row=m, sum_positive=True
        )
        bound = const + pos
        new = f > 1e-6
        if not new.any():
            converged = True
            break
        if rounds >= max_rounds:
            break
        rounds += 1
        lp.add(p[new], r[new], s[new])
        keys = _union(keys, p[new] * R + r[new])
    st.timings["fair_total_bound_rounds"] = float(rounds)
    supp = lp.x() > 1e-7
    return bound, converged, lp.p[supp], lp.r[supp], lp.s[supp], duals


def _rc_fixed_pairs(
    st: _State, duals: tuple[FloatArray, FloatArray, FloatArray], thr: float, limit: int
) -> IntArray | None:
    """Keys of every allowed pair with reduced cost s (1 + mu_p) - alpha_p - gamma_r >= thr
    (the pairs reduced-cost fixing cannot exclude), or None if there are more than ``limit``.

    For any feasible x, total(x) <= bound - sum over its pairs of max(0, -rc) (the bound of
    ``_fair_total_bound`` for the same multipliers), so an assignment better than an
    incumbent by at least one cost unit uses only pairs with rc >= incumbent + 1 - bound.
    """
    mu, alpha, gamma = duals
    R = st.nm.R
    p, r, _s, _f, _pos, complete = _screen(
        st, 1.0 + mu, -gamma, alpha, thr, np.zeros(0, np.int64), None, limit=limit
    )
    return p * R + r if complete else None


def _fair_mip(
    st: _State,
    cp: IntArray,
    cr: IntArray,
    cs: IntArray,
    base: FloatArray,
    tau: float | None,
    ub_int: int,
    time_limit: float,
    gap: float = 1e-9,
    infeasible: str | None = None,
) -> tuple[BoolArray | None, float, bool]:
    """HiGHS MIP over the given edges: max-min (``tau`` None) or max total with every proposal
    at least ``tau``. Returns (chosen edges or None, achieved minimum, solved to optimality).
    With ``infeasible``, a model proven to have no solution raises ``InfeasibleAssignment``
    with that message (a max-min model, whose rows are the problem's own) instead of
    returning None, which then means the time limit."""
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, milp

    P = st.nm.P
    n = len(cp)
    mats, lbs, ubs = _mip_rows(st, cp, cr)
    A = sp.vstack(mats).tocsr()
    lb = np.concatenate(lbs)
    ubv = np.concatenate(ubs)
    if n == 0:
        # no free edge (e.g. every pair forced): the empty choice, if it meets every row
        ok = bool((lb <= 0.0).all() and (ubv >= 0.0).all())
        if tau is not None:
            ok = ok and bool((base >= tau - 0.5).all())
        if not ok and infeasible is not None:
            raise InfeasibleAssignment(infeasible)
        got = float(np.min(base)) if P else 0.0
        return (np.zeros(0, bool), got, True) if ok else (None, -math.inf, False)
    cols = np.arange(n)
    fair = sp.csr_matrix((cs.astype(float), (cp, cols)), shape=(P, n))
    if tau is None:
        A1 = sp.hstack([A, sp.csr_matrix((A.shape[0], 1))]).tocsr()
        fair_rows = sp.hstack([fair, -np.ones((P, 1))]).tocsr()
        c1 = np.zeros(n + 1)
        c1[-1] = -1.0
        integ = np.ones(n + 1)
        integ[-1] = 0
        res = milp(
            c1,
            integrality=integ,
            bounds=Bounds(
                np.append(np.zeros(n), -np.inf), np.concatenate([np.ones(n), [float(ub_int)]])
            ),
            constraints=[
                LinearConstraint(A1, lb, ubv),
                LinearConstraint(fair_rows, -base, np.full(P, np.inf)),
            ],
            options={"time_limit": time_limit, "mip_rel_gap": 0.0},
        )
        st.timings["fair_stage1_gap"] = float(getattr(res, "mip_gap", 0.0) or 0.0)
        xs = None if res.x is None else res.x[:n]
    else:
        res = milp(
            -cs.astype(float),
            integrality=np.ones(n),
            bounds=Bounds(0, 1),
            constraints=[
                LinearConstraint(A, lb, ubv),
                LinearConstraint(fair, tau - base - 0.5, np.full(P, np.inf)),
            ],
            options={"time_limit": time_limit, "mip_rel_gap": gap},
        )
        st.timings["fair_stage2_gap"] = float(getattr(res, "mip_gap", 0.0) or 0.0)
        xs = res.x
    if xs is None:
        if infeasible is not None and res.status == 2:  # HiGHS proved it infeasible
            raise InfeasibleAssignment(infeasible)
        return None, -math.inf, False
    sel = np.rint(xs) > 0
    got = float(np.min(np.bincount(cp[sel], weights=cs[sel], minlength=P) + base))
    return sel, got, bool(res.status == 0)


def _fair_price(
    st: _State,
    cand_keys: IntArray,
    y_fair: FloatArray,
    y_cnt: FloatArray,
    y_load: FloatArray,
    base: FloatArray,
) -> tuple[IntArray, IntArray, IntArray, float]:
    """Columns with negative reduced cost for the max-min LP over the full affinity (the 4 most
    violated of each proposal), and the explicit Lagrangian bound on the LP for these duals.

    The duals (scipy's signs: ``y_fair <= 0`` for ``-s x + tau <= base``) are scaled to
    ``w = -y_fair / sum(-y_fair)``, ``alpha = -y_cnt / sum``, ``gamma = -y_load / sum``.
    For any ``w >= 0``, ``alpha``, ``gamma``, every feasible ``tau`` satisfies

        tau <= (1 - sum w) tau + sum_p w_p base_p + sum_p alpha_p k_p
               + sum_r max(gamma_r hi_r, gamma_r lo_r)
               + sum over every allowed pair of max(0, w_p s_pr - alpha_p - gamma_r),

    the first term bounded by ``|1 - sum w|`` times a bound on ``|tau|``. So the bound does not
    rest on the LP solver's accuracy, nor on column generation having converged; the pairs
    with ``w_p s_pr - alpha_p - gamma_r > 1e-7`` (scaled reduced cost) are the new columns.
    """
    z = np.zeros(0, np.int64)
    w = np.maximum(-y_fair, 0.0)
    sw = float(w.sum())
    if not sw > 0:
        return z, z, z, math.inf
    u, alpha, gamma = w / sw, -y_cnt / sw, -y_load / sw
    p, r, s, f, pos, _ok = _screen(
        st, u, -gamma, alpha, 0.0, cand_keys, per_row=4, sum_positive=True
    )
    kmax = float(st.k.max()) if len(st.k) else 0.0
    tau_abs = float(np.abs(base).max()) + kmax * (st.oracle.amax * st.scale + 1.0)
    parts = [
        float(np.dot(u, base)),
        float(np.dot(alpha, st.k)),
        float(np.maximum(gamma * st.hi, gamma * st.lo).sum()),
        pos,
    ]
    bound = sum(parts) + abs(1.0 - float(u.sum())) * tau_abs
    # float rounding of the sums above (a few ulps of each term's magnitude)
    bound += 1e-12 * (sum(abs(x) for x in parts) + tau_abs) + 1e-9
    new = f > 1e-7
    return p[new], r[new], s[new], bound


def _screen(
    st: _State,
    u: FloatArray,
    v: FloatArray,
    t: FloatArray,
    thr: float,
    exclude: IntArray,
    per_row: int | None,
    sum_positive: bool = False,
    limit: int | None = None,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, float, bool]:
    """Every allowed pair outside ``exclude`` with ``f = s_pr u_p + v_r - t_p >= thr``, over
    the full affinity, with ``s`` the scaled cost; each row blockwise, screened in single
    precision (topic factors) with an explicit error margin so that no such pair is missed,
    then evaluated exactly (``_Oracle.pairs``, the costs every other routine uses).

    Rows whose largest possible ``f`` (from ``rowmax_s``) is below ``thr`` are skipped. With
    ``per_row``, only the ``per_row`` largest ``f`` of each row are returned. With
    ``sum_positive``, also the sum of ``max(0, f)`` over every allowed pair (``exclude`` does
    not apply to it; ``thr`` must then be <= 0). With ``limit``, stop and report
    ``complete=False`` once more than ``limit`` pairs qualify.

    Returns (p, r, s, f, sum of the positive part, complete).

    The margin: ``|a32 - a| <= err_p`` (``_Oracle.block``) and ``|s - a scale| <= 1/2``, so
    ``s u_p <= a32 scale u_p + |u_p| (err_p scale + 1/2)``; the screen's own float32 products,
    sums and conversions add at most ``4 eps (|U_p| amax + max|v| + |t_p - thr|)``, taken
    twice.
    """
    P, R = st.nm.P, st.nm.R
    z = np.zeros(0, np.int64)
    if P == 0:
        return z, z, z, np.zeros(0), 0.0, True
    if sum_positive and thr > 0:
        raise ValueError("sum_positive needs thr <= 0")
    sc = st.scale
    vmax = float(v.max()) if R else 0.0
    vabs = float(np.abs(v).max()) if R else 0.0
    imin = np.iinfo(np.int64).min
    has = st.rowmax_s > imin
    # f <= u_p rowmax_s + vmax - t_p when u_p >= 0 (every allowed pair's s <= rowmax_s)
    top = np.where(u >= 0, u * np.where(has, st.rowmax_s, 0), np.inf) + vmax - t
    live = np.flatnonzero(has & (top >= thr - 1e-9 * (np.abs(top) + abs(thr) + 1.0)))
    orc = st.oracle
    dense = orc.exact
    eps = 2.0**-52 if dense else 2.0**-24
    amax = orc.amax
    U = u * sc
    T = t + thr
    ftype = np.float64 if dense else np.float32
    Vf = v.astype(ftype)
    pos_sum = 0.0
    complete = True
    n_kept = 0
    out: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    step = max(1, _BLOCK_ENTRIES // max(R, 1))
    for lo in range(0, len(live), step):
        rows = live[lo : lo + step]
        X, err = orc.block(rows)
        slack = np.abs(u[rows]) * (err * sc + 0.5) + 8.0 * eps * (
            np.abs(U[rows]) * amax + vabs + np.abs(T[rows]) + 1.0
        )
        X *= U[rows].astype(ftype)[:, None]
        X += Vf[None, :]
        ii, jj = np.nonzero(X >= (T[rows] - slack).astype(ftype)[:, None])
        del X
        p = rows[ii]
        r = jj.astype(np.int64)
        keys = p * R + r
        ok = ~_member(st.banned, keys)
        p, r, keys = p[ok], r[ok], keys[ok]
        S = _scaled(st, orc.pairs(p, r))
        f = S * u[p] + v[r] - t[p]
        hit = f >= thr
        p, r, S, f, keys = p[hit], r[hit], S[hit], f[hit], keys[hit]
        if sum_positive:
            pos_sum += float(f[f > 0].sum())
        ok = ~_member(exclude, keys)
        p, r, S, f = p[ok], r[ok], S[ok], f[ok]
        if per_row is not None and len(p):
            order = np.lexsort((-f, p))
            p, r, S, f = p[order], r[order], S[order], f[order]
            keep = (np.arange(len(p)) - np.searchsorted(p, p)) < per_row
            p, r, S, f = p[keep], r[keep], S[keep], f[keep]
        n_kept += len(p)
        if limit is not None and n_kept > limit:
            complete = False
            break
        out.append((p, r, S, f))
    st.timings["screened_pairs"] = st.timings.get("screened_pairs", 0.0) + float(len(live)) * R
    if not out:
        return z, z, z, np.zeros(0), pos_sum, complete
    return (
        np.concatenate([o[0] for o in out]),
        np.concatenate([o[1] for o in out]),
        np.concatenate([o[2] for o in out]),
        np.concatenate([o[3] for o in out]),
        pos_sum,
        complete,
    )
