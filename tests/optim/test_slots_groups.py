"""Shared-use slots (``optim.slots.Resource.groups_per_slot``): one slot of a resource
holds up to ``k`` groups' awards (a beamline's sample changer takes 4 groups' crystals a
shift, a research vessel's leg 12 berths). Checked here by an independent checker written
from the raw data (at most ``k`` awards a slot, every other rule as before) on the
solver's placements, and against a brute-force lexicographic optimum on small instances,
on both the HiGHS path (bundles kept together) and the CP-SAT path (none)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def shared_violations(problem: sl.SlotProblem, starts: dict) -> list[str]:
    """Every rule, from the raw data with plain interval arithmetic: slots on the grid,
    none in an unavailable period or on an impossible date, at most ``groups_per_slot``
    awards in one slot, bundles whole, same-time bundles at the same instants and on
    distinct resources, unbroken awards in one run."""
    out = []
    res = {r.id: r for r in problem.resources}
    used: Counter[tuple[str, dt.datetime]] = Counter()
    for a in problem.awards:
        ts = sorted(starts.get(a.id, ()))
        if not ts:
            continue
        r = res[a.resource]
        length = dt.timedelta(hours=r.slot_hours)
        if len(ts) != a.slots or len(set(ts)) != len(ts):
            out.append(f"{a.id} count")
        for t in ts:
            offset = (t - r.start) / length
            if abs(offset - round(offset)) > 1e-9 or t < r.start or t + length > r.end:
                out.append(f"{a.id} off grid {t}")
            if any(t < u1 and u0 < t + length for u0, u1, _ in r.unavailable):
                out.append(f"{a.id} unavailable {t}")
            if any(t < i1 and i0 < t + length for i0, i1 in a.impossible):
                out.append(f"{a.id} impossible {t}")
            used[(a.resource, t)] += 1
        if a.unbroken and any(q - p != length for p, q in itertools.pairwise(ts)):
            out.append(f"{a.id} broken")
    for (rid, t), n in used.items():
        r = res[rid]
        # on a shared resource each booking outside the problem takes one place
        length = dt.timedelta(hours=r.slot_hours)
        outside = sum(1 for b0, b1, _ in r.booked if b0 < t + length and t < b1)
        room = r.groups_per_slot - (outside if r.groups_per_slot > 1 else 0)
        if n > room:
            out.append(f"{rid} {t}: {n} groups, {room} allowed")
    groups: dict = {}
    for a in problem.awards:
        if a.bundle is not None:
            groups.setdefault((a.proposal, a.bundle), []).append(a)
    for key, members in groups.items():
        flags = [bool(starts.get(m.id)) for m in members]
        if any(flags) and not all(flags):
            out.append(f"bundle {key} split")
        same_time = any(m.same_time for m in members) and len(members) > 1
        one_resource = len({m.resource for m in members}) < len(members)
        if any(flags) and same_time and one_resource:
            # the rule as before: a same-time bundle is on distinct resources, shared or not
            out.append(f"bundle {key} at the same times twice on one resource")
        if all(flags) and same_time:
            if len({tuple(sorted(starts[m.id])) for m in members}) > 1:
                out.append(f"bundle {key} not at the same times")
    return out


def brute_force(problem: sl.SlotProblem) -> tuple[float, float, int]:
    """The lexicographic optimum (value, span, runs) over every assignment."""
    res = {r.id: r for r in problem.resources}
    options = []
    for a in problem.awards:
        grid = [s.start for s in sl.slot_grid(res[a.resource])]
        options.append([(), *itertools.combinations(grid, a.slots)])
    best = None
    for combo in itertools.product(*options):
        cand = {a.id: c for a, c in zip(problem.awards, combo, strict=True) if c}
        if shared_violations(problem, cand):
            continue
        v, s, r = sl.evaluate(problem, cand)
        key = (round(v, 9), -round(s, 9), -r)
        if best is None or key > best:
            best = key
    assert best is not None
    return (best[0], -best[1], -best[2])


@st.composite
def problems(draw: st.DrawFn, together: bool) -> sl.SlotProblem:
    n_res = draw(st.integers(1, 2))
    resources = []
    for i in range(n_res):
        n = draw(st.integers(1, 3))
        unavailable = []
        if draw(st.booleans()):
            k = draw(st.integers(0, n - 1))
            unavailable.append((T0 + k * 8 * H, T0 + (k + 1) * 8 * H, "maintenance"))
        resources.append(
            sl.Resource(
                f"r{i}",
                T0,
                T0 + n * 8 * H,
                8.0,
                tuple(unavailable),
                groups_per_slot=draw(st.integers(1, 3)),
                # places booked outside the problem (another call's): one each
                booked=tuple(
                    (T0 + k * 8 * H, T0 + (k + 1) * 8 * H, "another call")
                    for k in draw(st.lists(st.integers(0, n - 1), max_size=3))
                ),
            )
        )
    awards = []
    for j in range(draw(st.integers(1, 4))):
        impossible = []
        if draw(st.booleans()):
            k = draw(st.integers(0, 2))
            impossible.append((T0 + k * 8 * H, T0 + (k + 1) * 8 * H))
        awards.append(
            sl.SlotAward(
                id=f"a{j}",
                resource=f"r{draw(st.integers(0, n_res - 1))}",
                slots=draw(st.integers(1, 2)),
                proposal=f"p{draw(st.integers(0, 2))}",
                impossible=tuple(impossible),
                bundle=draw(st.sampled_from([None, None, "b"])),
                together=together and draw(st.booleans()),
                same_time=not together and draw(st.booleans()),
                unbroken=draw(st.booleans()),
                weight=draw(st.sampled_from([1.0, 1.5, 2.0])),
            )
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


def _assert_optimal(problem: sl.SlotProblem) -> sl.SlotSchedule:
    res = sl.solve_slots(problem)
    assert res.method == "milp", res.stages
    assert shared_violations(problem, res.starts) == []
    assert res.check(problem) == []
    assert res.objective == pytest.approx(brute_force(problem), abs=1e-6)
    greedy = sl.solve_slots(problem, exact=False)
    assert shared_violations(problem, greedy.starts) == []
    assert greedy.check(problem) == []
    return res


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(together=True))
def test_shared_slots_with_bundles_kept_together_match_brute_force(
    problem: sl.SlotProblem,
) -> None:
    _assert_optimal(problem)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(together=False))
def test_shared_slots_without_together_bundles_match_brute_force(
    problem: sl.SlotProblem,
) -> None:
    _assert_optimal(problem)


def shift(k: int) -> dt.datetime:
    return T0 + k * 8 * H


def changer(groups: int, shifts: int = 1, **kw: object) -> sl.Resource:
    """A beamline's automated sample changer, offered in 8-hour shifts."""
    return sl.Resource("changer", T0, shift(shifts), 8.0, groups_per_slot=groups, **kw)  # type: ignore[arg-type]


def test_four_groups_share_one_shift_and_a_fifth_is_left_out() -> None:
    awards = tuple(
        sl.SlotAward(f"g{i}", "changer", 1, proposal=f"p{i}", weight=1.0 + i / 10) for i in range(5)
    )
    problem = sl.SlotProblem((changer(4),), awards)
    for res in (sl.solve_slots(problem), sl.solve_slots(problem, exact=False)):
        assert sorted(res.starts) == ["g1", "g2", "g3", "g4"]
        assert all(ts == (T0,) for ts in res.starts.values())
        assert res.unplaced["g0"].reason == "capacity"
        assert res.check(problem) == []


def test_one_group_per_slot_is_todays_rule() -> None:
    awards = (sl.SlotAward("a", "changer", 1), sl.SlotAward("b", "changer", 1))
    problem = sl.SlotProblem((changer(1),), awards)
    assert sl.Resource("x", T0, shift(1), 8.0).groups_per_slot == 1
    assert len(sl.solve_slots(problem).starts) == 1
    assert sl.check(problem, {"a": (T0,), "b": (T0,)}) == [
        f"b: {T0.isoformat()} is also given to a"
    ]


def test_the_check_names_a_slot_given_to_more_groups_than_it_holds() -> None:
    awards = tuple(sl.SlotAward(f"g{i}", "changer", 1) for i in range(3))
    problem = sl.SlotProblem((changer(2),), awards)
    starts = {f"g{i}": (T0,) for i in range(3)}
    assert sl.check(problem, starts) == [
        f"g2: {T0.isoformat()} is given to 3 groups, more than the 2 a slot holds"
    ]
    assert sl.check(problem, {"g0": (T0,), "g1": (T0,)}) == []


def test_an_award_takes_distinct_slots_even_when_a_slot_holds_several_groups() -> None:
    problem = sl.SlotProblem((changer(3, shifts=2),), (sl.SlotAward("a", "changer", 2),))
    res = sl.solve_slots(problem)
    assert res.starts["a"] == (shift(0), shift(1))
    assert sl.check(problem, {"a": (T0, T0)}) == ["a: 2 distinct slots placed, 2 awarded"]


def test_a_closure_and_a_zone_still_hold_in_a_shared_slot() -> None:
    # a vessel's legs of 24 h in Pacific/Auckland; the second leg is a port call
    start = dt.datetime(2027, 3, 1, 11, tzinfo=dt.UTC)  # 00:00 in Auckland
    day = dt.timedelta(days=1)
    vessel = sl.Resource(
        "vessel",
        start,
        start + 3 * day,
        24.0,
        ((start + day, start + 2 * day, "port call"),),
        time_zone="Pacific/Auckland",
        groups_per_slot=2,
    )
    awards = tuple(sl.SlotAward(f"t{i}", "vessel", 1, proposal=f"p{i}") for i in range(5))
    problem = sl.SlotProblem((vessel,), awards)
    res = sl.solve_slots(problem)
    assert len(res.starts) == 4
    assert Counter(t for ts in res.starts.values() for t in ts) == {
        start: 2,
        start + 2 * day: 2,
    }


@pytest.mark.parametrize("bad", [0, -1, 1.5, 2.0, True, "2", None])
def test_groups_per_slot_that_is_not_a_whole_number_of_one_or_more_is_refused(
    bad: object,
) -> None:
    problem = sl.SlotProblem((changer(bad),), ())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="groups_per_slot must be a whole number, 1 or more"):
        sl.solve_slots(problem)


def test_a_shared_slot_with_a_changeover_is_refused() -> None:
    problem = sl.SlotProblem((changer(2, changeover=1),), ())
    with pytest.raises(ValueError, match="a changeover between groups who share a slot"):
        sl.solve_slots(problem)


def test_the_value_level_of_a_shared_resource_goes_to_cp_sat() -> None:
    # 3 groups a shift over 4 shifts (12 places) and awards of 2 and 3 shifts: the
    # greedy's value per slot takes the 2-shift ones first and cannot prove its value
    awards = tuple(
        sl.SlotAward(f"a{i}", "changer", 3 if i % 2 else 2, proposal=f"p{i}", weight=1.0)
        for i in range(7)
    )
    problem = sl.SlotProblem((changer(3, shifts=4),), awards)
    res = sl.solve_slots(problem)
    assert res.check(problem) == []
    assert res.value == 12.0
    assert sl.solve_slots(problem, exact=False).value < 12.0
    assert any(s.startswith("value: optimal") and "(cp-sat)" in s for s in res.stages)
