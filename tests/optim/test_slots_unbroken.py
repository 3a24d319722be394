"""Unbroken awards (``optim.slots.SlotAward.unbroken``, trialfac17): a crop in a growth
chamber cannot pause, so its slots are one run of consecutive slots of its resource's grid
or none. A closure, a date the applicant declared impossible or another award inside the
run breaks it; the greedy and the exact program both keep the rule, the independent
checker flags a placement that breaks it, and an award no run of the calendar can hold is
left out saying so."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 1, 4, 8, tzinfo=dt.UTC)
D = dt.timedelta(days=1)


def day(k: int) -> dt.datetime:
    return T0 + k * D


def chamber(days: int = 10, closed: tuple[int, ...] = ()) -> sl.Resource:
    return sl.Resource(
        "c", day(0), day(days), 24.0, tuple((day(k), day(k + 1), "lamps") for k in closed)
    )


def runs(starts: tuple[dt.datetime, ...]) -> int:
    ks = sorted((t - T0) // D for t in starts)
    return 1 + sum(1 for p, q in zip(ks, ks[1:], strict=False) if q != p + 1)


@pytest.mark.parametrize("exact", [True, False])
def test_an_unbroken_award_no_run_can_hold_is_left_out_saying_so(exact: bool) -> None:
    # 10 days, the lamps out on day 4: runs of 4 and 5 days, 9 usable
    crop = sl.SlotAward("sorghum", "c", 6, proposal="p1", unbroken=True)
    problem = sl.SlotProblem((chamber(closed=(4,)),), (crop,))
    res = sl.solve_slots(problem, exact=exact)
    assert "sorghum" not in res.starts
    assert res.unplaced["sorghum"].reason == "no_unbroken_run"
    assert "longest run of usable slots of its resource is 5" in res.unplaced["sorghum"].detail
    # the same award without the rule is placed, in two runs around the closure
    loose = sl.solve_slots(sl.SlotProblem(problem.resources, (sl.SlotAward("s", "c", 6),)))
    assert runs(loose.starts["s"]) == 2


def test_the_exact_program_never_splits_an_unbroken_award_for_more_value() -> None:
    # a seedling trial must take days 4-7 (its other days impossible) and is worth more; the
    # 5-day crop then has runs of 4 and 2 days left: split, both would fit; unbroken, it
    # is not placed
    trial = sl.SlotAward("trial", "c", 4, proposal="p1", weight=10.0,
                         impossible=((day(0), day(4)), (day(8), day(10))))  # fmt: skip
    crop = sl.SlotAward("crop", "c", 5, proposal="p2", unbroken=True)
    problem = sl.SlotProblem((chamber(),), (trial, crop))
    res = sl.solve_slots(problem)
    assert res.check(problem) == []
    assert sorted(res.starts) == ["trial"], res.starts
    assert "crop" in res.unplaced
    split = sl.solve_slots(sl.SlotProblem(problem.resources, (trial, sl.SlotAward("crop", "c", 5))))
    assert sorted(split.starts) == ["crop", "trial"] and runs(split.starts["crop"]) == 2


@pytest.mark.parametrize("exact", [True, False])
def test_the_greedy_and_the_program_place_an_unbroken_award_in_one_run(exact: bool) -> None:
    # the trial (worth more, placed first) cannot use days 2 and 7; its fewest runs put it on
    # days 3-6 and one more, and the crop's 4 days must then be one run: both fit only with
    # the trial on 0, 1, 3, 4, 5 and the crop on 6-9
    trial = sl.SlotAward("trial", "c", 5, proposal="p1", weight=10.0,
                         impossible=((day(2), day(3)), (day(7), day(8))))  # fmt: skip
    crop = sl.SlotAward("crop", "c", 4, proposal="p2", unbroken=True)
    problem = sl.SlotProblem((chamber(),), (trial, crop))
    res = sl.solve_slots(problem, exact=exact)
    assert res.check(problem) == []
    assert "crop" not in res.starts or runs(res.starts["crop"]) == 1, res.starts
    if exact:
        assert sorted(res.starts) == ["crop", "trial"], res.unplaced


def test_the_checker_flags_an_unbroken_award_in_two_runs() -> None:
    crop = sl.SlotAward("crop", "c", 4, proposal="p1", unbroken=True)
    problem = sl.SlotProblem((chamber(),), (crop,))
    assert sl.check(problem, {"crop": (day(0), day(1), day(2), day(3))}) == []
    errors = sl.check(problem, {"crop": (day(0), day(1), day(5), day(6))})
    assert errors == ["crop: unbroken, but placed in more than one run of slots"], errors


def test_an_unbroken_same_time_bundle_takes_one_common_run_or_none() -> None:
    # two chambers for the same days; chamber b is shut on day 3: the common runs are
    # days 0-2 and 4-9, so 5 days at once fit only on days 4-8 or 5-9
    a = sl.Resource("a", day(0), day(10), 24.0)
    b = sl.Resource("b", day(0), day(10), 24.0, ((day(3), day(4), "service"),))
    pair = (
        sl.SlotAward("x", "a", 5, proposal="p", bundle="both", same_time=True, unbroken=True),
        sl.SlotAward("y", "b", 5, proposal="p", bundle="both", same_time=True, unbroken=True),
    )
    for exact in (True, False):
        res = sl.solve_slots(sl.SlotProblem((a, b), pair), exact=exact)
        assert res.check(sl.SlotProblem((a, b), pair)) == []
        assert runs(res.starts["x"]) == 1 and res.starts["x"] == res.starts["y"], res.starts
    long = tuple(sl.SlotAward(p.id, p.resource, 7, proposal="p", bundle="both",
                              same_time=True, unbroken=True) for p in pair)  # fmt: skip
    res = sl.solve_slots(sl.SlotProblem((a, b), long), exact=False)
    assert not res.starts, res.starts
