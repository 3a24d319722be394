"""FAST observing-block scheduler.

Problem: place observing blocks (target, duration, priority 1-5) in a UTC window so that
every instant of every block is within the block's zenith-angle limits, blocks do not
overlap, consecutive blocks are separated by a setup time plus a slew time, maintenance
windows are respected and blocks with a fixed start (pulsar timing, coordinated
campaigns) are at their times.  Objective: priority-weighted hours, sum (6 - p) * hours.

Slew model (documented choice): FAST is not a mechanical alt-az mount; its feed cabin is
moved by cables over the focal surface and the active reflector re-forms the paraboloid
under the new pointing, so the move is proportional to the angle between the two
pointings.  We therefore use the great-circle distance between the targets (which, for
two pointings at the same instant, is the same in alt-az and in RA/Dec, so it is
time-independent), at ``slew_deg_per_s``.  astroplan's ``Transitioner`` uses the same
great-circle separation in alt-az, so the benchmark compares like with like.  A gap of
``setup_s + separation / slew_deg_per_s`` is required between consecutive blocks; the first
block of the window needs none (the telescope may be set up before the window opens) and
the first block after a maintenance window needs ``setup_s`` after it ends.

Approach (measured, see bench/results/scheduling.md): visibility windows are computed in
closed form (``optim.sky``), and the schedule is kept as a *sequence* of blocks whose
start times float between an earliest (ES) and latest (LS) start, as in insertion
heuristics for vehicle routing with time windows.  That makes "can block u go between
blocks i and j" an O(1) test (vectorised over all positions and visibility windows), so
we can afford:

1. priority-ordered best insertion from several orderings (restarts, seeded);
2. local search: replace a run of up to three lower-weight blocks by a heavier unscheduled
   one, re-inserting what was removed, and fill passes;
2b. ruin and recreate (a large-neighbourhood search): remove a random run of blocks,
   refill the freed time from every block that could use it, and keep the change if
   observed time does not fall and priority-weighted hours stay at or above what step 2
   reached -- this is what lifts observed time past astroplan's SequentialScheduler;
3. for small instances, an exact CP-SAT model (circuit over optional blocks with
   sequence-dependent transition times) warm-started from the heuristic, with a
   deterministic time limit, single worker, so results are reproducible for a seed;
4. a final forward pass that places each block as close to its transit (lowest zenith
   angle, FAST full gain within 26.4 deg) as the slack allows.

Every block is kept ``FastScheduleProblem.margin_deg()`` (about 47 arcsec) inside its
zenith limits by the closed-form model: that is the bound on the model's difference from
astropy's full AltAz chain (``sky.apparent_place_margin_deg``), so every second of every
block is also inside the limits when judged by astropy (tests/optim/test_scheduling.py and
bench/bench_scheduling.py judge at one-second resolution).

A hand-written core is used because no library fits: astroplan's schedulers are two orders
of magnitude slower and violate their own constraints at block ends (see the benchmark),
and a generic CP-SAT model alone does not scale to thousands of blocks over a week.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from opencall.optim import sky
from opencall.optim.sky import FAST_SITE, Site

FloatArray = npt.NDArray[np.float64]

REASON_NEVER_VISIBLE = "never_visible"
REASON_NO_WINDOW_LONG_ENOUGH = "no_window_long_enough"
REASON_CROWDED_OUT = "crowded_out"
REASON_FIXED_NOT_VISIBLE = "fixed_time_not_visible"
REASON_MAINTENANCE = "conflicts_with_maintenance"
REASONS = (
    REASON_NEVER_VISIBLE,
    REASON_NO_WINDOW_LONG_ENOUGH,
    REASON_CROWDED_OUT,
    REASON_FIXED_NOT_VISIBLE,
    REASON_MAINTENANCE,
)

_EDGE_MARGIN_S = 1.0  # visibility windows are shrunk by this much at each end
_EPS = 1e-6


@dataclass(frozen=True)
class FastBlock:
    """One observing block.  ``priority`` 1 is best, 5 worst.

    A splittable block may be observed in several chunks of at least ``min_chunk_s`` each
    (each chunk pays its own setup); it is scheduled in full or not at all.
    ``fixed_start_unix`` pins the block (pulsar timing, coordinated observations).
    """

    id: str
    ra_deg: float
    dec_deg: float
    duration_s: float
    priority: int = 3
    max_zenith_deg: float = sky.FAST_MAX_ZENITH_DEG
    min_zenith_deg: float = 0.0
    splittable: bool = False
    min_chunk_s: float = 1800.0
    fixed_start_unix: float | None = None


@dataclass(frozen=True)
class MaintenanceWindow:
    start_unix: float
    end_unix: float
    label: str = "maintenance"


@dataclass(frozen=True)
class FastScheduleProblem:
    window_start_unix: float
    window_end_unix: float
    blocks: tuple[FastBlock, ...]
    maintenance: tuple[MaintenanceWindow, ...] = ()
    site: Site = FAST_SITE
    setup_s: float = 120.0
    slew_deg_per_s: float = 0.2
    full_gain_zenith_deg: float = sky.FAST_FULL_GAIN_ZENITH_DEG
    #: How far inside its zenith limits every block is kept by the closed-form model.
    #: None (default): ``sky.apparent_place_margin_deg`` of the window, the bound on the
    #: model's difference from astropy's full AltAz chain, so that schedules stay inside
    #: the limits when judged by astropy; 0 trusts the closed-form model alone.
    zenith_margin_deg: float | None = None

    def margin_deg(self) -> float:
        """The zenith margin in effect (see ``zenith_margin_deg``)."""
        if self.zenith_margin_deg is not None:
            return self.zenith_margin_deg
        return sky.apparent_place_margin_deg(self.window_start_unix, self.window_end_unix)

    def validate(self) -> None:
        """Raise ValueError with a clear message on malformed input."""
        if not self.window_end_unix > self.window_start_unix:
            raise ValueError("window_end_unix must be after window_start_unix")
        if self.zenith_margin_deg is not None and not 0.0 <= self.zenith_margin_deg < 1.0:
            raise ValueError("zenith_margin_deg must be in [0, 1) degrees")
        if self.setup_s < 0 or self.slew_deg_per_s <= 0:
            raise ValueError("setup_s must be >= 0 and slew_deg_per_s > 0")
        seen: set[str] = set()
        for b in self.blocks:
            if b.id in seen:
                raise ValueError(f"duplicate block id {b.id!r}")
            seen.add(b.id)
            if not (1 <= b.priority <= 5):
                raise ValueError(f"block {b.id!r}: priority must be 1..5")
            if not b.duration_s > 0:
                raise ValueError(f"block {b.id!r}: duration_s must be > 0")
            if not (0 <= b.min_zenith_deg < b.max_zenith_deg <= 180):
                raise ValueError(f"block {b.id!r}: need 0 <= min_zenith < max_zenith <= 180")
            if not (-90 <= b.dec_deg <= 90):
                raise ValueError(f"block {b.id!r}: dec_deg out of range")
            if b.splittable and not b.min_chunk_s > 0:
                raise ValueError(f"block {b.id!r}: min_chunk_s must be > 0")
        for m in self.maintenance:
            if not m.end_unix > m.start_unix:
                raise ValueError(f"maintenance {m.label!r}: end must be after start")


@dataclass(frozen=True)
class ScheduledEntry:
    block_id: str
    start_unix: float
    end_unix: float
    chunk: int = 0


@dataclass(frozen=True)
class UnscheduledBlock:
    block_id: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class SolverStats:
    method: str
    wall_s: float
    restarts: int
    heuristic_weighted_hours: float
    exact_status: str = "not_run"
    exact_wall_s: float = 0.0
    local_search_moves: int = 0


@dataclass(frozen=True)
class FastScheduleResult:
    entries: tuple[ScheduledEntry, ...]
    unscheduled: tuple[UnscheduledBlock, ...]
    priority_weighted_hours: float
    observed_hours: float
    observing_fraction: float
    full_gain_fraction: float
    stats: SolverStats = field(compare=False)

    def check(
        self, problem: FastScheduleProblem, tol_deg: float = 0.0, tol_s: float = 1e-3
    ) -> list[str]:
        """Feasibility check at one-second resolution; an empty list means feasible.

        Every whole second inside every entry and the entry's exact end are tested
        against the block's zenith limits (``tol_deg`` allows for a different pointing
        model, e.g. when checking another scheduler's output); ``tol_s`` likewise for
        the setup + slew gaps.
        """
        return check_schedule(problem, self, tol_deg, tol_s)


# --------------------------------------------------------------------------- helpers


def _unit_vectors(ra_deg: FloatArray, dec_deg: FloatArray) -> FloatArray:
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)


def _gaps(problem: FastScheduleProblem, xyz_a: FloatArray, xyz_b: FloatArray) -> FloatArray:
    """setup + great-circle slew time between unit vectors (broadcasting over rows)."""
    cross = np.linalg.norm(np.cross(xyz_a, xyz_b), axis=-1)
    dot = np.sum(xyz_a * xyz_b, axis=-1)
    sep = np.degrees(np.arctan2(cross, dot))
    return np.asarray(problem.setup_s + sep / problem.slew_deg_per_s, dtype=np.float64)


def _gap_row(problem: FastScheduleProblem, xyz_rows: FloatArray, xyz_one: FloatArray) -> FloatArray:
    """Fast path of ``_gaps`` for many rows against one vector (dot product + arccos;
    error ~1e-5 s, far inside the checker's 1e-3 s tolerance)."""
    dot = np.clip(xyz_rows @ xyz_one, -1.0, 1.0)
    return np.asarray(
        problem.setup_s + np.degrees(np.arccos(dot)) / problem.slew_deg_per_s, dtype=np.float64
    )


def _subtract(
    pieces: list[tuple[float, float]], cut: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    out = pieces
    for cs, ce in cut:
        nxt: list[tuple[float, float]] = []
        for a, b in out:
            if ce <= a or cs >= b:
                nxt.append((a, b))
                continue
            if a < cs:
                nxt.append((a, cs))
            if ce < b:
                nxt.append((ce, b))
        out = nxt
    return out


def _weight(priority: int, duration_s: float) -> float:
    return (6 - priority) * duration_s / 3600.0


# --------------------------------------------------------------------------- checker


def check_schedule(
    problem: FastScheduleProblem,
    result: FastScheduleResult,
    tol_deg: float = 0.0,
    tol_s: float = 1e-3,
) -> list[str]:
    errors: list[str] = []
    by_id = {b.id: (i, b) for i, b in enumerate(problem.blocks)}
    t0, t1 = problem.window_start_unix, problem.window_end_unix
    entries = sorted(result.entries, key=lambda e: (e.start_unix, e.end_unix))
    placed_ids: dict[str, list[ScheduledEntry]] = {}
    for e in entries:
        if e.block_id not in by_id:
            errors.append(f"entry for unknown block {e.block_id!r}")
            continue
        placed_ids.setdefault(e.block_id, []).append(e)
        if not e.end_unix > e.start_unix:
            errors.append(f"{e.block_id}: empty or negative entry")
        if e.start_unix < t0 - _EPS or e.end_unix > t1 + _EPS:
            errors.append(f"{e.block_id}: outside the scheduling window")
    unsched_ids = [u.block_id for u in result.unscheduled]
    if len(set(unsched_ids)) != len(unsched_ids):
        errors.append("a block is listed as unscheduled twice")
    for u in result.unscheduled:
        if u.reason not in REASONS:
            errors.append(f"{u.block_id}: unknown reason {u.reason!r}")
        if u.block_id in placed_ids:
            errors.append(f"{u.block_id}: both placed and unscheduled")
    for bid, (_, b) in by_id.items():
        es = placed_ids.get(bid)
        if es is None:
            if bid not in unsched_ids:
                errors.append(f"{bid}: neither placed nor given a reason")
            continue
        total = sum(e.end_unix - e.start_unix for e in es)
        if abs(total - b.duration_s) > 1e-3:
            errors.append(f"{bid}: placed {total:.1f} s of {b.duration_s:.1f} s")
        if len(es) > 1:
            if not b.splittable:
                errors.append(f"{bid}: not splittable but placed in {len(es)} chunks")
            elif any(e.end_unix - e.start_unix < b.min_chunk_s - 1e-3 for e in es):
                errors.append(f"{bid}: a chunk is shorter than min_chunk_s")
        if b.fixed_start_unix is not None and (
            len(es) != 1 or abs(es[0].start_unix - b.fixed_start_unix) > 1e-3
        ):
            errors.append(f"{bid}: fixed block not at its fixed start")
    good = [e for e in entries if e.block_id in by_id]
    if not good:
        return errors
    idx = np.array([by_id[e.block_id][0] for e in good], dtype=np.int64)
    st = np.array([e.start_unix for e in good])
    en = np.array([e.end_unix for e in good])
    ra = np.array([b.ra_deg for b in problem.blocks])
    dec = np.array([b.dec_deg for b in problem.blocks])
    zmax = np.array([b.max_zenith_deg for b in problem.blocks])
    zmin = np.array([b.min_zenith_deg for b in problem.blocks])
    # zenith limits at one-second resolution, including each entry's exact end
    owner, ts = _second_samples(st, en)
    epoch = 0.5 * (t0 + t1)
    blk = idx[owner]
    z = sky.zenith_angle_deg(ra[blk], dec[blk], ts, problem.site, epoch_unix=epoch)
    errors.extend(_zenith_errors(good, owner, z, zmax[blk], zmin[blk], tol_deg))
    # overlaps and setup + slew gaps between consecutive entries
    xyz = _unit_vectors(ra, dec)
    if len(good) > 1:
        need = _gaps(problem, xyz[idx[:-1]], xyz[idx[1:]])
        have = st[1:] - en[:-1]
        for k in np.flatnonzero(have < need - tol_s):
            kind = "overlaps" if have[k] < 0 else "too close to"
            errors.append(
                f"{good[k + 1].block_id} {kind} {good[k].block_id}: gap {have[k]:.1f} s, "
                f"need {need[k]:.1f} s"
            )
    for m in problem.maintenance:
        clash = (st - problem.setup_s < m.end_unix - 1e-3) & (en > m.start_unix + 1e-3)
        for k in np.flatnonzero(clash):
            errors.append(f"{good[k].block_id}: overlaps maintenance {m.label!r} (or its setup)")
    w = sum(
        _weight(by_id[bid][1].priority, by_id[bid][1].duration_s)
        for bid in placed_ids
        if bid in by_id
    )
    if abs(w - result.priority_weighted_hours) > 1e-6 * max(1.0, w):
        errors.append("priority_weighted_hours does not match the entries")
    return errors


def _second_samples(st: FloatArray, en: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """(entry index, time) of every whole second from each start, and each exact end."""
    n_samp = np.floor(en - st).astype(np.int64) + 1  # start, start+1, ..., then the end
    owner = np.repeat(np.arange(st.size), n_samp + 1)
    offs = np.arange(owner.size) - np.repeat(np.cumsum(n_samp + 1) - (n_samp + 1), n_samp + 1)
    ts = st[owner] + offs.astype(np.float64)
    last = np.cumsum(n_samp + 1) - 1
    ts[last] = en
    ts = np.minimum(ts, en[owner])
    return owner, ts


def _zenith_errors(
    good: Sequence[ScheduledEntry],
    owner: npt.NDArray[np.int64],
    z: FloatArray,
    zmax: FloatArray,
    zmin: FloatArray,
    tol_deg: float,
) -> list[str]:
    bad = (z > zmax + tol_deg) | (z < zmin - tol_deg)
    if not bad.any():
        return []
    bad_count = np.bincount(owner[bad], minlength=len(good))
    worst = np.zeros(len(good))
    excess = np.maximum(z - zmax, zmin - z)
    np.maximum.at(worst, owner[bad], excess[bad])
    return [
        f"{good[k].block_id}: outside zenith limits for {bad_count[k]} s "
        f"(worst by {worst[k]:.4f} deg, {worst[k] * 3600:.1f} arcsec)"
        for k in np.flatnonzero(bad_count).tolist()
    ]


def check_zenith_with_astropy(
    problem: FastScheduleProblem,
    result: FastScheduleResult,
    interpolate_s: float | None = 300.0,
    chunk: int = 2_000_000,
) -> list[str]:
    """Judge every whole second (and the exact end) of every entry by astropy.

    The zenith angle comes from astropy's full ICRS -> AltAz chain
    (``sky.astropy_zenith_angle_deg``, offline, refraction off); no tolerance.  With
    ``interpolate_s`` astropy's own astrometry interpolator is used (300 s: altitudes
    within 1e-7 arcsec of the unmodified chain, about 50x faster); None runs the chain
    unmodified (about 75 us per second judged).  Entries of unknown blocks are skipped
    (``check`` reports them).  An empty list means no second is outside the limits.
    """
    by_id = {b.id: (i, b) for i, b in enumerate(problem.blocks)}
    good = sorted(
        (e for e in result.entries if e.block_id in by_id), key=lambda e: (e.start_unix, e.end_unix)
    )
    if not good:
        return []
    idx = np.array([by_id[e.block_id][0] for e in good], dtype=np.int64)
    st = np.array([e.start_unix for e in good])
    en = np.array([e.end_unix for e in good])
    ra = np.array([b.ra_deg for b in problem.blocks])
    dec = np.array([b.dec_deg for b in problem.blocks])
    zmax = np.array([b.max_zenith_deg for b in problem.blocks])
    zmin = np.array([b.min_zenith_deg for b in problem.blocks])
    owner, ts = _second_samples(st, en)
    blk = idx[owner]
    z = np.empty_like(ts)
    for a in range(0, ts.size, chunk):
        sl = slice(a, a + chunk)
        z[sl] = sky.astropy_zenith_angle_deg(
            ra[blk[sl]], dec[blk[sl]], ts[sl], problem.site, interpolate_s=interpolate_s
        )
    return _zenith_errors(good, owner, z, zmax[blk], zmin[blk], 0.0)


# --------------------------------------------------------------------------- preparation


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
    detail: list[str]
    fixed: list[int]
    flexible: list[int]


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
    detail: list[str] = []
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
            detail.append("never within the zenith limits during the window")
        elif not any(c - a >= need for a, c in raw):
            reason.append(REASON_NO_WINDOW_LONG_ENOUGH)
            longest = max(c - a for a, c in raw)
            detail.append(f"longest visible stretch {longest / 60:.0f} min < {need / 60:.0f} min")
        elif not any(c - a >= need for a, c in pieces):
            reason.append(REASON_MAINTENANCE)
            detail.append("visible long enough only across maintenance")
        else:
            reason.append(REASON_CROWDED_OUT)
            detail.append("room taken by higher-weight blocks")
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


# --------------------------------------------------------------------------- sequence


class _Seq:
    """Blocks in time order with floating start times in [ES, LS]."""

    def __init__(self, prep: _Prep) -> None:
        self.prep = prep
        self.blk: list[int] = []
        self.dur: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.ideal: list[float] = []
        self.pinned: list[bool] = []
        self.chunked: list[bool] = []
        self.es: FloatArray = np.zeros(0)
        self.ls: FloatArray = np.zeros(0)
        self.g: FloatArray = np.zeros(0)  # g[k] = gap between item k-1 and k (g[0] = 0)
        self.placed: set[int] = set()
        self._cache_arrays()

    def copy(self) -> _Seq:
        s = _Seq(self.prep)
        s.blk = list(self.blk)
        s.dur = list(self.dur)
        s.lo = list(self.lo)
        s.hi = list(self.hi)
        s.ideal = list(self.ideal)
        s.pinned = list(self.pinned)
        s.chunked = list(self.chunked)
        s.es, s.ls, s.g = self.es.copy(), self.ls.copy(), self.g.copy()
        s.placed = set(self.placed)
        s._cache_arrays()
        return s

    def recompute(self) -> bool:
        n = len(self.blk)
        p = self.prep
        if n == 0:
            self.es = np.zeros(0)
            self.ls = np.zeros(0)
            self.g = np.zeros(0)
            self._cache_arrays()
            return True
        b = np.asarray(self.blk)
        g = np.zeros(n)
        if n > 1:
            dot = np.clip(np.sum(p.xyz[b[:-1]] * p.xyz[b[1:]], axis=1), -1.0, 1.0)
            g[1:] = p.problem.setup_s + np.degrees(np.arccos(dot)) / p.problem.slew_deg_per_s
        es = [0.0] * n
        ls = [0.0] * n
        prev_end = -math.inf
        for k in range(n):
            v = max(self.lo[k], prev_end + g[k])
            es[k] = v
            prev_end = v + self.dur[k]
        nxt = math.inf
        for k in range(n - 1, -1, -1):
            v = min(self.hi[k], nxt - self.dur[k])
            ls[k] = v
            nxt = v - g[k]
        self.es = np.asarray(es)
        self.ls = np.asarray(ls)
        self.g = g
        self._cache_arrays()
        return bool(np.all(self.es <= self.ls + _EPS))

    def _cache_arrays(self) -> None:
        """Arrays derived from the lists, refreshed by ``recompute`` after every change."""
        self.blk_arr = np.asarray(self.blk, dtype=np.int64)
        self.dur_arr = np.asarray(self.dur, dtype=np.float64)
        n = self.blk_arr.size
        ends = self.es + self.dur_arr
        # per insertion position 0..n: previous earliest end, next latest start, old gap
        self.prev_end_pad = np.concatenate([[-np.inf], ends])
        self.next_ls_pad = np.concatenate([self.ls, [np.inf]])
        self.g_pad = np.concatenate([[0.0], self.g[1:], [0.0]]) if n else np.zeros(1)
        self.rooms = self.next_ls_pad - self.prev_end_pad
        self.max_room = float(self.rooms.max())
        movable = ~(np.asarray(self.pinned, dtype=bool) | np.asarray(self.chunked, dtype=bool))
        self.movable = movable
        self._runs_ready = False

    def _runs(self) -> tuple[list[FloatArray], list[FloatArray]]:
        """Room freed and weight lost by removing each run of 1..3 consecutive items
        (computed on demand: only the replacement move needs them)."""
        if self._runs_ready:
            return self.run_room, self.run_w
        p = self.prep
        n = self.blk_arr.size
        movable = self.movable
        ends = self.es + self.dur_arr
        wt = p.weight[self.blk_arr] if n else np.zeros(0)
        csum_w = np.concatenate([[0.0], np.cumsum(np.where(movable, wt, 0.0))])
        csum_fix = np.concatenate([[0], np.cumsum(~movable)])
        # room freed by removing the run [r, r + m): next LS minus previous end
        prev_end = np.concatenate([[-np.inf], ends])
        next_ls = np.concatenate([self.ls, [np.inf]])
        self.run_room: list[FloatArray] = []
        self.run_w: list[FloatArray] = []
        for m in range(1, 4):
            r = np.arange(0, max(n - m + 1, 0))
            self.run_room.append(next_ls[r + m] - prev_end[r])
            # a run holding a pinned or chunked item can never be removed: weight inf
            w_run = csum_w[r + m] - csum_w[r]
            self.run_w.append(np.where(csum_fix[r + m] > csum_fix[r], np.inf, w_run))
        self._runs_ready = True
        return self.run_room, self.run_w

    def insert(self, pos: int, blk: int, dur: float, lo: float, hi: float, ideal: float) -> None:
        self.blk.insert(pos, blk)
        self.dur.insert(pos, dur)
        self.lo.insert(pos, lo)
        self.hi.insert(pos, hi)
        self.ideal.insert(pos, ideal)
        self.pinned.insert(
            pos, lo == hi and self.prep.problem.blocks[blk].fixed_start_unix is not None
        )
        self.chunked.insert(pos, dur < self.prep.dur[blk] - _EPS)
        self.placed.add(blk)

    def remove_range(self, r: int, m: int) -> list[int]:
        gone = self.blk[r : r + m]
        for lst in (self.blk, self.dur, self.lo, self.hi, self.ideal, self.pinned, self.chunked):
            del lst[r : r + m]
        for b in gone:
            self.placed.discard(b)
        return gone

    # -- insertion evaluation -------------------------------------------------------

    def best_insertion(
        self, b: int, alpha: float = 0.02, p0: int = 0, p1: int | None = None
    ) -> tuple[float, int, float, float, float] | None:
        """Cheapest feasible insertion of the whole block at a position in [p0, p1]
        (default: anywhere): (cost, pos, lo, hi, ideal)."""
        p = self.prep
        lo_w, hi_w, id_w = p.win_lo[b], p.win_hi[b], p.win_ideal[b]
        if lo_w.size == 0:
            return None
        n = len(self.blk)
        d = p.dur[b]
        if d > self.max_room + _EPS:
            return None
        if n == 0:
            k = 0
            return (0.0, 0, float(lo_w[k]), float(hi_w[k]), float(id_w[k]))
        p1 = n if p1 is None else min(p1, n)
        p0 = max(p0, 0)
        first_item = max(p0 - 1, 0)
        last_item = min(p1, n - 1)
        # gap of b to items p0-1 .. p1 (0 beyond either end of the sequence)
        g_items = np.zeros(p1 - p0 + 2)
        g_items[first_item - (p0 - 1) : last_item - (p0 - 1) + 1] = _gap_row(
            p.problem, p.xyz[self.blk_arr[first_item : last_item + 1]], p.xyz[b]
        )
        gprev = g_items[:-1]
        gnext = g_items[1:]
        prev_end = self.prev_end_pad[p0 : p1 + 1]
        next_ls = self.next_ls_pad[p0 : p1 + 1]
        earliest = np.maximum(lo_w[None, :], (prev_end + gprev)[:, None])
        latest = np.minimum(hi_w[None, :], (next_ls - gnext - d)[:, None])
        feas = earliest <= latest + _EPS
        if not feas.any():
            return None
        added = gprev + gnext - self.g_pad[p0 : p1 + 1]  # minus the old gap pos-1 -> pos
        target = np.minimum(np.maximum(id_w[None, :], earliest), latest)
        cost = added[:, None] + alpha * np.abs(target - id_w[None, :])
        cost = np.where(feas, cost, np.inf)
        flat = int(np.argmin(cost))
        row, w = divmod(flat, lo_w.size)
        return (float(cost[row, w]), p0 + row, float(lo_w[w]), float(hi_w[w]), float(id_w[w]))

    def try_insert(
        self, b: int, alpha: float = 0.02, p0: int = 0, p1: int | None = None
    ) -> int | None:
        """Insert b at its cheapest feasible position in [p0, p1]; the position or None."""
        ins = self.best_insertion(b, alpha, p0, p1)
        if ins is None:
            return None
        _, pos, lo, hi, ideal = ins
        self.insert(pos, b, float(self.prep.dur[b]), lo, hi, ideal)
        ok = self.recompute()
        if not ok:  # numerical safety: undo
            self.remove_range(pos, 1)
            self.recompute()
            return None
        return pos

    def try_insert_chunks(self, b: int) -> bool:
        """Place a splittable block in chunks >= min_chunk (all or nothing)."""
        p = self.prep
        blk = p.problem.blocks[b]
        cmin = blk.min_chunk_s
        remaining = float(p.dur[b])
        backup = self.copy()
        placed_any = False
        for _ in range(64):
            if remaining <= _EPS:
                break
            n = len(self.blk)
            best: tuple[float, int, float, float] | None = None  # (avail, pos, a, c)
            bb = np.asarray(self.blk, dtype=np.int64)
            gb = _gap_row(p.problem, p.xyz[bb], p.xyz[b]) if n else np.zeros(0)
            for a, c in p.pieces[b]:
                for pos in range(n + 1):
                    start = a
                    if pos > 0:
                        start = max(start, self.es[pos - 1] + self.dur[pos - 1] + gb[pos - 1])
                    end = c
                    if pos < n:
                        end = min(end, self.ls[pos] - gb[pos])
                    avail = end - start
                    if avail >= cmin - _EPS and (best is None or avail > best[0] + _EPS):
                        best = (avail, pos, start, end)
            if best is None:
                break
            avail, pos, a, c = best
            length = min(remaining, avail)
            if remaining - length < cmin - _EPS and remaining - length > _EPS:
                length = remaining - cmin  # leave a valid last chunk
                if length < cmin - _EPS:
                    break
            self.insert(pos, b, length, a, c - length, a)
            self.chunked[pos] = True
            if not self.recompute():
                break
            remaining -= length
            placed_any = True
        if remaining <= _EPS and placed_any:
            self.placed.add(b)
            return True
        self._restore(backup)
        return False

    def _restore(self, other: _Seq) -> None:
        self.blk, self.dur, self.lo, self.hi = other.blk, other.dur, other.lo, other.hi
        self.ideal, self.pinned, self.chunked = other.ideal, other.pinned, other.chunked
        self.es, self.ls, self.g, self.placed = other.es, other.ls, other.g, other.placed
        self._cache_arrays()

    def place(self, b: int) -> bool:
        if self.try_insert(b) is not None:
            return True
        if self.prep.problem.blocks[b].splittable:
            return self.try_insert_chunks(b)
        return False

    # -- replacement move -----------------------------------------------------------

    def try_replace(self, u: int, max_run: int = 3) -> list[int] | None:
        """Remove a run of <= max_run lighter, unpinned, unchunked items to fit u.

        Returns the removed block indices (u is inserted) or None.
        """
        run_room, run_w = self._runs()
        max_run = min(max_run, len(run_w))
        p = self.prep
        lo_w, hi_w, id_w = p.win_lo[u], p.win_hi[u], p.win_ideal[u]
        n = len(self.blk)
        if lo_w.size == 0 or n == 0:
            return None
        wu = p.weight[u]
        d = p.dur[u]
        # quick necessary test: some run is lighter than u and frees enough room
        if not any(
            bool(np.any((rr >= d) & (rw < wu - _EPS)))
            for rr, rw in zip(run_room[:max_run], run_w[:max_run], strict=False)
        ):
            return None
        bb = self.blk_arr
        gb = _gap_row(p.problem, p.xyz[bb], p.xyz[u])
        dur = self.dur_arr
        best: tuple[float, float, int, int, int] | None = None  # (removed w, cost, r, m, w)
        for m in range(1, max_run + 1):
            if m > n:
                break
            r = np.arange(0, n - m + 1)
            removed = run_w[m - 1]
            ok = removed < wu - _EPS
            if not ok.any():
                continue
            r = r[ok]
            removed = removed[ok]
            prev = r - 1
            nxt = r + m
            prev_end = np.where(
                prev >= 0, self.es[np.maximum(prev, 0)] + dur[np.maximum(prev, 0)], -np.inf
            )
            gprev = np.where(prev >= 0, gb[np.maximum(prev, 0)], 0.0)
            has_next = nxt < n
            nx = np.minimum(nxt, n - 1)
            next_ls = np.where(has_next, self.ls[nx], np.inf)
            gnext = np.where(has_next, gb[nx], 0.0)
            earliest = np.maximum(lo_w[None, :], (prev_end + gprev)[:, None])
            latest = np.minimum(hi_w[None, :], (next_ls - gnext - d)[:, None])
            feas = earliest <= latest + _EPS
            if not feas.any():
                continue
            rows, cols = np.nonzero(feas)
            k = int(np.lexsort((gprev[rows] + gnext[rows], removed[rows]))[0])
            cand = (
                float(removed[rows[k]]),
                float(gprev[rows[k]] + gnext[rows[k]]),
                int(r[rows[k]]),
                m,
                int(cols[k]),
            )
            if best is None or cand[:2] < best[:2]:
                best = cand
        if best is None:
            return None
        _, _, r0, m0, w0 = best
        gone = self.remove_range(r0, m0)
        self.insert(r0, u, float(d), float(lo_w[w0]), float(hi_w[w0]), float(id_w[w0]))
        if not self.recompute():  # should not happen; undo
            self.remove_range(r0, 1)
            for j, gb_ in enumerate(gone):
                self.insert(r0 + j, gb_, float(p.dur[gb_]), 0.0, 0.0, 0.0)
            raise RuntimeError("internal: replacement produced an infeasible sequence")
        return gone

    # -- final timing ---------------------------------------------------------------

    def final_starts(self) -> list[float]:
        """Forward pass: each block as near its ideal (transit-centred) start as allowed."""
        starts: list[float] = []
        prev_end = -math.inf
        for k in range(len(self.blk)):
            earliest = max(self.lo[k], prev_end + float(self.g[k]))
            s = min(max(self.ideal[k], earliest), float(self.ls[k]))
            s = max(s, earliest)
            starts.append(s)
            prev_end = s + self.dur[k]
        return starts

    def weighted_hours(self) -> float:
        return float(sum(self.prep.weight[b] for b in self.placed))

    def observed_s(self) -> float:
        return float(sum(self.dur))


# --------------------------------------------------------------------------- solver


def _place_fixed(prep: _Prep, seq: _Seq, reasons: dict[int, tuple[str, str]]) -> None:
    problem = prep.problem
    t0, t1 = problem.window_start_unix, problem.window_end_unix
    order = sorted(prep.fixed, key=lambda i: (prep.prio[i], i))
    for i in order:
        b = problem.blocks[i]
        assert b.fixed_start_unix is not None
        s = b.fixed_start_unix
        e = s + b.duration_s
        if s < t0 - _EPS or e > t1 + _EPS:
            reasons[i] = (REASON_FIXED_NOT_VISIBLE, "fixed time outside the scheduling window")
            continue
        if any(
            (s - problem.setup_s < m.end_unix) and (e > m.start_unix) for m in problem.maintenance
        ):
            reasons[i] = (REASON_MAINTENANCE, "fixed time overlaps maintenance (or its setup)")
            continue
        ts = np.concatenate([np.arange(s, e, 1.0), [e]])
        z = sky.zenith_angle_deg(b.ra_deg, b.dec_deg, ts, problem.site, epoch_unix=0.5 * (t0 + t1))
        margin = problem.margin_deg()
        if np.any(z > b.max_zenith_deg - margin) or (
            b.min_zenith_deg > 0 and np.any(z < b.min_zenith_deg + margin)
        ):
            reasons[i] = (
                REASON_FIXED_NOT_VISIBLE,
                f"zenith reaches {z.max():.3f} deg (limits {b.min_zenith_deg:g}-"
                f"{b.max_zenith_deg:g} deg, kept {margin * 3600:.0f} arcsec inside)",
            )
            continue
        pos = int(np.searchsorted(np.asarray(seq.lo) if seq.lo else np.zeros(0), s))
        seq.insert(pos, i, b.duration_s, s, s, s)
        if not seq.recompute():
            seq.remove_range(pos, 1)
            seq.recompute()
            reasons[i] = (REASON_CROWDED_OUT, "clashes with a higher-priority fixed block")


def _local_search(seq: _Seq, prep: _Prep, passes: int) -> int:
    moves = 0
    for _ in range(passes):
        improved = False
        unplaced = [i for i in prep.flexible if i not in seq.placed and prep.win_lo[i].size]
        unplaced.sort(key=lambda i: (-prep.weight[i], i))
        for u in unplaced:
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
        cands = sorted({int(i) for i in near if int(i) not in trial.placed} | removed)
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
    """
    t_start = time.perf_counter()
    problem.validate()
    prep = _prepare(problem)
    rng = np.random.default_rng(seed)
    if restarts is None:
        restarts = 4 if len(problem.blocks) <= 600 else 2
    fixed_reasons: dict[int, tuple[str, str]] = {}
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
    moves_total = 0
    for order in orders[: max(1, restarts)]:
        seq = base.copy()
        for i in order:
            seq.place(i)
        moves_total += _local_search(seq, prep, local_search_passes)
        if best is None or _score(seq) > _score(best):
            best = seq
    assert best is not None
    n_vis = sum(1 for i in prep.flexible if prep.win_lo[i].size)
    bound = float(sum(prep.weight[i] for i in prep.flexible if prep.win_lo[i].size))
    bound += float(sum(prep.weight[i] for i in prep.fixed if i in best.placed))
    if improve_iterations is None:
        improve_iterations = _default_iterations(len(problem.blocks), n_vis)
    method = "insertion+local_search"
    if best.weighted_hours() < bound - 1e-9 and improve_iterations > 0:
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
    elif exact and 0 < n_vis <= exact_max_blocks and not has_split:
        te = time.perf_counter()
        improved, exact_status = _cpsat_improve(prep, best, seed, exact_deterministic_time)
        exact_wall = time.perf_counter() - te
        if improved is not None and _score(improved) >= _score(best):
            best = improved
            method += "+cp_sat"
    return _build_result(
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


def _build_result(
    prep: _Prep,
    seq: _Seq,
    fixed_reasons: dict[int, tuple[str, str]],
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
        unscheduled.append(UnscheduledBlock(blk.id, r, d))
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
