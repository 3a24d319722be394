"""The slot scheduler's allowed slots computed once per distinct (resource, impossible
dates, owner) and the greedy's free slots as arrays give the same schedules as the per-award
loops they replace; and the time limit holds in the greedy too.

The loops as they were (``old_allowed``, ``old_free_allowed``, ``old_place_single``,
``old_runs``) are kept here,
callable through ``old_path``, so that every instance is solved both ways in one run
(``bench/bench_slots_scale.py`` times the two the same way)."""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import importlib
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from opencall.optim import slots as sl
from opencall.optim.slots import bounds, exact
from opencall.optim.slots.index import _Index, _index

# the module (the package's ``greedy`` is the function)
greedy = importlib.import_module("opencall.optim.slots.greedy")

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


# --- the code as it was before the allowed slots were shared --------------------------------


def _old_clear(others: Sequence[int], k: int, c: int) -> bool:
    i = bisect.bisect_left(others, k - c)
    return i == len(others) or others[i] > k + c


def old_allowed(ix: _Index) -> dict[str, list[int]]:
    """Every award's allowed slots by a loop over every slot of its grid."""
    problem = ix.problem
    booked = {r.id: sl.booked_indices(r, ix.grids[r.id]) for r in problem.resources if r.changeover}
    out: dict[str, list[int]] = {}
    for a in problem.awards:
        if a.resource not in ix.grids:
            out[a.id] = []
            continue
        ok = [
            s.index
            for s in ix.grids[a.resource]
            if not s.reason and not any(i0 < s.end and s.start < i1 for i0, i1 in a.impossible)
        ]
        c = ix.res[a.resource].changeover
        others = sorted(k for k, who in booked.get(a.resource, ()) if who != sl.owner(a))
        out[a.id] = [k for k in ok if _old_clear(others, k, c)] if others else ok
    return out


def old_free_allowed(ix: _Index, a: sl.SlotAward, taken: sl.Taken) -> np.ndarray:
    used = taken.get(a.resource, set())
    c = ix.res[a.resource].changeover
    if not c:
        return np.asarray([k for k in ix.allowed[a.id] if k not in used], dtype=np.int64)
    others = sorted(used - taken.get((a.resource, sl.owner(a)), set()))
    free = [k for k in ix.allowed[a.id] if k not in used and _old_clear(others, k, c)]
    return np.asarray(free, dtype=np.int64)


def old_runs(ks: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for k in ks:
        if out and out[-1][0] + out[-1][1] == k:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((k, 1))
    return out


def old_place_single(
    ix: _Index, a: sl.SlotAward, taken: sl.Taken, near: float | None = None
) -> list[int] | None:
    free = greedy._free_allowed(ix, a, taken)
    if len(free) < a.slots:
        return None
    runs = greedy._runs(free)
    blocks = [
        (k0 + off)
        for k0, n in runs
        if n >= a.slots
        for off in range(n - a.slots + 1)
        if near is not None or off == 0
    ]
    if blocks:
        if near is None:
            b = blocks[0]
        else:
            step = ix.res[a.resource].slot_hours

            def dist(k: int) -> float:
                s = ix.hours(a.resource, k)
                e = s + a.slots * step
                return max(0.0, near - e, s - near) + 1e-9 * s

            b = min(blocks, key=dist)
        return list(range(b, b + a.slots))
    chosen: list[int] = []
    for k0, n in sorted(runs, key=lambda r: (-r[1], r[0])):
        chosen.extend(range(k0, k0 + min(n, a.slots - len(chosen))))
        if len(chosen) == a.slots:
            break
    return sorted(chosen)


def _old_index(problem: sl.SlotProblem) -> _Index:
    ix = _index(problem)
    ix.allowed = old_allowed(ix)
    return ix


@contextlib.contextmanager
def old_path() -> Iterator[None]:
    """Solve with the per-award loops of before (the index, the free slots,
    the blocks and the runs)."""
    names = ("_free_allowed", "_place_single", "_runs")
    saved = (greedy._index, exact._index, bounds._runs, *(getattr(greedy, n) for n in names))
    greedy._index = exact._index = _old_index
    greedy._free_allowed = old_free_allowed
    greedy._place_single = old_place_single
    greedy._runs = bounds._runs = old_runs
    try:
        yield
    finally:
        greedy._index, exact._index, bounds._runs = saved[:3]
        for n, f in zip(names, saved[3:], strict=True):
            setattr(greedy, n, f)


# --- instances ------------------------------------------------------------------------------


def instance(
    seed: int, n_slots: int, n_awards: int, *, n_res: int = 2, big: int = 4
) -> sl.SlotProblem:
    """Hourly resources (one of them on Berlin's wall clock across the March change) with
    unavailable periods, a schedule made after the first day, a changeover with slots
    booked outside; awards of 1..``big`` slots whose impossible dates come from a few shared
    patterns (or their own, one time in five, at odd minutes), some proposals with two
    awards, bundles kept together or not."""
    rng = np.random.default_rng(seed)
    resources = []
    for r in range(n_res):
        off = []
        for _ in range(int(rng.integers(0, 4))):
            k = int(rng.integers(0, n_slots))
            off.append((T0 + k * HOUR, T0 + (k + int(rng.integers(1, 30))) * HOUR, "maint"))
        booked = []
        for _ in range(int(rng.integers(0, 6))):
            k = int(rng.integers(0, n_slots))
            booked.append((T0 + k * HOUR, T0 + (k + 1) * HOUR, f"p{int(rng.integers(0, 8))}"))
        resources.append(
            sl.Resource(
                f"r{r}",
                T0,
                T0 + n_slots * HOUR,
                1.0,
                tuple(off),
                not_before=T0 + int(rng.integers(0, 24)) * HOUR if rng.random() < 0.5 else None,
                time_zone="Europe/Berlin" if r == 1 else "",
                changeover=int(rng.integers(0, 3)),
                booked=tuple(booked),
            )
        )
    patterns: list[tuple[tuple[dt.datetime, dt.datetime], ...]] = [()]
    for _ in range(3):
        k = int(rng.integers(0, n_slots))
        patterns.append(
            ((T0 + k * HOUR, T0 + (k + int(rng.integers(1, n_slots // 4 + 2))) * HOUR),)
        )
    awards = []
    for i in range(n_awards):
        if rng.random() < 0.2:
            k = int(rng.integers(0, n_slots))
            m = int(rng.integers(1, 59))
            start = T0 + k * HOUR + dt.timedelta(minutes=m)
            impossible = ((start, start + int(rng.integers(1, 40)) * HOUR),)
        else:
            impossible = patterns[int(rng.integers(0, len(patterns)))]
        proposal = f"p{i // 2}" if rng.random() < 0.3 else f"p{i}"
        bundle = "b" if proposal == f"p{i // 2}" and rng.random() < 0.5 else None
        awards.append(
            sl.SlotAward(
                f"a{i}",
                f"r{int(rng.integers(0, n_res))}",
                int(rng.integers(1, big + 1)),
                proposal,
                impossible,
                bundle=bundle,
                together=bundle is not None and rng.random() < 0.5,
                weight=1.0 + 0.25 * int(rng.integers(0, 5)),
            )
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


def _same(new: sl.SlotSchedule, old: sl.SlotSchedule) -> None:
    assert new.starts == old.starts
    assert new.unplaced == old.unplaced
    assert new.objective == old.objective
    assert new.method == old.method


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_allowed_slots_equal_the_loop_over_every_slot(seed: int) -> None:
    problem = instance(seed, 120 + 40 * seed, 30 + 10 * seed)
    ix = _index(problem)
    assert ix.allowed == old_allowed(ix)
    for aid, ks in ix.allowed.items():
        assert ix.allowed_arr[aid].tolist() == ks


@pytest.mark.parametrize(
    ("seed", "n_slots", "n_awards"),
    [(s, 48, 12) for s in range(6)] + [(s, 400, 150) for s in range(6, 10)] + [(10, 1000, 300)],
)
def test_greedy_schedules_equal_the_old_code(seed: int, n_slots: int, n_awards: int) -> None:
    problem = instance(seed, n_slots, n_awards)
    new = sl.solve_slots(problem, exact=False, time_limit_s=600)
    with old_path():
        old = sl.solve_slots(problem, exact=False, time_limit_s=600)
    _same(new, old)
    assert new.check(problem) == []


@pytest.mark.parametrize("seed", range(6))
def test_exact_schedules_equal_the_old_code(seed: int) -> None:
    problem = instance(seed, 36, 10, big=3)
    new = sl.solve_slots(problem, time_limit_s=60)
    with old_path():
        old = sl.solve_slots(problem, time_limit_s=60)
    _same(new, old)
    assert new.method == "milp"


def large(n_awards: int = 3000, n_slots: int = 10_000) -> sl.SlotProblem:
    """One resource of ``n_slots`` one-hour slots with a changeover of 2, one-slot awards
    (the instance of the eighth round, trialopt12)."""
    res = sl.Resource("big", T0, T0 + n_slots * HOUR, 1.0, changeover=2)
    awards = tuple(sl.SlotAward(f"a{i}", "big", 1, f"p{i}") for i in range(n_awards))
    return sl.SlotProblem((res,), awards)


@pytest.mark.parametrize("exact_", [True, False])
def test_a_large_instance_with_a_tiny_limit_stops_at_it(exact_: bool) -> None:
    problem = large()
    got = sl.solve_slots(problem, exact=exact_, time_limit_s=0.001)
    assert got.method == ("milp_time_limit" if exact_ else "greedy_time_limit")
    assert any("time limit" in s for s in got.stages)
    assert got.check(problem) == []
    assert set(got.starts) | set(got.unplaced) == {a.id for a in problem.awards}
    assert not set(got.starts) & set(got.unplaced)
    late = [u for u in got.unplaced.values() if u.reason == "time_limit"]
    assert late, "awards left out by the limit say so"
    assert all(u.detail == "the time limit was reached before it was tried" for u in late)
    assert {u.reason for u in got.unplaced.values()} == {"time_limit"}


def test_a_large_instance_places_every_award_within_a_fair_limit() -> None:
    problem = large(1000)
    got = sl.solve_slots(problem, time_limit_s=600)
    assert got.method == "milp"  # the greedy meets both bounds: proved without a solve
    assert len(got.starts) == 1000
    assert got.check(problem) == []
