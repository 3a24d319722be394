"""The result of a schedule: entries, unscheduled blocks with their reasons, and the
figures; also a result built from entries placed by another scheduler."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from opencall.optim import sky
from opencall.optim.intervals import subtract as _subtract
from opencall.optim.messages import Message, render
from opencall.optim.scheduling.geometry import _weight
from opencall.optim.scheduling.prepare import _Prep
from opencall.optim.scheduling.problem import (
    REASON_CROWDED_OUT,
    FastScheduleProblem,
    FastScheduleResult,
    ScheduledEntry,
    SolverStats,
    UnscheduledBlock,
)
from opencall.optim.scheduling.sequence import _Seq


def _build_result(
    prep: _Prep,
    seq: _Seq,
    fixed_reasons: dict[int, tuple[str, Message]],
    t_start: float,
    restarts: int,
    heuristic_wh: float,
    exact_status: str,
    exact_wall: float,
    moves: int,
    method: str,
) -> FastScheduleResult:
    problem = prep.problem
    starts = seq.final_starts()
    entries: list[ScheduledEntry] = []
    chunk_no: dict[int, int] = {}
    for k, b in enumerate(seq.blk):
        c = chunk_no.get(b, 0)
        chunk_no[b] = c + 1
        entries.append(
            ScheduledEntry(problem.blocks[b].id, starts[k], starts[k] + seq.dur[k], chunk=c)
        )
    unscheduled: list[UnscheduledBlock] = []
    for i, blk in enumerate(problem.blocks):
        if i in seq.placed:
            continue
        if i in fixed_reasons:
            r, d = fixed_reasons[i]
        else:
            r, d = prep.reason[i], prep.detail[i]
        unscheduled.append(UnscheduledBlock(blk.id, r, render(d), d))
    observed = seq.observed_s()
    avail = problem.window_end_unix - problem.window_start_unix
    cut = _subtract(
        [(problem.window_start_unix, problem.window_end_unix)],
        sorted((m.start_unix, m.end_unix) for m in problem.maintenance),
    )
    avail = sum(c - a for a, c in cut)
    # full-gain fraction: sampled once a minute (reporting only, not a constraint)
    fg_num = 0.0
    fg_den = 0.0
    if entries:
        ra = np.array([problem.blocks[b].ra_deg for b in seq.blk])
        dec = np.array([problem.blocks[b].dec_deg for b in seq.blk])
        st = np.array(starts)
        du = np.asarray(seq.dur)
        frac = (np.arange(30) + 0.5) / 30.0
        ts = st[:, None] + du[:, None] * frac[None, :]
        z = sky.zenith_angle_deg(
            ra[:, None],
            dec[:, None],
            ts,
            problem.site,
            epoch_unix=0.5 * (problem.window_start_unix + problem.window_end_unix),
        )
        fg_num = float(np.sum((z <= problem.full_gain_zenith_deg).mean(axis=1) * du))
        fg_den = float(du.sum())
    stats = SolverStats(
        method=method,
        wall_s=time.perf_counter() - t_start,
        restarts=restarts,
        heuristic_weighted_hours=heuristic_wh,
        exact_status=exact_status,
        exact_wall_s=exact_wall,
        local_search_moves=moves,
    )
    return FastScheduleResult(
        entries=tuple(sorted(entries, key=lambda e: e.start_unix)),
        unscheduled=tuple(unscheduled),
        priority_weighted_hours=seq.weighted_hours(),
        observed_hours=observed / 3600.0,
        observing_fraction=observed / avail if avail > 0 else 0.0,
        full_gain_fraction=fg_num / fg_den if fg_den > 0 else 0.0,
        stats=stats,
    )


def result_from_entries(
    problem: FastScheduleProblem,
    entries: Sequence[ScheduledEntry],
    method: str = "external",
    wall_s: float = 0.0,
) -> FastScheduleResult:
    """Wrap another scheduler's placements (e.g. astroplan's) so ``check`` can judge them.

    Blocks without an entry are listed as ``crowded_out`` (reasons are not known).

    Parameters
    ----------
    problem : FastScheduleProblem
        The problem the placements answer.
    entries : sequence of ScheduledEntry
        The placements (block id, start and end in Unix seconds).
    method : str, optional
        The name of the scheduler, kept in the result's ``stats``.
    wall_s : float, optional
        The scheduler's wall time in seconds, kept in ``stats``.

    Returns
    -------
    FastScheduleResult
        The placements with their figures (priority-weighted and observed hours,
        observing and full-gain fractions), ready for :func:`check_schedule`.

    References
    ----------
    .. [1] Morris, B. M., et al. (2018). astroplan: an open source observation
       planning package in Python. *The Astronomical Journal* 155, 128.
    """
    by_id = {b.id: b for b in problem.blocks}
    placed = {e.block_id for e in entries}
    observed = sum(e.end_unix - e.start_unix for e in entries)
    avail = problem.window_end_unix - problem.window_start_unix
    wh = sum(_weight(by_id[b].priority, by_id[b].duration_s) for b in placed if b in by_id)
    return FastScheduleResult(
        entries=tuple(sorted(entries, key=lambda e: e.start_unix)),
        unscheduled=tuple(
            UnscheduledBlock(b.id, REASON_CROWDED_OUT, "not placed")
            for b in problem.blocks
            if b.id not in placed
        ),
        priority_weighted_hours=wh,
        observed_hours=observed / 3600.0,
        observing_fraction=observed / avail,
        full_gain_fraction=float("nan"),
        stats=SolverStats(method, wall_s, 0, wh),
    )
