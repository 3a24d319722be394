"""Tests of the FAST block scheduler (opencall.optim.scheduling)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencall.optim import sky
from opencall.optim.scheduling import (
    REASON_CROWDED_OUT,
    REASON_FIXED_NOT_VISIBLE,
    REASON_MAINTENANCE,
    REASON_NEVER_VISIBLE,
    REASON_NO_WINDOW_LONG_ENOUGH,
    FastBlock,
    FastScheduleProblem,
    MaintenanceWindow,
    ScheduledEntry,
    check_zenith_with_astropy,
    result_from_entries,
    schedule_fast,
)

T0 = 1893456000.0  # 2030-01-01T00:00Z
LAT = sky.FAST_SITE.lat_deg


def _transit_ra(t_mid: float) -> float:
    """An RA that transits (in J2000 terms, to within ~2 min) at t_mid."""
    return float(sky.lst_hours(t_mid, sky.FAST_SITE.lon_deg)) * 15.0


def _three_hour_window() -> tuple[float, float, float]:
    t_mid = T0 + 6 * 3600.0
    return t_mid - 1.5 * 3600.0, t_mid + 1.5 * 3600.0, _transit_ra(t_mid)


def _block(bid: str, ra: float, minutes: float, prio: int, **kw: object) -> FastBlock:
    return FastBlock(
        id=bid,
        ra_deg=ra,
        dec_deg=LAT,
        duration_s=minutes * 60.0,
        priority=prio,
        **kw,  # type: ignore[arg-type]
    )


def _placed(res: object) -> set[str]:
    return {e.block_id for e in res.entries}  # type: ignore[attr-defined]


def _reasons(res: object) -> dict[str, str]:
    return {u.block_id: u.reason for u in res.unscheduled}  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- golden


def test_two_blocks_competing_for_one_window_priority_wins() -> None:
    t0, t1, ra = _three_hour_window()
    p = FastScheduleProblem(t0, t1, (_block("low", ra, 120, 3), _block("high", ra, 120, 1)))
    res = schedule_fast(p)
    assert res.check(p) == []
    assert _placed(res) == {"high"}
    assert _reasons(res) == {"low": REASON_CROWDED_OUT}
    assert res.priority_weighted_hours == pytest.approx(5 * 2.0)


def test_exact_stage_finds_optimum_that_priority_greedy_misses() -> None:
    # A (p1, 100 min, weight 8.33) vs B + C (p2, 85 min each, weight 11.33 together):
    # B + C + one 2-min setup fit in 180 min, A + anything does not.
    t0, t1, ra = _three_hour_window()
    blocks = (_block("A", ra, 100, 1), _block("B", ra, 85, 2), _block("C", ra, 85, 2))
    p = FastScheduleProblem(t0, t1, blocks)
    res = schedule_fast(p, seed=1)
    assert res.check(p) == []
    assert _placed(res) == {"B", "C"}
    assert res.priority_weighted_hours == pytest.approx(2 * 4 * 85 / 60)
    assert res.stats.exact_status == "OPTIMAL"
    greedy = schedule_fast(p, seed=1, exact=False)
    assert greedy.check(p) == []
    assert greedy.priority_weighted_hours <= res.priority_weighted_hours + 1e-9


def test_setup_and_slew_gap_is_respected_and_decides_fit() -> None:
    # Two 88-min blocks need 176 min + setup 2 min + slew in 180 min: 30 deg (150 s) is too far.
    t0, t1, ra = _three_hour_window()
    near = FastScheduleProblem(t0, t1, (_block("a", ra, 88, 1), _block("b", ra, 88, 1)))
    far = FastScheduleProblem(
        t0,
        t1,
        (_block("a", ra, 88, 1), FastBlock("b", ra, LAT - 30.0, 88 * 60.0, 1)),
    )
    res_near = schedule_fast(near)
    res_far = schedule_fast(far)
    assert res_near.check(near) == [] and res_far.check(far) == []
    assert _placed(res_near) == {"a", "b"}
    e = sorted(res_near.entries, key=lambda x: x.start_unix)
    assert e[1].start_unix - e[0].end_unix >= 120.0 - 1e-6
    assert len(res_far.entries) == 1


def test_fixed_blocks_and_maintenance() -> None:
    t0, t1, ra = _three_hour_window()
    maint = MaintenanceWindow(t0 + 150 * 60.0, t1, "cable check")
    blocks = (
        _block("fixed_ok", ra, 30, 2, fixed_start_unix=t0 + 10 * 60.0),
        _block("fixed_maint", ra, 30, 1, fixed_start_unix=t0 + 140 * 60.0),
        FastBlock("fixed_low", ra + 180.0, LAT, 1800.0, 1, fixed_start_unix=t0 + 60 * 60.0),
        _block("fixed_outside", ra, 30, 1, fixed_start_unix=t1 + 3600.0),
        _block("flex", ra, 60, 3),
    )
    p = FastScheduleProblem(t0, t1, blocks, maintenance=(maint,))
    res = schedule_fast(p)
    assert res.check(p) == []
    fixed = next(e for e in res.entries if e.block_id == "fixed_ok")
    assert fixed.start_unix == t0 + 10 * 60.0
    r = _reasons(res)
    assert r["fixed_maint"] == REASON_MAINTENANCE
    assert r["fixed_low"] == REASON_FIXED_NOT_VISIBLE
    assert r["fixed_outside"] == REASON_FIXED_NOT_VISIBLE
    assert "flex" in _placed(res)
    for e in res.entries:
        assert e.end_unix <= maint.start_unix + 1e-6


def test_visible_only_during_maintenance() -> None:
    t0, t1, ra = _three_hour_window()
    p = FastScheduleProblem(
        t0 - 6 * 3600.0,
        t1 + 6 * 3600.0,
        (_block("x", ra, 60, 1),),
        maintenance=(MaintenanceWindow(t0 - 3 * 3600.0, t1 + 3 * 3600.0),),
    )
    res = schedule_fast(p)
    assert res.check(p) == []
    assert _reasons(res) == {"x": REASON_MAINTENANCE}


def test_splittable_block_goes_around_a_fixed_block() -> None:
    t0, t1, ra = _three_hour_window()
    blocks = (
        _block("F", ra, 30, 1, fixed_start_unix=t0 + 75 * 60.0),
        _block("S", ra, 120, 2, splittable=True, min_chunk_s=40 * 60.0),
        _block("N", ra, 120, 2),
    )
    p = FastScheduleProblem(t0, t1, blocks)
    res = schedule_fast(p)
    assert res.check(p) == []
    chunks = [e for e in res.entries if e.block_id == "S"]
    assert len(chunks) >= 2
    assert sum(e.end_unix - e.start_unix for e in chunks) == pytest.approx(7200.0)
    assert all(e.end_unix - e.start_unix >= 40 * 60.0 - 1e-6 for e in chunks)
    assert _reasons(res)["N"] == REASON_CROWDED_OUT


def test_never_visible_and_too_long() -> None:
    t0 = T0
    p = FastScheduleProblem(
        t0,
        t0 + 2 * 86400.0,
        (
            FastBlock("north", 10.0, 80.0, 3600.0, 1),
            FastBlock("south", 10.0, -30.0, 3600.0, 1),
            FastBlock("edge_long", 10.0, 62.0, 4 * 3600.0, 1),  # visible, but < 4 h per pass
            FastBlock("ok", 10.0, 20.0, 3600.0, 1),
        ),
    )
    res = schedule_fast(p)
    assert res.check(p) == []
    r = _reasons(res)
    assert r["north"] == REASON_NEVER_VISIBLE
    assert r["south"] == REASON_NEVER_VISIBLE
    assert r["edge_long"] == REASON_NO_WINDOW_LONG_ENOUGH
    assert "ok" in _placed(res)


def test_checker_catches_violations() -> None:
    t0, t1, ra = _three_hour_window()
    p = FastScheduleProblem(
        t0,
        t1 + 6 * 3600.0,
        (_block("a", ra, 60, 1), _block("b", ra, 60, 1), _block("c", ra, 60, 1)),
    )
    bad = result_from_entries(
        p,
        [
            ScheduledEntry("a", t0, t0 + 3600.0),
            ScheduledEntry("b", t0 + 3600.0 + 30.0, t0 + 7200.0 + 30.0),  # gap < setup
            ScheduledEntry("c", t1 + 3 * 3600.0, t1 + 4 * 3600.0),  # target has set
        ],
    )
    errs = bad.check(p)
    assert any("too close" in e for e in errs)
    assert any("c: outside zenith" in e for e in errs)
    ok = result_from_entries(p, [ScheduledEntry("a", t0, t0 + 3600.0)])
    assert ok.check(p) == []
    # the end instant itself is checked: a block ending 30 s after setting is caught
    vi = sky.visible_intervals(ra, LAT, t0, t1 + 6 * 3600.0)
    set_time = float(vi.end[0])
    late = result_from_entries(p, [ScheduledEntry("a", set_time + 30.0 - 3600.0, set_time + 30.0)])
    assert any("outside zenith" in e for e in late.check(p))


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="priority"):
        schedule_fast(FastScheduleProblem(T0, T0 + 3600, (FastBlock("a", 0, 0, 60, 7),)))
    with pytest.raises(ValueError, match="duplicate"):
        schedule_fast(
            FastScheduleProblem(
                T0, T0 + 3600, (FastBlock("a", 0, 0, 60, 1), FastBlock("a", 0, 0, 60, 1))
            )
        )
    with pytest.raises(ValueError, match="window"):
        schedule_fast(FastScheduleProblem(T0, T0, ()))


def test_medium_instance_is_feasible_and_deterministic() -> None:
    rng = np.random.default_rng(5)
    n = 150
    lo, hi = np.sin(np.radians(-14.0)), np.sin(np.radians(66.0))
    blocks = tuple(
        FastBlock(
            f"b{i}",
            float(rng.uniform(0, 360)),
            float(np.degrees(np.arcsin(rng.uniform(lo, hi)))),
            float(rng.integers(6, 49) * 300),
            int(rng.integers(1, 6)),
        )
        for i in range(n)
    )
    p = FastScheduleProblem(T0, T0 + 3 * 86400.0, blocks)
    a = schedule_fast(p, seed=3)
    b = schedule_fast(p, seed=3)
    assert a.check(p) == []
    assert a.entries == b.entries and a.unscheduled == b.unscheduled
    assert a.observing_fraction > 0.85
    # a better-priority block is never crowded out while a strictly lighter one of the
    # same target-visibility is placed instead -- weak sanity: priority 1 dominates
    prios = {bl.id: bl.priority for bl in blocks}
    placed = [prios[e.block_id] for e in a.entries]
    assert np.mean(np.array(placed) == 1) > 0.3


# ----------------------------------------------------------------------------- properties


@st.composite
def problems(draw: st.DrawFn) -> FastScheduleProblem:
    n = draw(st.integers(1, 12))
    t0 = T0 + draw(st.integers(0, 300)) * 86400.0
    days = draw(st.sampled_from([0.5, 1.0, 2.0]))
    t1 = t0 + days * 86400.0
    blocks = []
    for i in range(n):
        dec = draw(
            st.one_of(st.floats(-14.0, 66.0), st.floats(-60.0, -15.0), st.floats(67.0, 89.0))
        )
        fixed = None
        if draw(st.integers(0, 5)) == 0:
            fixed = t0 + draw(st.floats(0.0, days * 86400.0))
        split = draw(st.booleans()) and fixed is None
        blocks.append(
            FastBlock(
                id=f"b{i}",
                ra_deg=draw(st.floats(0.0, 359.9)),
                dec_deg=dec,
                duration_s=draw(st.integers(2, 40)) * 300.0,
                priority=draw(st.integers(1, 5)),
                splittable=split,
                min_chunk_s=draw(st.sampled_from([600.0, 1800.0])),
                fixed_start_unix=fixed,
            )
        )
    maint: tuple[MaintenanceWindow, ...] = ()
    if draw(st.booleans()):
        ms = t0 + draw(st.floats(0.0, days * 86400.0 - 3600.0))
        maint = (MaintenanceWindow(ms, ms + draw(st.floats(600.0, 4 * 3600.0))),)
    return FastScheduleProblem(
        t0,
        t1,
        tuple(blocks),
        maintenance=maint,
        setup_s=draw(st.sampled_from([0.0, 120.0, 300.0])),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems(), seed=st.integers(0, 3))
def test_scheduler_properties(p: FastScheduleProblem, seed: int) -> None:
    before = copy.deepcopy(p)
    res = schedule_fast(p, seed=seed, exact_deterministic_time=0.3)
    assert p == before  # input untouched
    assert res.check(p) == []  # feasible at one-second resolution, ends included
    again = schedule_fast(p, seed=seed, exact_deterministic_time=0.3)
    assert again.entries == res.entries and again.unscheduled == res.unscheduled
    placed = _placed(res)
    reasons = _reasons(res)
    assert placed.isdisjoint(reasons) and placed | set(reasons) == {b.id for b in p.blocks}
    for b in p.blocks:
        never = b.dec_deg > 66.0 or b.dec_deg < -14.4
        if never:
            expected = REASON_NEVER_VISIBLE if b.fixed_start_unix is None else None
            if expected:
                assert reasons[b.id] == expected
            else:
                assert reasons[b.id] in (REASON_FIXED_NOT_VISIBLE, REASON_MAINTENANCE)
    assert 0.0 <= res.observing_fraction <= 1.0 + 1e-9


# ----------------------------------------------------------------------------- improvement moves


def _mixed_instance(n: int = 90, seed: int = 8) -> FastScheduleProblem:
    """A crowded 2-day instance with fixed blocks, splittable blocks and maintenance."""
    rng = np.random.default_rng(seed)
    lo, hi = np.sin(np.radians(-14.0)), np.sin(np.radians(66.0))
    t1 = T0 + 2 * 86400.0
    blocks = []
    for i in range(n):
        ra = float(rng.uniform(0, 360))
        dec = float(np.degrees(np.arcsin(rng.uniform(lo, hi))))
        fixed: float | None = None
        if i % 15 == 0:  # fixed 10 min into its first visible stretch, if one is long enough
            vi = sky.visible_intervals(ra, dec, T0, t1, max_zenith_deg=40.0)
            if vi.start.size and vi.end[0] - vi.start[0] > 3600.0:
                fixed = float(vi.start[0]) + 600.0
        blocks.append(
            FastBlock(
                f"m{i}",
                ra,
                dec,
                1800.0 if fixed is not None else float(rng.integers(6, 49) * 300),
                int(rng.integers(1, 6)),
                max_zenith_deg=40.0,
                splittable=fixed is None and i % 7 == 0,
                fixed_start_unix=fixed,
            )
        )
    maint = (MaintenanceWindow(T0 + 30 * 3600.0, T0 + 33 * 3600.0),)
    return FastScheduleProblem(T0, t1, tuple(blocks), maintenance=maint)


def test_ruin_recreate_keeps_fixed_and_split_blocks_and_never_loses_hours() -> None:
    p = _mixed_instance()
    before = copy.deepcopy(p)
    # seed 4: with the blocks in the seeded order of their ids (trialopt14) the
    # construction of seed 2 already observes what the search found
    base = schedule_fast(p, seed=4, improve_iterations=0, exact=False)
    res = schedule_fast(p, seed=4, improve_iterations=400, exact=False)
    assert p == before
    assert base.check(p) == [] and res.check(p) == []
    assert "ruin_recreate" in res.stats.method
    # observed time first (on this instance it strictly gains), and weighted hours never
    # below the construction's
    assert res.observed_hours > base.observed_hours + 0.1
    assert res.stats.local_search_moves > base.stats.local_search_moves
    assert res.priority_weighted_hours >= base.priority_weighted_hours - 1e-9
    fixed = {b.id: b.fixed_start_unix for b in p.blocks if b.fixed_start_unix is not None}
    assert fixed, "the instance should contain fixed blocks"
    for e in res.entries:
        if e.block_id in fixed:
            assert e.start_unix == fixed[e.block_id]
    # a block placed in the construction stays if it is fixed (the search never removes one)
    assert {b for b in _placed(base) if b in fixed} <= _placed(res)
    split = {b.id for b in p.blocks if b.splittable}
    assert any(sum(e.block_id == b for e in res.entries) >= 2 for b in split)
    again = schedule_fast(p, seed=4, improve_iterations=400, exact=False)
    assert again.entries == res.entries


def test_replace_move_next_to_fixed_and_split_blocks() -> None:
    """The swap move (replace a lighter run by a heavier unscheduled block) never removes
    a fixed block or a chunk of a split block, even when they are its neighbours."""
    from opencall.optim import scheduling as s

    t0, t1, ra = _three_hour_window()
    blocks = (
        _block("F", ra, 30, 5, fixed_start_unix=t0 + 75 * 60.0),  # light, but fixed
        _block("S", ra, 100, 5, splittable=True, min_chunk_s=30 * 60.0),  # light, split
        _block("L", ra, 35, 5),  # light and movable: the only legal victim
        _block("H", ra, 38, 1),  # heavy, unscheduled at first
    )
    p = FastScheduleProblem(t0, t1, blocks)
    prep = s._prepare(p)
    seq = s._Seq(prep)
    s._place_fixed(prep, seq, {})
    seq.recompute()
    assert seq.place(1)  # S goes round F in chunks
    assert seq.place(2)
    assert sum(seq.chunked) >= 2 and 3 not in seq.placed
    gone = seq.try_replace(3)
    assert gone == [2]  # only L could go
    assert {0, 1, 3} <= seq.placed
    starts = seq.final_starts()
    fixed_k = seq.blk.index(0)
    assert starts[fixed_k] == t0 + 75 * 60.0
    # the whole schedule is still feasible
    entries = [
        ScheduledEntry(p.blocks[b].id, st_, st_ + d)
        for b, st_, d in zip(seq.blk, starts, seq.dur, strict=True)
    ]
    assert result_from_entries(p, entries).check(p) == []


# ------------------------------------------------------------------ judged by astropy


def _crowded_day(n: int = 60, seed: int = 0, margin: float | None = None) -> FastScheduleProblem:
    """The benchmark's instance family (bench/bench_scheduling.py) over one day: crowded,
    so blocks are pushed to the edges of their visibility windows."""
    rng = np.random.default_rng(seed)
    lo, hi = np.sin(np.radians(-14.0)), np.sin(np.radians(66.0))
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(lo, hi, n)))
    dur_min = rng.integers(6, 49, n) * 5
    prio = rng.integers(1, 6, n)
    t0 = 1796083200.0  # 2026-12-01T00:00Z
    return FastScheduleProblem(
        window_start_unix=t0,
        window_end_unix=t0 + 86400.0,
        blocks=tuple(
            FastBlock(
                f"b{i:05d}", float(ra[i]), float(dec[i]), float(dur_min[i] * 60), int(prio[i])
            )
            for i in range(n)
        ),
        zenith_margin_deg=margin,
    )


def test_every_second_is_inside_the_limit_judged_by_astropy() -> None:
    p = _crowded_day()
    res = schedule_fast(p, seed=0)
    assert len(res.entries) >= 10 and res.check(p) == []
    assert check_zenith_with_astropy(p, res) == []
    # the judge can fail: trusting the closed-form model alone (no margin), one block of
    # this instance ends a few arc seconds past the limit by astropy's reckoning
    bare = _crowded_day(margin=0.0)
    res0 = schedule_fast(bare, seed=0)
    assert res0.check(bare) == []  # inside by the closed-form model ...
    leaks = check_zenith_with_astropy(bare, res0)
    assert leaks and all("outside zenith limits" in e for e in leaks)  # ... but not by astropy


def test_margin_is_the_derived_bound_and_is_validated() -> None:
    p = _crowded_day()
    week = sky.apparent_place_margin_deg(p.window_start_unix, p.window_start_unix + 7 * 86400)
    month = sky.apparent_place_margin_deg(p.window_start_unix, p.window_start_unix + 30 * 86400)
    assert p.margin_deg() == sky.apparent_place_margin_deg(p.window_start_unix, p.window_end_unix)
    assert 47.0 / 3600 < p.margin_deg() < week < month < 50.0 / 3600
    assert FastScheduleProblem(0.0, 1.0, (), zenith_margin_deg=0.0).margin_deg() == 0.0
    with pytest.raises(ValueError, match="zenith_margin_deg"):
        FastScheduleProblem(0.0, 1.0, (), zenith_margin_deg=-0.01).validate()


def test_fixed_block_too_close_to_the_limit_is_refused() -> None:
    # a fixed block ending 20 arcsec inside the limit by the closed-form model: inside the
    # margin, so not placed (astropy could put it outside)
    ra, dec = 90.0, LAT
    h = float(sky.hour_angle_limit_hours(dec)) * 3600.0 / sky.SIDEREAL_RATE
    # the day's one visible arc lies whole in the window, symmetric about the transit
    arc = sky.visible_intervals(ra, dec, T0, T0 + 86400.0, epoch_unix=T0 + 43200.0)
    assert len(arc.start) == 1 and T0 < arc.start[0] and arc.end[0] < T0 + 86400.0
    transit = float(arc.start[0] + arc.end[0]) / 2.0
    p = FastScheduleProblem(
        T0,
        T0 + 86400.0,
        (FastBlock("edge", ra, dec, 1800.0, 1, fixed_start_unix=transit + h - 1800.0 - 1.5),),
    )
    z_end = float(sky.zenith_angle_deg(ra, dec, transit + h - 1.5, epoch_unix=T0 + 43200.0))
    assert 40.0 - p.margin_deg() < z_end < 40.0
    res = schedule_fast(p)
    assert _reasons(res) == {"edge": REASON_FIXED_NOT_VISIBLE}
    ok = FastScheduleProblem(T0, T0 + 86400.0, p.blocks, zenith_margin_deg=0.0)
    assert _placed(schedule_fast(ok)) == {"edge"}


def _widest_gap_by_loops(
    seq: object, b: int, cmin: float
) -> tuple[float, int, float, float] | None:
    """The chunk placement's search as it was written first: every piece of ``b``, every
    insertion position, the first room of ``cmin`` replaced only by one wider by more
    than ``_EPS``."""
    from opencall.optim.scheduling.geometry import _gap_row
    from opencall.optim.scheduling.problem import _EPS

    s: Any = seq
    p = s.prep
    n = len(s.blk)
    best: tuple[float, int, float, float] | None = None
    gb = _gap_row(p.problem, p.xyz[np.asarray(s.blk, dtype=np.int64)], p.xyz[b]) if n else []
    for a, c in p.pieces[b]:
        for pos in range(n + 1):
            start = a
            if pos > 0:
                start = max(start, s.es[pos - 1] + s.dur[pos - 1] + gb[pos - 1])
            end = c
            if pos < n:
                end = min(end, s.ls[pos] - gb[pos])
            avail = end - start
            if avail >= cmin - _EPS and (best is None or avail > best[0] + _EPS):
                best = (avail, pos, start, end)
    return best


def _compare_chunk_rooms(p: FastScheduleProblem, seed: int = 0) -> int:
    """Schedule ``p`` with ``_Seq._widest_gap`` (arrays) checked against the nested loops
    it replaced on every call; returns how many calls found a room."""
    from opencall.optim.scheduling import sequence

    fast = sequence._Seq._widest_gap
    found: list[int] = []

    def both(self: Any, b: int, cmin: float) -> tuple[float, int, float, float] | None:
        got, want = fast(self, b, cmin), _widest_gap_by_loops(self, b, cmin)
        assert got == want
        if got is not None:
            found.append(b)
        return got

    sequence._Seq._widest_gap = both  # type: ignore[method-assign]
    try:
        schedule_fast(p, seed=seed, exact_deterministic_time=0.3)
    finally:
        sequence._Seq._widest_gap = fast  # type: ignore[method-assign]
    return len(found)


def test_chunk_rooms_as_arrays_match_the_loops() -> None:
    """The same room, with the same floats, as the loops: here a split block's chunks."""
    t0, t1, ra = _three_hour_window()
    blocks = (
        _block("F", ra, 30, 1, fixed_start_unix=t0 + 75 * 60.0),
        _block("S", ra, 120, 2, splittable=True, min_chunk_s=40 * 60.0),
        _block("N", ra, 120, 2),
    )
    assert _compare_chunk_rooms(FastScheduleProblem(t0, t1, blocks)) >= 2


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems(), seed=st.integers(0, 3))
def test_chunk_rooms_as_arrays_match_the_loops_on_random_problems(
    p: FastScheduleProblem, seed: int
) -> None:
    _compare_chunk_rooms(p, seed)
