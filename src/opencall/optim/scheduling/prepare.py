"""Preparation: each block's visibility windows inside the UTC window (less the
maintenance windows), its weight, the pairwise gaps, and why a block can never go."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from opencall.optim import sky
from opencall.optim.arrays import FloatArray
from opencall.optim.intervals import subtract as _subtract
from opencall.optim.messages import M_, Message
from opencall.optim.scheduling.geometry import _unit_vectors
from opencall.optim.scheduling.problem import (
    _EDGE_MARGIN_S,
    REASON_CROWDED_OUT,
    REASON_MAINTENANCE,
    REASON_NEVER_VISIBLE,
    REASON_NO_WINDOW_LONG_ENOUGH,
    FastScheduleProblem,
)


@dataclass
class _Work:
    """The search's work, counted in array cells its steps evaluate (an insertion test:
    positions x windows; a recompute or a copy: the sequence's items), and its limit.

    A count, not a clock, so that a schedule cut short by the limit is the same on every
    machine and under any load for a seed (a wall-clock limit would not be)."""

    limit: int | None = None
    used: int = 0
    exhausted: bool = False

    def spend(self, cells: int) -> None:
        self.used += int(cells)

    def left(self) -> bool:
        """False once the limit is reached (and from then on: ``exhausted`` is the flag)."""
        if self.limit is not None and self.used >= self.limit:
            self.exhausted = True
        return not self.exhausted


@dataclass
class _Prep:
    problem: FastScheduleProblem
    n: int
    dur: FloatArray
    prio: npt.NDArray[np.int64]
    weight: FloatArray
    xyz: FloatArray
    # allowed start ranges per block (for the whole block): arrays lo, hi (start bounds)
    win_lo: list[FloatArray]
    win_hi: list[FloatArray]
    win_ideal: list[FloatArray]
    # usable pieces (visibility minus maintenance) for chunking
    pieces: list[list[tuple[float, float]]]
    transits: list[FloatArray]
    reason: list[str]  # reason if it ends up unplaced
    detail: list[Message]  # why, as a message (``optim.messages``)
    fixed: list[int]
    flexible: list[int]
    #: per block, its pieces as arrays (starts, ends) and their total length, filled on use
    piece_arrays: dict[int, tuple[FloatArray, FloatArray, float]] = field(default_factory=dict)
    #: the work spent by the search and its limit (``schedule_fast``'s ``work_limit``)
    work: _Work = field(default_factory=_Work)

    def piece_array(self, b: int) -> tuple[FloatArray, FloatArray, float]:
        """Block ``b``'s pieces as arrays of starts and ends, and their total length."""
        got = self.piece_arrays.get(b)
        if got is None:
            a = np.array([lo for lo, _ in self.pieces[b]], dtype=np.float64)
            c = np.array([hi for _, hi in self.pieces[b]], dtype=np.float64)
            got = self.piece_arrays[b] = (a, c, float(np.sum(c - a)))
        return got


def _prepare(problem: FastScheduleProblem) -> _Prep:
    blocks = problem.blocks
    n = len(blocks)
    t0, t1 = problem.window_start_unix, problem.window_end_unix
    ra = np.array([b.ra_deg for b in blocks], dtype=np.float64)
    dec = np.array([b.dec_deg for b in blocks], dtype=np.float64)
    dur = np.array([b.duration_s for b in blocks], dtype=np.float64)
    prio = np.array([b.priority for b in blocks], dtype=np.int64)
    weight = (6 - prio) * dur / 3600.0
    epoch = 0.5 * (t0 + t1)
    ra_p, dec_p = sky.precess_from_j2000(ra, dec, epoch)
    xyz = _unit_vectors(ra, dec)
    margin = problem.margin_deg()
    zmin_in = np.array([b.min_zenith_deg for b in blocks], dtype=np.float64)
    vi = sky.visible_intervals(
        ra,
        dec,
        t0,
        t1,
        problem.site,
        np.array([b.max_zenith_deg for b in blocks]) - margin,
        np.where(zmin_in > 0.0, zmin_in + margin, 0.0),
        epoch_unix=epoch,
    )
    tr_t, tr_time = sky._transits_from_precessed_ra(ra_p, t0, t1, problem.site)
    split_at = np.searchsorted(vi.target, np.arange(n + 1))
    tsplit = np.searchsorted(tr_t, np.arange(n + 1))
    cut = [
        (m.start_unix, m.end_unix + problem.setup_s)
        for m in sorted(problem.maintenance, key=lambda m: m.start_unix)
    ]
    win_lo: list[FloatArray] = []
    win_hi: list[FloatArray] = []
    win_ideal: list[FloatArray] = []
    pieces_all: list[list[tuple[float, float]]] = []
    transits: list[FloatArray] = []
    reason: list[str] = []
    detail: list[Message] = []
    fixed: list[int] = []
    flexible: list[int] = []
    for i, b in enumerate(blocks):
        s = vi.start[split_at[i] : split_at[i + 1]]
        e = vi.end[split_at[i] : split_at[i + 1]]
        raw = [
            (
                float(a) + (_EDGE_MARGIN_S if a > t0 else 0.0),
                float(c) - (_EDGE_MARGIN_S if c < t1 else 0.0),
            )
            for a, c in zip(s, e, strict=True)
        ]
        raw = [(a, c) for a, c in raw if c > a]
        pieces = _subtract(raw, cut)
        trs = tr_time[tsplit[i] : tsplit[i + 1]]
        transits.append(trs)
        pieces_all.append(pieces)
        need = min(b.duration_s, b.min_chunk_s) if b.splittable else b.duration_s
        if not raw:
            reason.append(REASON_NEVER_VISIBLE)
            detail.append(M_("never within the zenith limits during the window"))
        elif not any(c - a >= need for a, c in raw):
            reason.append(REASON_NO_WINDOW_LONG_ENOUGH)
            longest = max(c - a for a, c in raw)
            detail.append(
                M_(
                    "longest visible stretch %(longest)s min < %(need)s min",
                    longest=f"{longest / 60:.0f}",
                    need=f"{need / 60:.0f}",
                )
            )
        elif not any(c - a >= need for a, c in pieces):
            reason.append(REASON_MAINTENANCE)
            detail.append(M_("visible long enough only across maintenance"))
        else:
            reason.append(REASON_CROWDED_OUT)
            detail.append(M_("room taken by higher-weight blocks"))
        lo = np.array([a for a, c in pieces if c - a >= b.duration_s], dtype=np.float64)
        hi = np.array([c - b.duration_s for a, c in pieces if c - a >= b.duration_s])
        ideal = np.empty_like(lo)
        for k in range(lo.size):
            mid = 0.5 * (lo[k] + hi[k] + b.duration_s)
            tt = trs[np.argmin(np.abs(trs - mid))] if trs.size else mid
            ideal[k] = tt - 0.5 * b.duration_s
        win_lo.append(lo)
        win_hi.append(hi.astype(np.float64))
        win_ideal.append(ideal)
        (fixed if b.fixed_start_unix is not None else flexible).append(i)
    return _Prep(
        problem,
        n,
        dur,
        prio,
        weight,
        xyz,
        win_lo,
        win_hi,
        win_ideal,
        pieces_all,
        transits,
        reason,
        detail,
        fixed,
        flexible,
    )
