"""The changeover of a slot-based resource (``optim.slots.Resource.changeover``): no two
booked slots of different proposals on one resource are ``changeover`` slots apart or
closer (the same proposal's slots need none), checked here by an independent checker
on the solver's placements and against a brute-force optimum on small instances: the
scheduler still places as much value as any placement that keeps the changeover."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.optim.test_slots import independent_violations

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def changeover_violations(problem: sl.SlotProblem, starts: dict) -> list[str]:
    """From the raw data: a slot's position on its resource is (start - resource start) /
    slot length; two bookings of different proposals (or one and a slot booked outside
    the problem) must be more than ``changeover`` positions apart."""
    out = []
    for r in problem.resources:
        length = dt.timedelta(hours=r.slot_hours)
        marks = [
            ((t - r.start) / length, a.proposal or a.id, True)
            for a in problem.awards
            if a.resource == r.id
            for t in starts.get(a.id, ())
        ]
        marks += [((b0 - r.start) / length, who, False) for b0, _, who in r.booked]
        for (p, who, mine), (q, who2, mine2) in itertools.combinations(marks, 2):
            if (mine or mine2) and who != who2 and abs(p - q) <= r.changeover + 1e-9:
                out.append(f"{r.id}: {who} at {p} and {who2} at {q}")
    return out


def best_value(problem: sl.SlotProblem) -> float:
    """The most value of any placement that breaks no rule (changeover included)."""
    return best_value_under(
        problem, lambda p, c: independent_violations(p, c) + changeover_violations(p, c)
    )


def best_value_under(
    problem: sl.SlotProblem, broken: Callable[[sl.SlotProblem, dict], list[str]]
) -> float:
    """The most value of any placement of slots of the grids for which ``broken`` says
    nothing (an exhaustive search)."""
    res = {r.id: r for r in problem.resources}
    options = []
    for a in problem.awards:
        usable = [s.start for s in sl.slot_grid(res[a.resource])]
        options.append([(), *itertools.combinations(usable, a.slots)])
    best = 0.0
    for combo in itertools.product(*options):
        cand = {a.id: c for a, c in zip(problem.awards, combo, strict=True) if c}
        if broken(problem, cand):
            continue
        best = max(best, sl.evaluate(problem, cand)[0])
    return best


@st.composite
def problems(draw: st.DrawFn, max_slots: int = 7, max_awards: int = 3) -> sl.SlotProblem:
    resources = []
    n_res = draw(st.integers(1, 2))
    for i in range(n_res):
        n = draw(st.integers(2, max_slots))
        unavailable = []
        if draw(st.booleans()):
            k = draw(st.integers(0, n - 1))
            unavailable.append((T0 + k * 24 * H, T0 + (k + 1) * 24 * H, "maintenance"))
        booked = []
        if draw(st.booleans()):  # another call's slot, outside the problem
            k = draw(st.integers(0, n - 1))
            booked.append((T0 + k * 24 * H, T0 + (k + 1) * 24 * H, "other call"))
            unavailable.append((T0 + k * 24 * H, T0 + (k + 1) * 24 * H, "booked"))
        resources.append(
            sl.Resource(
                f"r{i}",
                T0,
                T0 + n * 24 * H,
                24.0,
                tuple(unavailable),
                changeover=draw(st.integers(0, 2)),
                booked=tuple(booked),
            )
        )
    awards = []
    for j in range(draw(st.integers(1, max_awards))):
        awards.append(
            sl.SlotAward(
                id=f"a{j}",
                resource=f"r{draw(st.integers(0, n_res - 1))}",
                slots=draw(st.integers(1, 2)),
                proposal=f"p{draw(st.integers(0, 2))}",
                bundle=draw(st.sampled_from([None, None, "b"])),
                together=draw(st.booleans()),
                weight=draw(st.sampled_from([1.0, 1.5, 2.0])),
            )
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_changeover_is_kept_and_the_most_value_is_placed(problem: sl.SlotProblem) -> None:
    res = sl.solve_slots(problem)
    assert res.method == "milp"
    assert independent_violations(problem, res.starts) == []
    assert changeover_violations(problem, res.starts) == []
    assert res.check(problem) == []
    assert res.value == pytest.approx(best_value(problem), abs=1e-6)
    greedy = sl.solve_slots(problem, exact=False)
    assert changeover_violations(problem, greedy.starts) == []
    assert independent_violations(problem, greedy.starts) == []


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def test_one_free_day_between_two_proposals_none_within_one() -> None:
    lab = sl.Resource("cell", day(0), day(10), 24.0, changeover=1)
    awards = (
        sl.SlotAward("x1", "cell", 3, proposal="p", weight=2.0),
        sl.SlotAward("x2", "cell", 2, proposal="p", weight=2.0),
        sl.SlotAward("y", "cell", 4, proposal="q"),
    )
    problem = sl.SlotProblem((lab,), awards)
    for exact in (True, False):
        res = sl.solve_slots(problem, exact=exact)
        assert set(res.starts) == {"x1", "x2", "y"}  # 9 days used of 10: one gap, no more
        assert changeover_violations(problem, res.starts) == []
        days = sorted(t for ts in res.starts.values() for t in ts)
        gaps = [b - a for a, b in itertools.pairwise(days) if b - a > dt.timedelta(days=1)]
        assert gaps == [dt.timedelta(days=2)]  # the one changeover day


def test_a_changeover_that_leaves_no_room_drops_the_lower_value_award() -> None:
    lab = sl.Resource("cell", day(0), day(5), 24.0, changeover=2)
    awards = (
        sl.SlotAward("high", "cell", 2, proposal="p", weight=2.0),
        sl.SlotAward("low", "cell", 2, proposal="q"),
    )
    problem = sl.SlotProblem((lab,), awards)
    res = sl.solve_slots(problem)
    assert set(res.starts) == {"high"} and res.unplaced["low"].reason == "capacity"
    # back to back they both fit in four of the five days
    both = sl.solve_slots(sl.SlotProblem((replace(lab, changeover=0),), awards))
    assert set(both.starts) == {"high", "low"}


def test_slots_booked_outside_the_problem_keep_their_changeover() -> None:
    # another proposal booked day 3; with a changeover of 1 days 2 and 4 stay free
    booked = ((day(3), day(4), "other call's proposal"),)
    lab = sl.Resource(
        "cell", day(0), day(7), 24.0, ((day(3), day(4), "booked"),), changeover=1, booked=booked
    )
    problem = sl.SlotProblem((lab,), (sl.SlotAward("a", "cell", 4, proposal="p"),))
    res = sl.solve_slots(problem)
    assert res.starts["a"] == (day(0), day(1), day(5), day(6))
    assert sl.check(problem, {"a": (day(0), day(1), day(2), day(5))}) != []
    # the same proposal's own earlier slot needs no gap
    mine = replace(lab, booked=((day(3), day(4), "p"),))
    got = sl.solve_slots(sl.SlotProblem((mine,), (sl.SlotAward("a", "cell", 2, proposal="p"),)))
    assert got.starts["a"] == (day(0), day(1))
    # five slots cannot fit in the four left: the message counts those kept free
    five = sl.SlotProblem((lab,), (sl.SlotAward("a", "cell", 5, proposal="p"),))
    why = sl.solve_slots(five).unplaced["a"]
    assert why.reason == "no_usable_slots"
    assert "2 kept free for a changeover" in why.detail, why.detail


def test_a_negative_or_fractional_changeover_is_refused() -> None:
    for bad in (-1, 1.5):
        lab = sl.Resource("cell", day(0), day(5), 24.0, changeover=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="changeover"):
            sl.SlotProblem((lab,), ()).validate()


def test_the_exact_solve_places_what_the_greedy_leaves_out() -> None:
    # the greedy books p's heavy award on days 0-1, then q's on days 3-4 after one
    # changeover day: p's light award finds no two days left. The 0-1 program puts
    # both of p's awards first (no changeover between them) and q's last: all placed.
    lab = sl.Resource("cell", day(0), day(7), 24.0, changeover=1)
    awards = (
        sl.SlotAward("heavy", "cell", 2, proposal="p", weight=2.0),
        sl.SlotAward("other", "cell", 2, proposal="q", weight=1.5),
        sl.SlotAward("light", "cell", 2, proposal="p", weight=1.0),
    )
    problem = sl.SlotProblem((lab,), awards)
    greedy = sl.solve_slots(problem, exact=False)
    assert set(greedy.starts) == {"heavy", "other"}
    res = sl.solve_slots(problem)
    assert set(res.starts) == {"heavy", "other", "light"}
    assert res.value == pytest.approx(best_value(problem)) == pytest.approx(9.0)
    assert changeover_violations(problem, res.starts) == [] and res.check(problem) == []
