"""The exact improvement for small instances: a CP-SAT circuit over optional blocks
with sequence-dependent transition times, warm-started from the heuristic."""

from __future__ import annotations

import math

import numpy as np

from opencall.optim.scheduling.prepare import _Prep
from opencall.optim.scheduling.problem import _EPS
from opencall.optim.scheduling.sequence import _Seq


def _cpsat_improve(
    prep: _Prep, start: _Seq, seed: int, det_time: float, *, break_symmetry: bool = True
) -> tuple[_Seq | None, str]:
    """Exact model for small instances, warm-started from ``start``.

    CP-SAT: one optional start per block with a domain equal to the union of its allowed
    start ranges (integer seconds, rounded inwards), a circuit over present blocks whose
    arcs i -> j imply s_j >= s_i + d_i + setup + slew(i, j) (rounded up), and the
    priority-weighted seconds as objective.  Single worker + deterministic time limit,
    so the result depends only on the seed.

    Identical blocks (not fixed; the same whole seconds of duration, priority, allowed
    start ranges and direction: the same gaps to every other block) are interchangeable
    in any schedule, so ``break_symmetry`` orders each class: a later one is present only
    if the earlier one is, and starts after it (the arcs back are dropped). Without it
    the search proves optimality only after visiting every permutation of a class (the
    time limit, on a night of many blocks of one source: ``bench/bench_symmetry.py``).
    The warm start is relabelled to that order.
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
    ranges: list[tuple[tuple[int, int], ...]] = []
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
        ranges.append(tuple(ivs))
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
    hint_start = {
        pos_of[b]: v for b, v in zip(start.blk, start.final_starts(), strict=True) if b in pos_of
    }
    later_of: dict[int, int] = {}  # node -> the next node of its class
    rank: dict[int, tuple[int, int]] = {}  # node -> (its class, its place in the class)
    if break_symmetry:
        classes: dict[tuple[object, ...], list[int]] = {}
        for k, b in enumerate(nodes):
            if problem.blocks[b].fixed_start_unix is None:
                key = (float(prep.dur[b]), int(prep.prio[b]), ranges[k], tuple(xyz[k].tolist()))
                classes.setdefault(key, []).append(k)
        relabel: dict[int, int] = {}
        for c_id, members in enumerate(classes.values()):
            for a, c in zip(members, members[1:], strict=False):
                later_of[a] = c
            rank.update((k, (c_id, place)) for place, k in enumerate(members))
            # the warm start, relabelled: the class's blocks it places, in time order,
            # become the class's first members in index order
            used = sorted((k for k in members if k in hint_start), key=lambda k: hint_start[k])
            relabel.update(zip(used, members, strict=False))
        seq_nodes = [relabel.get(k, k) for k in seq_nodes]
        hint_start = {relabel.get(k, k): v for k, v in hint_start.items()}
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
    for a, c in later_of.items():
        g = int(math.ceil(gap[a, c] + 1e-6))
        model.add_implication(pres[c], pres[a])
        model.add(starts[c] >= starts[a] + dur[a] + g).only_enforce_if(pres[c])
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            ri, rj = rank.get(i), rank.get(j)
            if ri is not None and rj is not None and ri[0] == rj[0] and ri[1] > rj[1]:
                continue  # a class's arc back: its later block never precedes the earlier
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
    in_seq = set(seq_nodes)
    for k in range(n):
        model.add_hint(pres[k], k in in_seq)
    for k, at in hint_start.items():
        model.add_hint(starts[k], int(math.ceil(at - t0)))
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
