"""A pool with a changeover between two proposals (a travelling team's travel days, a lab's
configuration change): ``k`` proposals awarded of it need ``changeover * (k - 1)`` units of
its room besides their awards, or the schedule could not place them all. Checked against
the answer worked out by hand and against every subset of the requests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from opencall.optim.allocation import (
    NOT_AWARDED_POOL_EXHAUSTED,
    AllocationPolicy,
    AllocationProblem,
    Pool,
    ProblemError,
    Request,
    solve_allocation,
)


def problem(amounts: list[float], *, capacity: float, room: float | None, change: float) -> Any:
    pool = Pool("Team", capacity, unit="day", whole=True, changeover=change, room=room)
    reqs = [
        Request(f"r{i}", f"p{i}", f"pi{i}", merit=10.0 - i, demand={"Team": a})
        for i, a in enumerate(amounts)
    ]
    return AllocationProblem((pool,), tuple(reqs), AllocationPolicy())


def awarded(res: Any) -> list[str]:
    return sorted(r for r, f in res.fractions.items() if f > 0)


def test_the_changeover_between_two_proposals_is_counted_in_the_room() -> None:
    # 14 + 14 + 14 = 42 days fit a season of 45; with 3 days between two hosts they need 48
    p = problem([14, 14, 14], capacity=45, room=45, change=3)
    res = solve_allocation(p, seed=1)
    assert res.check(p) == []
    assert awarded(res) == ["r0", "r1"]  # 28 + 3 = 31; a third would need 48
    why = res.explanations["r2"]
    assert why.code == NOT_AWARDED_POOL_EXHAUSTED and "changeover" in why.detail, why
    # without the changeover all three fit
    assert awarded(solve_allocation(problem([14, 14, 14], capacity=45, room=45, change=0))) == [
        "r0", "r1", "r2"]  # fmt: skip


def test_the_room_may_exceed_what_the_call_offers() -> None:
    # the call offers 30 days of a season of 40: two visits of 14 and 3 days of travel fit
    p = problem([14, 14, 14], capacity=30, room=40, change=3)
    res = solve_allocation(p, seed=1)
    assert res.check(p) == [] and awarded(res) == ["r0", "r1"]
    # a room of 30: 14 + 14 + 3 = 31 does not fit, one visit only
    p = problem([14, 14, 14], capacity=30, room=30, change=3)
    assert awarded(solve_allocation(p, seed=1)) == ["r0"]


def test_check_refuses_awards_with_no_room_for_their_changeover() -> None:
    p = problem([14, 14, 14], capacity=45, room=45, change=3)
    res = solve_allocation(problem([14, 14, 14], capacity=45, room=45, change=0), seed=1)
    assert any("Team" in e and "room" in e for e in res.check(p)), res.check(p)


@pytest.mark.parametrize("seed", range(8))
def test_the_best_subset_that_fits_with_its_changeovers(seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    amounts = [float(a) for a in rng.integers(3, 20, size=7)]
    room, change = float(rng.integers(30, 70)), float(rng.integers(1, 6))
    p = problem(amounts, capacity=room, room=room, change=change)
    res = solve_allocation(p, seed=seed)
    assert res.check(p) == []
    got = awarded(res)
    # by brute force: the best total weight (merit rescaled to [0.1, 1.1], the objective's)
    # of a subset that fits with its changeovers
    n = len(amounts)
    weight = [(n - 1 - i) / (n - 1) + 0.1 for i in range(n)]
    best = 0.0
    for k in range(n + 1):
        for sub in itertools.combinations(range(n), k):
            if sum(amounts[i] for i in sub) + change * max(k - 1, 0) <= room:
                best = max(best, sum(weight[i] for i in sub))
    assert sum(weight[int(r[1:])] for r in got) == pytest.approx(best, rel=1e-3)


@pytest.mark.parametrize(("field", "value"), [("changeover", -1.0), ("room", float("nan"))])
def test_a_bad_changeover_or_room_is_refused(field: str, value: float) -> None:
    with pytest.raises(ProblemError, match=field):
        AllocationProblem(
            (Pool("Team", 10, **{field: value}),),  # type: ignore[arg-type]
            (),
            AllocationPolicy(),
        )
