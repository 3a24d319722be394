"""Resources that share one instrument (``SlotProblem.exclusive``, trialfac21b): a beamline
in two machine modes, a vessel running its ROV or its AUV, a telescope with two receivers.
At most one resource of a group is in use at any moment. Checked: the double booking the
modes journey allowed (a shift open in both modes booked once per mode), the judge
(``check``) naming it, and on small random instances (fixed seed) the optimiser's value
equal to an exhaustive search that respects the group, its placement passing a checker
written from the raw data, and the greedy's placement feasible too."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from tests.optim.test_slots_changeover import best_value_under
from tests.optim.test_slots_groups import shared_violations

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 8, 2, 11, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def _modes(exclusive: bool) -> sl.SlotProblem:
    """Four 8-hour shifts in two modes: multibunch closed in the last, single-bunch in the
    first; the middle two are open in both."""
    multi = sl.Resource("multi", T0, T0 + 32 * H, 8.0, ((T0 + 24 * H, T0 + 32 * H, "single"),))
    single = sl.Resource("single", T0, T0 + 32 * H, 8.0, ((T0, T0 + 8 * H, "multi"),))
    awards = (sl.SlotAward("a", "multi", 3, "p1"), sl.SlotAward("b", "single", 3, "p2"))
    groups = (("multi", "single"),) if exclusive else ()
    return sl.SlotProblem((multi, single), awards, groups)


def _instants(problem: sl.SlotProblem, starts: dict) -> list[tuple[dt.datetime, dt.datetime]]:
    res = {r.id: r for r in problem.resources}
    return [
        (t, t + dt.timedelta(hours=res[a.resource].slot_hours))
        for a in problem.awards
        for t in starts.get(a.id, ())
    ]


@pytest.mark.parametrize("exact", [False, True], ids=["greedy", "exact"])
def test_a_shift_open_in_both_modes_is_booked_once(exact: bool) -> None:
    alone = sl.solve_slots(_modes(False), exact=exact)
    assert sorted(alone.starts) == ["a", "b"]  # two resources, no tie: both placed
    problem = _modes(True)
    res = sl.solve_slots(problem, exact=exact)
    assert res.check(problem) == []
    assert len(res.starts) == 1, res.starts  # 3 + 3 shifts of 4: only one mode fits
    spans = sorted(_instants(problem, dict(res.starts)))
    assert all(b0 >= a1 for (_a0, a1), (b0, _b1) in itertools.pairwise(spans)), spans


def test_the_judge_names_a_double_booking_across_the_group() -> None:
    problem = _modes(True)
    both = {"a": [T0, T0 + 8 * H, T0 + 16 * H], "b": [T0 + 8 * H, T0 + 16 * H, T0 + 24 * H]}
    errors = sl.check(problem, both)
    assert len(errors) == 2 and all("shares its instrument" in e for e in errors), errors
    assert sl.check(_modes(False), both) == []


def test_groups_are_validated() -> None:
    base = _modes(False)
    for groups, why in (
        ((("multi",),), "two resources"),
        ((("multi", "x"),), "not known"),
        ((("multi", "single"), ("single", "multi")), "more than one"),
    ):
        with pytest.raises(ValueError, match=why):
            sl.SlotProblem(base.resources, base.awards, groups).validate()


def test_a_same_time_bundle_on_one_instrument_is_left_out() -> None:
    problem = _modes(True)
    awards = tuple(
        sl.SlotAward(a.id, a.resource, 1, "p1", bundle="x", same_time=True) for a in problem.awards
    )
    res = sl.solve_slots(sl.SlotProblem(problem.resources, awards, problem.exclusive))
    assert res.starts == {} and res.unplaced["a"].reason == "same_time_one_instrument"


def _violations(problem: sl.SlotProblem, starts: dict) -> list[str]:
    """Every rule from the raw data (``shared_violations``), and no two overlapping slots
    on two resources of one group."""
    out = shared_violations(problem, starts)
    res = {r.id: r for r in problem.resources}
    group = {rid: i for i, g in enumerate(problem.exclusive) for rid in g}
    used = [
        (a.resource, t, t + dt.timedelta(hours=res[a.resource].slot_hours))
        for a in problem.awards
        for t in starts.get(a.id, ())
    ]
    for (r1, a0, a1), (r2, b0, b1) in itertools.combinations(used, 2):
        if r1 != r2 and r1 in group and group.get(r2) == group[r1] and a0 < b1 and b0 < a1:
            out.append(f"{r1} {a0} and {r2} {b0} at once")
    return out


def _brute_value(problem: sl.SlotProblem) -> float:
    """The most value over every placement that breaks no rule (``_violations``)."""
    return best_value_under(problem, _violations)


def _instance(rng: random.Random) -> sl.SlotProblem:
    """Two or three resources over one day, of 4-, 6-, 8- or 12-hour slots, a closure
    each maybe; two of them (or all three) in one group; three awards, two perhaps
    bundled."""
    n_res = rng.choice([2, 3])
    resources = []
    for i in range(n_res):
        hours = rng.choice([4.0, 6.0, 8.0, 12.0])
        closed: tuple[tuple[dt.datetime, dt.datetime, str], ...] = ()
        if rng.random() < 0.5:
            c0 = T0 + rng.randrange(0, 20) * H
            closed = ((c0, c0 + rng.randrange(1, 9) * H, "closed"),)
        resources.append(sl.Resource(f"r{i}", T0, T0 + 24 * H, hours, closed))
    ids = [r.id for r in resources]
    group = ids if n_res == 2 or rng.random() < 0.5 else rng.sample(ids, 2)
    awards = []
    for j in range(3):
        r = rng.choice(resources)
        most = min(3, int(24 // r.slot_hours))
        awards.append(
            sl.SlotAward(
                f"a{j}", r.id, rng.randint(1, most), f"p{j}", weight=float(rng.randint(1, 5))
            )
        )
    if rng.random() < 0.3:
        awards[1] = sl.SlotAward(
            "a1", awards[1].resource, awards[1].slots, "p0", bundle="b", weight=awards[1].weight
        )
        awards[0] = sl.SlotAward(
            "a0", awards[0].resource, awards[0].slots, "p0", bundle="b", weight=awards[0].weight
        )
    return sl.SlotProblem(tuple(resources), tuple(awards), (tuple(sorted(group)),))


def test_the_optimum_equals_an_exhaustive_search_on_small_instances() -> None:
    rng = random.Random(2121)
    binding = 0
    engines: set[str] = set()
    for _ in range(40):
        problem = _instance(rng)
        want = _brute_value(problem)
        free = sl.SlotProblem(problem.resources, problem.awards)
        binding += _brute_value(free) > want  # the group costs value here
        exact = sl.solve_slots(problem, time_limit_s=10.0)
        assert _violations(problem, dict(exact.starts)) == [], (problem, exact.starts)
        assert exact.check(problem) == []
        assert exact.value == pytest.approx(want), (problem, exact.starts)
        engines.update(e for e in ("(cp-sat)", "(highs)") if any(e in x for x in exact.stages))
        quick = sl.greedy(problem)
        assert _violations(problem, dict(quick.starts)) == [], (problem, quick.starts)
        assert quick.value <= want + 1e-9
    assert binding >= 5  # the instances test the group, not only the slots
    assert engines == {"(cp-sat)", "(highs)"}  # both value engines read the group's rows
