"""Construction and local search: fixed blocks first, priority-ordered best
insertion, replace moves and fill passes, and ruin and recreate."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from opencall.optim import sky
from opencall.optim.arrays import FloatArray
from opencall.optim.messages import M_, Message
from opencall.optim.scheduling.prepare import _Prep
from opencall.optim.scheduling.problem import (
    _EPS,
    REASON_CROWDED_OUT,
    REASON_FIXED_NOT_VISIBLE,
    REASON_MAINTENANCE,
)
from opencall.optim.scheduling.sequence import _Seq


def _place_fixed(prep: _Prep, seq: _Seq, reasons: dict[int, tuple[str, Message]]) -> None:
    problem = prep.problem
    t0, t1 = problem.window_start_unix, problem.window_end_unix
    order = sorted(prep.fixed, key=lambda i: (prep.prio[i], i))
    for i in order:
        b = problem.blocks[i]
        assert b.fixed_start_unix is not None
        s = b.fixed_start_unix
        e = s + b.duration_s
        if s < t0 - _EPS or e > t1 + _EPS:
            reasons[i] = (REASON_FIXED_NOT_VISIBLE, M_("fixed time outside the scheduling window"))
            continue
        if any(
            (s - problem.setup_s < m.end_unix) and (e > m.start_unix) for m in problem.maintenance
        ):
            reasons[i] = (
                REASON_MAINTENANCE,
                M_("fixed time overlaps maintenance (or its setup)"),
            )
            continue
        ts = np.concatenate([np.arange(s, e, 1.0), [e]])
        z = sky.zenith_angle_deg(b.ra_deg, b.dec_deg, ts, problem.site, epoch_unix=0.5 * (t0 + t1))
        margin = problem.margin_deg()
        if np.any(z > b.max_zenith_deg - margin) or (
            b.min_zenith_deg > 0 and np.any(z < b.min_zenith_deg + margin)
        ):
            reasons[i] = (
                REASON_FIXED_NOT_VISIBLE,
                M_(
                    "zenith reaches %(z)s deg (limits %(lo)s-%(hi)s deg, kept %(arcsec)s arcsec "
                    "inside)",
                    z=f"{z.max():.3f}",
                    lo=f"{b.min_zenith_deg:g}",
                    hi=f"{b.max_zenith_deg:g}",
                    arcsec=f"{margin * 3600:.0f}",
                ),
            )
            continue
        pos = int(np.searchsorted(np.asarray(seq.lo) if seq.lo else np.zeros(0), s))
        seq.insert(pos, i, b.duration_s, s, s, s)
        if not seq.recompute():
            seq.remove_range(pos, 1)
            seq.recompute()
            reasons[i] = (REASON_CROWDED_OUT, M_("clashes with a higher-priority fixed block"))


def _local_search(seq: _Seq, prep: _Prep, passes: int) -> int:
    moves = 0
    for _ in range(passes):
        improved = False
        unplaced = [i for i in prep.flexible if i not in seq.placed and prep.win_lo[i].size]
        unplaced.sort(key=lambda i: (-prep.weight[i], i))
        for u in unplaced:
            if not prep.work.left():
                return moves
            if u in seq.placed:
                continue
            if prep.problem.blocks[u].splittable and seq.place(u):
                moves += 1
                improved = True
                continue
            gone = seq.try_replace(u)
            if gone is None:
                continue
            moves += 1
            improved = True
            for g in sorted(gone, key=lambda i: (-prep.weight[i], i)):
                seq.place(g)
        # fill pass: plain insertions of anything left
        for u in sorted(
            (i for i in prep.flexible if i not in seq.placed), key=lambda i: (-prep.weight[i], i)
        ):
            if not prep.work.left():
                return moves
            if seq.place(u):
                moves += 1
                improved = True
        if not improved:
            break
    return moves


def _score(seq: _Seq) -> tuple[float, float]:
    return (round(seq.weighted_hours(), 9), round(seq.observed_s(), 6))


def _window_index(
    prep: _Prep,
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray]:
    """All usable stretches of all flexible blocks, flattened: (block, start, end, the
    length the block needs in it), for finding the blocks that could use freed time."""
    owner: list[int] = []
    lo: list[float] = []
    hi: list[float] = []
    need: list[float] = []
    for i in prep.flexible:
        b = prep.problem.blocks[i]
        if b.splittable:
            for a, c in prep.pieces[i]:
                owner.append(i)
                lo.append(a)
                hi.append(c)
                need.append(min(b.min_chunk_s, float(prep.dur[i])))
            continue
        for a, c in zip(prep.win_lo[i], prep.win_hi[i], strict=True):
            owner.append(i)
            lo.append(float(a))
            hi.append(float(c) + float(prep.dur[i]))
            need.append(float(prep.dur[i]))
    return (
        np.asarray(owner, dtype=np.int64),
        np.asarray(lo, dtype=np.float64),
        np.asarray(hi, dtype=np.float64),
        np.asarray(need, dtype=np.float64),
    )


def _ruin_recreate(
    seq: _Seq, prep: _Prep, rng: np.random.Generator, iterations: int, max_string: int = 8
) -> tuple[_Seq, int]:
    """Large-neighbourhood search (ruin and recreate, after the string removals of
    Christiaens & Vanden Berghe's SISR): remove a random run of consecutive movable blocks,
    re-fill the freed stretch by best insertion from every unplaced block with a window
    that can hold it there (in a randomised weight-, length- or priority-led order; the
    removed blocks may also move anywhere else), and keep the result if (observed time,
    priority-weighted hours) did not fall lexicographically and the hours stay at or
    above those of the starting schedule.  So priority-weighted hours never drop below
    the priority-led construction's, while the search trades slew and idle time for
    observing time (measured: the reverse order, hours first, left observed time within
    +-0.3 points at N = 200; see bench/results/scheduling.md).  Hand-written because it
    works on the ES/LS sequence above; an iteration budget (not a clock) keeps it
    deterministic for a seed.
    """
    owner, w_lo, w_hi, w_need = _window_index(prep)
    setup = prep.problem.setup_s
    if owner.size == 0 or not seq.blk:
        return seq, 0
    cur = seq
    cur_score = _score(cur)
    accepted = 0
    blocks = prep.problem.blocks
    cur_rooms = cur.rooms
    start_w = cur_score[0]
    for _ in range(iterations):
        if not prep.work.left():
            break
        n = len(cur.blk)
        movable = np.flatnonzero(cur.movable)
        if movable.size == 0:
            break
        trial = cur.copy()
        length = int(rng.integers(1, min(max_string, movable.size) + 1))
        first = int(movable[int(rng.integers(0, movable.size))])
        gone = [k for k in range(first, min(first + length, n)) if trial.movable[k]]
        removed = {trial.blk[k] for k in gone}
        for k in reversed(gone):
            trial.remove_range(k, 1)
        trial.recompute()
        # Insertion positions whose free stretch grew: the hole itself, and the slack that
        # spreads from it along the chain of blocks on either side.
        kept = np.setdiff1d(np.arange(n), gone)
        rooms = trial.rooms
        old_pos = np.concatenate([kept, [n]])  # old position of each new position
        adjacent = np.concatenate([[kept[0] == 0] if kept.size else [True], np.diff(kept) == 1])
        if kept.size:
            adjacent = np.concatenate([adjacent, [kept[-1] == n - 1]])[: rooms.size]
        grew = ~adjacent | (rooms > cur_rooms[old_pos] + 1.0)
        where = np.flatnonzero(grew)
        p0, p1 = (int(where[0]), int(where[-1])) if where.size else (0, len(trial.blk))
        t_a = float(trial.es[p0 - 1] + trial.dur[p0 - 1]) if p0 > 0 else -math.inf
        t_b = float(trial.ls[p1]) if p1 < len(trial.blk) else math.inf
        # blocks with a window that holds them inside the freed stretch (setups included)
        fits = np.minimum(w_hi, t_b - setup) - np.maximum(w_lo, t_a + setup) >= w_need - _EPS
        near = np.unique(owner[fits])
        cands = sorted({i for i in near.tolist() if i not in trial.placed} | removed)
        if not cands:
            continue
        noise = rng.uniform(0.7, 1.3, len(cands))
        mode = int(rng.integers(0, 3))
        if mode == 0:  # heaviest first
            key = prep.weight[cands] * noise
        elif mode == 1:  # longest first (favours observing time)
            key = prep.dur[cands] * noise
        else:  # best priority first, then longest
            key = (10.0 - prep.prio[cands]) * 1e6 + prep.dur[cands] * noise
        alpha = 0.02 if rng.random() < 0.5 else 0.0
        room = float(rooms[p0 : p1 + 1].max())
        for k in np.argsort(-key, kind="stable"):
            b = cands[int(k)]
            if not blocks[b].splittable and prep.dur[b] > room + _EPS and b not in removed:
                continue
            if blocks[b].splittable:
                if not trial.place(b):
                    continue
                p0, p1 = 0, len(trial.blk)  # chunks may land anywhere: widen the range
            elif b in removed:  # a removed block may move anywhere (relocation)
                pos = trial.try_insert(b, alpha)
                if pos is None:
                    continue
                if pos < p0:
                    p0 += 1
                if pos <= p1:
                    p1 += 1
            elif trial.try_insert(b, alpha, p0, p1) is not None:
                p1 += 1
            else:
                continue
            room = float(trial.rooms[p0 : p1 + 1].max())
        sc = _score(trial)
        # observed time first, then weighted hours, never below the construction's hours
        ok = sc[0] >= start_w - 1e-9 and (sc[1], sc[0]) >= (cur_score[1], cur_score[0])
        if ok:
            if sc != cur_score:
                accepted += 1
            cur, cur_score = trial, sc
            cur_rooms = cur.rooms
    return cur, accepted


def _default_iterations(n_blocks: int, n_visible: int) -> int:
    """Ruin-and-recreate iterations (a count, not a clock, so results are reproducible).

    Up to 600 blocks: about 1-2 s of work on one loaded core (3000 iterations, fewer as
    each costs more), and at most 40 per visible block for tiny instances.  Above 600
    blocks only a token 20 000 / N: there the week is already ~97 % observed and the time
    is kept for the "100x faster than astroplan's PriorityScheduler at N = 1000" target.
    """
    if n_blocks > 600:
        return min(20_000 // n_blocks, 40 * n_visible)
    return int(min(3000, 600_000 // max(n_blocks, 1), 40 * n_visible))
