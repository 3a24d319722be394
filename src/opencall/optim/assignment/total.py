"""Exact total mode: candidate graph, min-cost flow, potentials and full pricing (the
certificate of optimality over every allowed pair), feasibility repair and the MIP for
diversity groupings outside a chain. See the package docstring for the method.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from opencall.optim.arrays import FloatArray, IntArray
from opencall.optim.assignment.common import (
    _BLOCK_ENTRIES,
    NO_GROUPED_ASSIGNMENT,
    InfeasibleAssignment,
    _blocks,
    _lookup,
    _mask_banned,
    _member,
    _merge,
    _mip_rows,
    _scaled,
    _State,
    _uniq,
)

_F32_MAX = float(np.finfo(np.float32).max) / 2


def _candidates(
    st: _State, c: int, per_reviewer: int, seed: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Top-c allowed reviewers per proposal, plus the top ``per_reviewer`` proposals of every
    reviewer, as edges (p, r, scaled affinity) in key order.

    Blocks are screened in single precision (topic factors) and the chosen pairs re-evaluated
    exactly. Ties (frequent with topic mixtures: many reviewers share one topic) are broken by a
    seeded jitter below the cost grid, so tied proposals spread over tied reviewers instead of
    all picking the same ones. Sets ``bound_s`` (a safe upper bound on the scaled affinity of
    every pair a proposal has outside its candidates) and ``rowmax_s`` (on all its pairs).
    """
    P, R = st.nm.P, st.nm.R
    rng = np.random.default_rng([seed, 1])
    empty = np.zeros(0, np.int64)
    jit = 0.3 / st.scale
    cp: list[IntArray] = []
    cr: list[IntArray] = []
    top_v = np.full((0, R), -np.inf, np.float32)
    top_i = np.zeros((0, R), np.int64)
    imin = np.iinfo(np.int64).min
    for lo, hi in _blocks(P, R):
        rows = np.arange(lo, hi, dtype=np.int64)
        A, err = st.oracle.block(rows)
        _mask_banned(st, rows, A, empty)
        rmax = A.max(axis=1).astype(np.float64)
        fin = np.isfinite(rmax)
        st.rowmax_s[lo:hi] = np.where(
            fin, np.ceil((np.where(fin, rmax, 0.0) + err) * st.scale), imin
        ).astype(np.int64)
        if c < R:
            # key >= A everywhere (jitter >= 0, rounding is monotone), so the key of the first
            # pair left out bounds every pair left out, up to the screening error
            noise = rng.random(A.shape, dtype=np.float32)
            if jit < _F32_MAX:
                key = A + (noise * np.float32(jit)).astype(A.dtype)
            else:  # a grid step beyond single precision (affinities of 1e300)
                key = A + noise.astype(A.dtype) * jit
            part = np.argpartition(-key, c, axis=1)[:, : c + 1]
            kv = np.take_along_axis(key, part, axis=1)
            order = np.argsort(-kv, axis=1, kind="stable")
            part = np.take_along_axis(part, order, axis=1)
            nb = np.take_along_axis(kv, order, axis=1)[:, c].astype(np.float64)
            fin = np.isfinite(nb)
            st.bound_s[lo:hi] = np.where(
                fin, np.ceil((np.where(fin, nb, 0.0) + err) * st.scale), imin
            ).astype(np.int64)
            del key
            part = part[:, :c]
            ok = np.isfinite(np.take_along_axis(A, part, axis=1))
        else:
            part = np.tile(np.arange(R, dtype=np.int64), (hi - lo, 1))
            ok = np.isfinite(A)
        cp.append(np.repeat(rows, ok.sum(axis=1)))
        cr.append(part[ok].astype(np.int64))
        if per_reviewer > 0:
            q = min(per_reviewer, hi - lo)
            bi = (
                np.argpartition(-A, q - 1, axis=0)[:q]
                if q < hi - lo
                else np.tile(np.arange(hi - lo)[:, None], (1, R))
            )
            bv64 = np.take_along_axis(A, bi, axis=0)
            # kept finite in single precision (an affinity of 1e300 became inf, which reads
            # as a banned pair here); a banned pair's -inf stays
            big = float(np.finfo(np.float32).max)
            bv = np.where(np.isfinite(bv64), np.clip(bv64, -big, big), bv64).astype(np.float32)
            allv = np.concatenate([top_v, bv])
            alli = np.concatenate([top_i, bi + lo])
            if len(allv) > per_reviewer:
                sel = np.argpartition(-allv, per_reviewer - 1, axis=0)[:per_reviewer]
                allv = np.take_along_axis(allv, sel, axis=0)
                alli = np.take_along_axis(alli, sel, axis=0)
            top_v, top_i = allv, alli
    p = np.concatenate(cp) if cp else empty
    r = np.concatenate(cr) if cr else empty
    if per_reviewer > 0 and len(top_v):
        ok = np.isfinite(top_v)
        p = np.concatenate([p, top_i[ok]])
        r = np.concatenate([r, np.broadcast_to(np.arange(R), top_v.shape)[ok]])
    keys = _uniq(p * R + r)
    ep, er = keys // R, keys % R
    return ep, er, _scaled(st, st.oracle.pairs(ep, er))


@dataclass
class _Flow:
    n_nodes: int
    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    flows: IntArray
    supplies: IntArray
    edge_arc0: int  # arcs [edge_arc0, edge_arc0 + n_edges) are the candidate edges
    n_edges: int
    art: IntArray  # per proposal: flow on its artificial arc (zeros when there are none)
    art_r: IntArray  # per reviewer: flow from the artificial node (its unmet min load)
    rev0: int  # reviewer node offset
    sink: int
    level_keys: list[IntArray]  # per chain level: sorted keys p * n_labels + label
    level_nodes: list[IntArray]  # node id of each key
    short_cost: int = 0  # partial mode: the cost of one missing unit (``_short_cost``)


@dataclass
class _Net:
    """Arcs shared by the min-cost flow and the max-flow feasibility check: proposal -> group
    layers -> reviewer (capacity 1 per candidate edge) and reviewer -> sink (max - min load)."""

    tails: IntArray
    heads: IntArray
    caps: IntArray
    edge_arc0: int
    rev0: int
    sink: int
    level_keys: list[IntArray]
    level_nodes: list[IntArray]


def _network(st: _State, ep: IntArray, er: IntArray) -> _Net:
    P, R = st.nm.P, st.nm.R
    node = P
    level_keys: list[IntArray] = []
    level_nodes: list[IntArray] = []
    edge_parent = ep.copy()  # node from which each edge's arc to its reviewer leaves
    lt: list[IntArray] = []
    lh: list[IntArray] = []
    lc: list[IntArray] = []
    for lab, cap, fk, fc in st.chain:
        nlab = int(lab.max()) + 1
        ekeys = ep * nlab + lab[er]
        keys, first, invk = np.unique(ekeys, return_index=True, return_inverse=True)
        ids = node + np.arange(len(keys), dtype=np.int64)
        node += len(keys)
        used = _lookup(fk, fc, keys)
        lt.append(edge_parent[first])
        lh.append(ids)
        lc.append(cap - used)
        edge_parent = ids[invk]
        level_keys.append(keys)
        level_nodes.append(ids)
    rev0 = node
    sink = rev0 + R
    tails = [*lt, edge_parent, rev0 + np.arange(R)]
    heads = [*lh, rev0 + er, np.full(R, sink)]
    caps = [*lc, np.ones(len(ep)), st.hi - st.lo]
    return _Net(
        np.concatenate([np.asarray(x, np.int64) for x in tails]),
        np.concatenate([np.asarray(x, np.int64) for x in heads]),
        np.concatenate([np.asarray(x, np.int64) for x in caps]),
        sum(len(x) for x in lt),
        rev0,
        sink,
        level_keys,
        level_nodes,
    )


def _max_flow_shortfall(
    st: _State, ep: IntArray, er: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Max flow on the candidate graph: (per proposal reviewers missing, per reviewer min load
    missing, per reviewer load). All zero shortfalls iff the candidate graph is feasible: the
    arcs into the terminal (min loads, and the sink's sum k - sum min) carry at most sum k, so a
    flow of sum k saturates every one of them."""
    P, R = st.nm.P, st.nm.R
    net = _network(st, ep, er)
    src, term = net.sink + 1, net.sink + 2
    need = int(st.k.sum())
    t = np.concatenate([net.tails, np.full(P, src), net.rev0 + np.arange(R), [net.sink]])
    h = np.concatenate([net.heads, np.arange(P), np.full(R, term), [term]])
    u = np.concatenate([net.caps, st.k, st.lo, [need - int(st.lo.sum())]])
    mf = max_flow.SimpleMaxFlow()
    mf.add_arcs_with_capacity(t.astype(np.int32), h.astype(np.int32), u.astype(np.int64))
    status = mf.solve(src, term)
    if status != mf.OPTIMAL:
        raise RuntimeError(f"max flow failed with status {status}")
    f = np.asarray(mf.flows(np.arange(len(t), dtype=np.int32)), np.int64)
    n0 = len(net.tails)
    served = f[n0 : n0 + P]
    got_min = f[n0 + P : n0 + P + R]
    e0 = net.edge_arc0
    load = np.bincount(er, weights=f[e0 : e0 + len(ep)], minlength=R).astype(np.int64)
    return st.k - served, st.lo - got_min, load


def _short_cost(st: _State, n_nodes: int) -> int:
    """Cost of one missing review (or unit of unmet minimum load) in partial mode: more than
    any change of the affinity part, so the flow first assigns as many reviews as it can.

    Bounded over every allowed pair (``oracle.amax``, not the candidates' costs: pricing may
    add any pair). Two bounds, each sufficient, the smaller taken: a negative cycle that
    removes one missing unit has at most ``n_nodes`` arcs, each of affinity cost at most
    ``maxs``; and two assignments' affinity parts differ by at most ``2 maxs sum(k)``."""
    maxs = int(np.ceil(st.oracle.amax * st.scale)) + 1
    need = int(st.k.sum()) + int(st.lo.sum())
    return min((maxs + 1) * (n_nodes + 1), 2 * (maxs + 1) * (need + 1))


def _solve_flow(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    seed: int,
    artificial: bool = True,
    partial: bool = False,
) -> _Flow:
    """Min-cost flow on the candidate graph. With ``artificial``, arcs of prohibitive cost keep
    it feasible (flow left on them proves the instance infeasible once pricing is done);
    without, the candidate graph must be feasible (checked by ``_max_flow_shortfall``).

    With ``partial`` (``AssignmentProblem.allow_short``) the missing reviews and the unmet
    minimum loads are part of the problem: an arc p -> sink (capacity k_p) and an arc from a
    node supplying ``sum min_load`` to each reviewer (capacity its min load), both of cost
    ``_short_cost``, the rest of that supply going to the sink free. The optimum has the
    fewest missing units, then the greatest affinity; ``art`` and ``art_r`` are then the
    missing reviews per proposal and the unmet minimum load per reviewer."""
    P, R = st.nm.P, st.nm.R
    net = _network(st, ep, er)
    rev0, sink = net.rev0, net.sink
    n_nodes = sink + 1 + int(artificial or partial)
    kk = st.k
    t, h, u = net.tails, net.heads, net.caps
    w = np.zeros(len(t), np.int64)
    e0 = net.edge_arc0
    w[e0 : e0 + len(ep)] = -es
    supplies = np.zeros(n_nodes, np.int64)
    supplies[:P] = kk
    supplies[rev0 : rev0 + R] = -st.lo
    supplies[sink] = -(int(kk.sum()) - int(st.lo.sum()))
    if partial:
        art = sink + 1
        big_m = _short_cost(st, n_nodes)
        one = np.ones(1, np.int64)
        low = int(st.lo.sum())
        t = np.concatenate([t, np.arange(P), np.full(R, art), art * one])
        h = np.concatenate([h, np.full(P, sink), rev0 + np.arange(R), sink * one])
        u = np.concatenate([u, kk, st.lo, low * one])
        w = np.concatenate([w, np.full(P + R, big_m), np.zeros(1, np.int64)])
        supplies[art] = low
        supplies[sink] = -int(kk.sum())
    elif artificial:
        art = sink + 1
        maxs = int(np.abs(es).max()) if len(es) else 0
        big_m = (maxs + 1) * (n_nodes + 1)
        one = np.ones(1, np.int64)
        t = np.concatenate([t, np.arange(P), np.full(R, art), art * one])
        h = np.concatenate([h, np.full(P, art), rev0 + np.arange(R), sink * one])
        u = np.concatenate([u, kk, st.lo, int(kk.sum()) * one])
        w = np.concatenate([w, np.full(P, big_m), np.zeros(R + 1, np.int64)])
    # seeded arc order: ties between equally good optima are broken by the seed
    order = np.random.default_rng(seed).permutation(len(t))
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        t[order].astype(np.int32), h[order].astype(np.int32), u[order], w[order]
    )
    smcf.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    f = np.empty(len(t), np.int64)
    f[order] = smcf.flows(np.arange(len(t), dtype=np.int32))
    a0 = len(net.tails)
    zp, zr = np.zeros(P, np.int64), np.zeros(R, np.int64)
    return _Flow(
        n_nodes,
        t,
        h,
        u,
        w,
        f,
        supplies,
        e0,
        len(ep),
        f[a0 : a0 + P] if artificial or partial else zp,
        f[a0 + P : a0 + P + R] if artificial or partial else zr,
        rev0,
        sink,
        net.level_keys,
        net.level_nodes,
        big_m if partial else 0,
    )


def _potentials(fl: _Flow) -> IntArray:
    """Node potentials proving the flow optimal: d(v) = -(shortest distance from v to a
    virtual sink) in the residual graph, so every residual arc has c + d(u) - d(v) >= 0.

    Distances *to* a sink (not from a source) make the potential of a proposal its best
    marginal gain and that of a spare reviewer zero, which is what lets pricing skip almost
    every proposal. Bellman-Ford is hand-written and vectorised with numpy because scipy's
    csgraph drops zero-cost arcs and merges parallel ones, and OR-Tools does not expose its
    own potentials; only nodes whose distance changed are relaxed again.
    """
    fwd = fl.flows < fl.caps
    bwd = fl.flows > 0
    # reversed residual graph: arc v -> u for every residual arc u -> v
    t = np.concatenate([fl.heads[fwd], fl.tails[bwd]])
    h = np.concatenate([fl.tails[fwd], fl.heads[bwd]])
    w = np.concatenate([fl.costs[fwd], -fl.costs[bwd]])
    order = np.argsort(t, kind="stable")
    t, h, w = t[order], h[order], w[order]
    n = fl.n_nodes
    indptr = np.searchsorted(t, np.arange(n + 1))
    d = np.zeros(n, np.int64)
    active = np.arange(n)
    for _ in range(n + 1):
        starts = indptr[active]
        cnt = indptr[active + 1] - starts
        tot = int(cnt.sum())
        if tot == 0:
            return -d
        idx = np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(starts, cnt)
        cand = d[t[idx]] + w[idx]
        hh = h[idx]
        better = cand < d[hh]
        if not better.any():
            return -d
        hh, cand = hh[better], cand[better]
        np.minimum.at(d, hh, cand)
        active = _uniq(hh)
    raise RuntimeError("negative cycle in the residual graph: flow not optimal")


def _dual_bound(fl: _Flow, d: IntArray) -> int:
    """Dual objective of the min-cost flow LP for potentials d (a lower bound on its cost)."""
    rc = fl.costs + d[fl.tails] - d[fl.heads]
    return int(-(fl.supplies * d).sum() - (fl.caps * np.maximum(0, -rc)).sum())


def _price(
    st: _State,
    fl: _Flow,
    d: IntArray,
    cand_keys: IntArray,
    max_new_per_row: int,
    truncate: bool = True,
) -> tuple[IntArray, IntArray, IntArray, bool]:
    """Non-candidate pairs whose reduced cost is negative under potentials d, over the full
    affinity: (p, r, s) of the most violated few per proposal, and whether the pass was
    complete (no block was truncated).

    A new arc p -> r (through p's group nodes) has negative reduced cost iff
    ``s_pr > d(node) - d(r)`` for the deepest existing node of p on r's group path. Since
    ``d(node) >= min d(p's nodes)``, a block of proposals is screened against that minimum in
    single precision with an explicit error margin (every exact violation passes the screen),
    and only the survivors are evaluated exactly. Proposals whose largest possible affinity
    cannot beat their threshold against the most valuable reviewer are skipped.
    """
    P, R = st.nm.P, st.nm.R
    node_min = d[:P].copy()
    for lvl, keys in enumerate(fl.level_keys):
        nlab = int(st.chain[lvl][0].max()) + 1
        np.minimum.at(node_min, keys // nlab, d[fl.level_nodes[lvl]])
    dr = d[fl.rev0 : fl.rev0 + R]
    drmax = int(dr.max()) if R else 0
    live = np.flatnonzero((st.rowmax_s > np.iinfo(np.int64).min) & (st.rowmax_s > node_min - drmax))
    sc = st.scale
    drf = dr / sc
    drabs = float(np.abs(drf).max()) if R else 0.0
    found: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    complete = True
    evaluated = 0
    cap_rows = 16 * (max_new_per_row + (int(st.nm.k.max()) if P else 0) + 4)
    step = max(1, _BLOCK_ENTRIES // max(R, 1))
    for lo in range(0, len(live), step):
        rows = live[lo : lo + step]
        X, err = st.oracle.block(rows)
        t = node_min[rows] / sc
        # every exact violation has a64 >= (thr - d_r + 0.5) / scale, and X >= a64 - err; the
        # last term covers rounding of the screen's own sums
        slack = err + 4.0 * 2.0**-24 * (np.abs(t) + drabs + 2.0)
        X += drf.astype(X.dtype)[None, :]
        X -= (t - slack).astype(X.dtype)[:, None]
        evaluated += X.size
        ii, jj = np.nonzero(X > 0)
        if truncate and len(ii) > cap_rows * len(rows):
            # too many survivors (poor potentials): keep the best per row, pass incomplete
            complete = False
            v = X[ii, jj]
            order = np.lexsort((-v, ii))
            ii, jj = ii[order], jj[order]
            keep = (np.arange(len(ii)) - np.searchsorted(ii, ii)) < cap_rows
            ii, jj = ii[keep], jj[keep]
        del X
        p = rows[ii]
        r = jj.astype(np.int64)
        keys = p * R + r
        ok = ~(_member(st.banned, keys) | _member(cand_keys, keys))
        p, r = p[ok], r[ok]
        S = _scaled(st, st.oracle.pairs(p, r))
        v = S - _pair_thresholds(st, fl, d, p, r)
        hit = v > 0
        found.append((p[hit], r[hit], S[hit], v[hit]))
    st.timings["priced_pairs"] = st.timings.get("priced_pairs", 0.0) + evaluated
    return (*_top_per_proposal(found, max_new_per_row), complete)


def _top_per_proposal(
    found: list[tuple[IntArray, IntArray, IntArray, IntArray]], m: int
) -> tuple[IntArray, IntArray, IntArray]:
    """The ``m`` most violated pairs (p, r, s) of every proposal among those found."""
    z = np.zeros(0, np.int64)
    if not found:
        return z, z, z
    pp = np.concatenate([x[0] for x in found])
    rr = np.concatenate([x[1] for x in found])
    ss = np.concatenate([x[2] for x in found])
    vv = np.concatenate([x[3] for x in found])
    cap = np.int64(2**40 - 1)
    order = np.argsort(pp * (cap + 1) + (cap - np.minimum(vv, cap)), kind="stable")
    pp, rr, ss = pp[order], rr[order], ss[order]
    keep = (np.arange(len(pp)) - np.searchsorted(pp, pp)) < m
    return pp[keep], rr[keep], ss[keep]


def _pair_thresholds(st: _State, fl: _Flow, d: IntArray, p: IntArray, r: IntArray) -> IntArray:
    """d(deepest existing node of p on r's group path) - d(r), for each pair."""
    thr = d[p].copy()
    for lvl, (lab, _cap, _fk, _fc) in enumerate(st.chain):
        nlab = int(lab.max()) + 1
        keys = fl.level_keys[lvl]
        if len(keys) == 0:
            continue
        q = p * nlab + lab[r]
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        thr = np.where(keys[pos] == q, d[fl.level_nodes[lvl][pos]], thr)
    return np.asarray(thr - d[fl.rev0 + r], dtype=np.int64)


def _flow_with_pricing(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    seed: int,
    max_rounds: int,
    partial: bool = False,
) -> tuple[_Flow, IntArray, int, IntArray, IntArray, IntArray]:
    """Make the candidate graph feasible (max flow + repair edges), then solve, price the full
    affinity and add the most violated pairs per proposal until a complete pass finds none.
    ``partial``: missing reviews are allowed at a prohibitive cost (see ``_solve_flow``)."""
    R = st.nm.R
    rounds = full_passes = repairs = 0
    tf = tp = tpr = 0.0
    # many violators per proposal per round: a round costs a flow solve, edges are cheap
    m = max(2, 8 * int(st.nm.k.max()) if st.nm.P else 2)
    t = time.perf_counter()
    feasible = False
    for _ in range(8):
        short, needy, load = _max_flow_shortfall(st, ep, er)
        if not short.any() and not needy.any():
            feasible = True
            break
        np_, nr, ns = _repair(st, ep, er, short, needy, load, m)
        if len(np_) == 0:
            break
        repairs += 1
        ep, er, es = _merge(R, ep, er, es, np_, nr, ns)
    st.timings["feasibility"] = time.perf_counter() - t
    while True:
        t = time.perf_counter()
        # a feasible candidate graph proves nothing need be missing: the plain flow's
        # optimum (priced over every pair) is then the partial optimum too, and cheaper
        fl = _solve_flow(
            st,
            ep,
            er,
            es,
            seed,
            artificial=not feasible and not partial,
            partial=partial and not feasible,
        )
        tf += time.perf_counter() - t
        t = time.perf_counter()
        d = _potentials(fl)
        tp += time.perf_counter() - t
        t = time.perf_counter()
        full_passes += 1
        np_, nr, ns, complete = _price(st, fl, d, ep * R + er, m)
        if not complete and len(np_) == 0:  # the truncated screen missed: price everything
            np_, nr, ns, complete = _price(st, fl, d, ep * R + er, m, truncate=False)
        tpr += time.perf_counter() - t
        if len(np_) == 0 or rounds >= max_rounds:
            break
        rounds += 1
        ep, er, es = _merge(R, ep, er, es, np_, nr, ns)
    st.timings.update(
        {
            "flow": tf,
            "potentials": tp,
            "pricing": tpr,
            "full_pricing_passes": float(full_passes),
            "repairs": float(repairs),
        }
    )
    return fl, d, rounds, ep, er, es


def _repair(
    st: _State,
    ep: IntArray,
    er: IntArray,
    short: IntArray,
    needy: IntArray,
    load: IntArray,
    m: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Edges that let the candidate graph become feasible: for every proposal short of
    reviewers, its best reviewers among those with spare capacity; for every reviewer short of
    its minimum load, its best proposals. A heuristic only (the potentials of an infeasible
    graph are dominated by the big-M cost, so pricing from there is slow); pricing stays the
    proof of optimality, and of infeasibility."""
    P, R = st.nm.P, st.nm.R
    z = np.zeros(0, np.int64)
    cand_keys = ep * R + er
    spare = st.hi - load > 0
    out_p: list[IntArray] = []
    out_r: list[IntArray] = []
    rows_short = np.flatnonzero(short > 0)
    if len(rows_short) and spare.any():
        cols = np.flatnonzero(spare)
        step = max(1, _BLOCK_ENTRIES // max(R, 1))
        for lo in range(0, len(rows_short), step):
            rows = rows_short[lo : lo + step]
            X, _ = st.oracle.block(rows)
            _mask_banned(st, rows, X, cand_keys)
            X = X[:, cols]
            q = min(len(cols), m + int(short[rows].max()))
            if q < len(cols):
                part = np.argpartition(-X, q - 1, axis=1)[:, :q]
            else:
                part = np.tile(np.arange(len(cols)), (len(rows), 1))
            ok = np.isfinite(np.take_along_axis(X, part, axis=1))
            out_p.append(np.repeat(rows, ok.sum(axis=1)))
            out_r.append(cols[part[ok]].astype(np.int64))
    cols_needy = np.flatnonzero(needy > 0)
    if len(cols_needy):
        q = min(P, m + int(needy.max()))
        best_v = np.full((0, len(cols_needy)), -np.inf)
        best_i = np.zeros((0, len(cols_needy)), np.int64)
        for lo, hi in _blocks(P, R):
            rows = np.arange(lo, hi, dtype=np.int64)
            X, _ = st.oracle.block(rows)
            _mask_banned(st, rows, X, cand_keys)
            Xn = X[:, cols_needy].astype(np.float64)
            allv = np.concatenate([best_v, Xn])
            alli = np.concatenate([best_i, np.tile(rows[:, None], (1, len(cols_needy)))])
            if len(allv) > q:
                sel = np.argpartition(-allv, q - 1, axis=0)[:q]
                allv = np.take_along_axis(allv, sel, axis=0)
                alli = np.take_along_axis(alli, sel, axis=0)
            best_v, best_i = allv, alli
        ok = np.isfinite(best_v)
        out_p.append(best_i[ok])
        out_r.append(np.broadcast_to(cols_needy, best_v.shape)[ok].astype(np.int64))
    if not out_p:
        return z, z, z
    keys = _uniq(np.concatenate(out_p) * R + np.concatenate(out_r))
    p, r = keys // R, keys % R
    return p, r, _scaled(st, st.oracle.pairs(p, r))


def _infeasible_message(st: _State, art: IntArray, art_r: IntArray) -> str:
    parts = []
    if art.sum():
        ps = np.flatnonzero(art)
        parts.append(
            f"{len(ps)} proposals cannot get k reviewers within loads, conflicts and caps "
            f"(proved by the flow), e.g. {ps[:5].tolist()}"
        )
    if art_r.sum():
        rs = st.perm[np.flatnonzero(art_r)]
        parts.append(f"{len(rs)} reviewers cannot reach min_load, e.g. {rs[:5].tolist()}")
    return "; ".join(parts)


def _mip_total(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    time_limit: float,
    partial: bool = False,
) -> tuple[IntArray, IntArray, bool]:
    """The best assignment on the candidate graph meeting every grouping (HiGHS). With
    ``partial`` (missing reviews allowed), two MIPs: the fewest missing reviews (each
    proposal at most ``k``; a reviewer's minimum load not met counts one missing review a
    unit, as in the flow), then the most affinity among assignments missing as few."""
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, milp

    R = st.nm.R
    n = len(ep)
    mats, lbs, ubs = _mip_rows(st, ep, er)
    n_owed = 0
    if partial:
        # a column per reviewer owed reviews, in [0, its minimum load]: its load plus what
        # it is owed reaches the minimum (before, the minimum was a hard row: an instance
        # whose minimum loads no assignment meets was refused as infeasible)
        lbs[0] = np.zeros_like(lbs[0])
        owed_rows = sp.hstack([mats[1], sp.identity(R, format="csr")])
        mats = [sp.hstack([m, sp.csr_matrix((m.shape[0], R))]) for m in mats] + [owed_rows]
        lbs = [lbs[0], np.full(R, -np.inf), *lbs[2:], st.lo.astype(float)]
        ubs = [*ubs, np.full(R, np.inf)]
        n_owed = R
    A = sp.vstack(mats).tocsr()
    lb, ub = np.concatenate(lbs), np.concatenate(ubs)
    col_hi = np.concatenate([np.ones(n), st.lo.astype(float)[:n_owed]])
    opts = {"time_limit": time_limit, "mip_rel_gap": 0.0}

    def best(
        gain: FloatArray, rows: sp.csr_matrix, lo: FloatArray, hi: FloatArray, infeasible: str
    ) -> tuple[FloatArray, bool]:
        """The 0/1 edge choice (and the reviews owed) of most ``gain`` with ``lo <= rows x
        <= hi`` (HiGHS), and whether the solver proved it optimal; none at all is
        ``infeasible``."""
        res = milp(
            -gain,
            integrality=np.ones(n + n_owed),
            bounds=Bounds(0, col_hi),
            constraints=LinearConstraint(rows, lo, hi),
            options=opts,
        )
        if res.x is None:
            raise InfeasibleAssignment(infeasible)
        return np.rint(res.x), bool(res.status == 0)

    if n == 0:
        # no admissible pair (every one conflicted): HiGHS takes no empty model, and the
        # empty choice is the only one; it stands when it meets every row (in partial mode
        # always: coverage and minimum loads are then missing reviews, not rows)
        if partial or (np.all(lb <= 0) and np.all(ub >= 0)):
            return ep, er, True
        raise InfeasibleAssignment(NO_GROUPED_ASSIGNMENT)
    optimal = True
    if partial:
        net = np.concatenate([np.ones(n), -np.ones(n_owed)])
        most, optimal = best(
            net, A, lb, ub, "no assignment meets every diversity grouping on the candidate graph"
        )
        n_most = float(net @ most)
        A = sp.vstack([A, sp.csr_matrix(net[None, :])]).tocsr()
        lb, ub = np.append(lb, n_most), np.append(ub, n_most)
    chosen, exact = best(
        np.concatenate([es.astype(float) / st.scale, np.zeros(n_owed)]),
        A,
        lb,
        ub,
        NO_GROUPED_ASSIGNMENT,
    )
    x = chosen[:n] > 0
    return ep[x], er[x], exact and optimal
