"""The exact improvement for small instances: a CP-SAT circuit over optional blocks
with sequence-dependent transition times, warm-started from the heuristic."""

from __future__ import annotations

import math

import numpy as np

from opencall.optim.scheduling.prepare import _Prep
from opencall.optim.scheduling.problem import _EPS
from opencall.optim.scheduling.sequence import _Seq


def _cpsat_improve(prep: _Prep, start: _Seq, seed: int, det_time: float) -> tuple[_Seq | None, str]:
    """Exact model for small instances, warm-started from ``start``.

    CP-SAT: one optional start per block with a domain equal to the union of its allowed
    start ranges (integer seconds, rounded inwards), a circuit over present blocks whose
    arcs i -> j imply s_j >= s_i + d_i + setup + slew(i, j) (rounded up), and the
    priority-weighted seconds as objective.  Single worker + deterministic time limit,
    so the result depends only on the seed.
    """
    from ortools.sat.python import cp_model

    problem = prep.problem
    t0 = problem.window_start_unix
    nodes = [b for b in start.blk if start.pinned[start.blk.index(b)]]
    nodes += [i for i in prep.flexible if prep.win_lo[i].size]
    n = len(nodes)
    if n == 0:
        return None, "empty"
    model = cp_model.CpModel()
    pres = []
    starts = []
    dur = [int(math.ceil(prep.dur[b] - _EPS)) for b in nodes]
    lo_b: list[int] = []
    hi_b: list[int] = []
    for b in nodes:
        fb = problem.blocks[b]
        if fb.fixed_start_unix is not None:
            v = int(round(fb.fixed_start_unix - t0))
            ivs = [(v, v)]
        else:
            ivs = []
            for lo, hi in zip(prep.win_lo[b], prep.win_hi[b], strict=True):
                a, c = int(math.ceil(lo - t0)), int(math.floor(hi - t0))
                if c >= a:
                    ivs.append((a, c))
        if not ivs:
            ivs = [(0, 0)]
        dom = cp_model.Domain.from_intervals([list(iv) for iv in ivs])
        starts.append(model.new_int_var_from_domain(dom, f"s{b}"))
        lo_b.append(ivs[0][0])
        hi_b.append(ivs[-1][1])
        lit = model.new_bool_var(f"x{b}")
        if fb.fixed_start_unix is not None:
            model.add(lit == 1)
        pres.append(lit)
    xyz = prep.xyz[np.asarray(nodes)]
    dot = np.clip(xyz @ xyz.T, -1.0, 1.0)
    gap = problem.setup_s + np.degrees(np.arccos(dot)) / problem.slew_deg_per_s
    pos_of = {b: k for k, b in enumerate(nodes)}
    seq_nodes = [pos_of[b] for b in start.blk if b in pos_of]
    hint_arcs = set(zip([-1] + seq_nodes, seq_nodes + [-1], strict=True))
    arcs: list[tuple[int, int, cp_model.LiteralT]] = []
    for k in range(n):
        d_lit = model.new_bool_var(f"d{k}")
        e_lit = model.new_bool_var(f"e{k}")
        model.add_hint(d_lit, (-1, k) in hint_arcs)
        model.add_hint(e_lit, (k, -1) in hint_arcs)
        arcs.append((0, k + 1, d_lit))
        arcs.append((k + 1, 0, e_lit))
        arcs.append((k + 1, k + 1, ~pres[k]))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            g = int(math.ceil(gap[i, j] + 1e-6))
            if lo_b[i] + dur[i] + g > hi_b[j]:
                continue  # j cannot follow i
            arc = model.new_bool_var(f"a{i}_{j}")
            model.add_hint(arc, (i, j) in hint_arcs)
            arcs.append((i + 1, j + 1, arc))
            model.add(starts[j] >= starts[i] + dur[i] + g).only_enforce_if(arc)
    empty = model.new_bool_var("empty")
    model.add_hint(empty, not seq_nodes)
    arcs.append((0, 0, empty))
    model.add_circuit(arcs)
    wts = [int(round((6 - prep.prio[b]) * dur[k])) for k, b in enumerate(nodes)]
    model.maximize(sum(w * x for w, x in zip(wts, pres, strict=True)))
    # warm start from the heuristic sequence
    hint_starts = start.final_starts()
    in_seq = set(seq_nodes)
    for k in range(n):
        model.add_hint(pres[k], k in in_seq)
    for idx, b in enumerate(start.blk):
        if b in pos_of:
            model.add_hint(starts[pos_of[b]], int(math.ceil(hint_starts[idx] - t0)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % (2**31)
    solver.parameters.max_deterministic_time = float(det_time)
    status = solver.solve(model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, name
    chosen = [k for k in range(n) if solver.value(pres[k])]
    chosen.sort(key=lambda k: solver.value(starts[k]))
    seq = _Seq(prep)
    for k in chosen:
        b = nodes[k]
        sv = solver.value(starts[k]) + t0
        fb = problem.blocks[b]
        if fb.fixed_start_unix is not None:
            seq.insert(
                len(seq.blk),
                b,
                fb.duration_s,
                fb.fixed_start_unix,
                fb.fixed_start_unix,
                fb.fixed_start_unix,
            )
            continue
        w = int(np.flatnonzero((prep.win_lo[b] <= sv + _EPS) & (prep.win_hi[b] >= sv - _EPS))[0])
        seq.insert(
            len(seq.blk),
            b,
            float(prep.dur[b]),
            float(prep.win_lo[b][w]),
            float(prep.win_hi[b][w]),
            float(prep.win_ideal[b][w]),
        )
    if not seq.recompute():
        return None, name + "_rejected"
    return seq, name
