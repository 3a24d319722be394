"""Same-time bundles checked between bundles, not only each alone: two bundles (of one
proposal, or of two) that each find enough instants common to their resources may need
the same common instants of a resource they share. The allocation counts them together
(``SharedCapacity``: at most so many slots of those instants) and the schedule check
compares each slot's start and end. Before the fix both bundles were awarded and a
bundle whose slots began together but ended apart passed the check."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from opencall.optim import slots as sl
from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    Pool,
    ProblemError,
    Request,
    SharedCapacity,
    solve_allocation,
)

T0 = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)


def _problem(shared: tuple[SharedCapacity, ...]) -> AllocationProblem:
    pools = tuple(Pool(p, 6.0, unit="slot", whole=True) for p in "ABC")
    reqs = (
        Request("x:A", "x", "pi-x", 9.0, {"A": 2.0}, bundle="arr"),
        Request("x:B", "x", "pi-x", 9.0, {"B": 2.0}, bundle="arr"),
        Request("y:A", "y", "pi-y", 8.0, {"A": 2.0}, bundle="arr"),
        Request("y:C", "y", "pi-y", 8.0, {"C": 2.0}, bundle="arr"),
    )
    return AllocationProblem(pools, reqs, AllocationPolicy(), shared=shared)


def _awarded(res) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r for r, f in res.fractions.items() if f > 0)


def test_two_bundles_needing_the_same_common_instants_are_not_both_awarded() -> None:
    loose = solve_allocation(_problem(()), seed=1)
    assert _awarded(loose) == ["x:A", "x:B", "y:A", "y:C"]  # each pool has room for both
    window = SharedCapacity("A@common", 2.0, {"x:A": 2.0, "y:A": 2.0})
    p = _problem((window,))
    res = solve_allocation(p, seed=1)
    assert _awarded(res) == ["x:A", "x:B"]  # the higher merit; y waits
    assert res.check(p) == []
    assert any("A@common" in e for e in loose.check(p))  # the check sees the overdraw


def test_a_shared_capacity_is_validated() -> None:
    with pytest.raises(ProblemError, match="unknown request"):
        _problem((SharedCapacity("w", 2.0, {"z:A": 1.0}),))
    with pytest.raises(ProblemError, match="capacity"):
        _problem((SharedCapacity("w", -1.0, {"x:A": 1.0}),))


def _pool(pid: int, name: str, unavailable=()):  # type: ignore[no-untyped-def]
    return SimpleNamespace(
        pool_id=pid,
        pool=SimpleNamespace(
            id=pid,
            name=name,
            slot_hours=4,
            period_start=dt.date(2027, 6, 1),
            period_end=dt.date(2027, 6, 1),
            day_start_hour=0,
            time_zone="",
            unavailable=[
                SimpleNamespace(starts_at=a, ends_at=b, reason="maintenance")
                for a, b in unavailable
            ],
        ),
    )


def test_the_windows_of_same_time_bundles_sharing_a_resource() -> None:
    from opencall.allocation.services import same_time_windows

    late = [(T0 + dt.timedelta(hours=8), T0 + dt.timedelta(days=1))]
    pools = {1: _pool(1, "A"), 2: _pool(2, "B", late), 3: _pool(3, "C", late)}

    def bundle(pool: int) -> list[dict]:  # type: ignore[type-arg]
        details = {"bundle_same_time": True}
        return [
            {"kind": "custom", "pool_id": 1, "amount": 2, "bundle": "arr", "details": details},
            {"kind": "custom", "pool_id": pool, "amount": 2, "bundle": "arr", "details": {}},
        ]

    windows = same_time_windows(pools, {10: bundle(2), 11: bundle(3)}, now=T0)
    on_a = [w for w in windows if set(w.demand) == {"10:0", "11:0"}]
    # A's slots common with B (and with C) are 00-04 and 04-08: two slots for both bundles
    assert [w.capacity for w in on_a] == [2.0]
    assert all(set(w.demand) <= {"10:0", "10:1", "11:0", "11:1"} for w in windows)


def test_the_check_compares_the_ends_of_same_time_slots() -> None:
    res = (
        sl.Resource("a", T0, T0 + dt.timedelta(days=1), 4.0),
        sl.Resource("b", T0, T0 + dt.timedelta(days=1), 8.0),
    )
    awards = tuple(
        sl.SlotAward(f"o-{r.id}", r.id, 1, proposal="p", bundle="v", same_time=True) for r in res
    )
    errors = sl.check(sl.SlotProblem(res, awards), {"o-a": [T0], "o-b": [T0]})
    assert any("not at the same times" in e for e in errors), errors
