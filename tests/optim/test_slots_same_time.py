"""A bundle placed at the same times on several resources (``SlotAward.same_time``): a VLBI
observation on three telescopes of different sites at once, two growth chambers for the same
days. Every placement is checked by the module's ``check`` and by comparing the instants
directly; the greedy and the exact program both keep it."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def hour(n: float) -> dt.datetime:
    return T0 + n * H


def _telescopes() -> tuple[sl.Resource, ...]:
    # 4-hour slots over two days; each site has its own maintenance hours (UTC)
    return (
        sl.Resource("ef", hour(0), hour(48), 4.0, ((hour(0), hour(8), "maintenance"),)),
        sl.Resource("mk", hour(0), hour(48), 4.0, ((hour(12), hour(24), "maintenance"),)),
        sl.Resource("hh", hour(0), hour(48), 4.0, ((hour(28), hour(32), "maintenance"),)),
    )


@pytest.mark.parametrize("exact", [True, False])
def test_a_same_time_bundle_takes_the_same_instants_on_every_resource(exact: bool) -> None:
    tel = _telescopes()
    awards = tuple(
        sl.SlotAward(f"obs-{r.id}", r.id, 3, proposal="p", bundle="vlbi", same_time=True)
        for r in tel
    ) + (
        # a higher-ranked single-dish award takes ef's first free hours (8-20)
        sl.SlotAward("solo", "ef", 3, proposal="q", weight=5.0),
    )
    problem = sl.SlotProblem(tel, awards)
    res = sl.solve_slots(problem, exact=exact)
    assert res.check(problem) == []
    got = {r.id: res.starts[f"obs-{r.id}"] for r in tel}
    assert got["ef"] == got["mk"] == got["hh"], got
    # free on all three at once: ef from 20 h (after solo), mk from 24 h, hh not 28-32 h
    assert all(hour(24) <= t and not hour(28) <= t < hour(32) for t in got["ef"]), got
    # without "same time" each telescope takes its own earliest hours
    loose = sl.SlotProblem(tel, tuple(
        sl.SlotAward(a.id, a.resource, a.slots, a.proposal, bundle=a.bundle, weight=a.weight)
        for a in awards))  # fmt: skip
    free = sl.solve_slots(loose, exact=exact).starts
    assert len({free[f"obs-{r.id}"] for r in tel}) > 1


def test_a_same_time_bundle_with_too_few_common_slots_is_left_out_saying_so() -> None:
    # a: free 0-24 h only; b: free 16-48 h only: 2 common 4-hour slots (16-24), 3 asked
    a = sl.Resource("a", hour(0), hour(48), 4.0, ((hour(24), hour(48), "closed"),))
    b = sl.Resource("b", hour(0), hour(48), 4.0, ((hour(0), hour(16), "closed"),))
    awards = (
        sl.SlotAward("x", "a", 3, proposal="p", bundle="k", same_time=True),
        sl.SlotAward("y", "b", 3, proposal="p", bundle="k", same_time=True),
    )
    problem = sl.SlotProblem((a, b), awards)
    res = sl.solve_slots(problem)
    assert res.starts == {}
    assert {u.reason for u in res.unplaced.values()} == {"no_common_slots"}
    assert "only 2" in res.unplaced["x"].detail, res.unplaced["x"].detail
    # two asked: placed at 16 h and 20 h on both
    two = sl.SlotProblem((a, b), tuple(
        sl.SlotAward(w.id, w.resource, 2, "p", bundle="k", same_time=True) for w in awards))  # fmt: skip
    res = sl.solve_slots(two)
    assert res.starts == {"x": (hour(16), hour(20)), "y": (hour(16), hour(20))}


def test_a_same_time_bundle_of_unequal_lengths_is_left_out_saying_so() -> None:
    a = sl.Resource("a", hour(0), hour(48), 24.0)
    b = sl.Resource("b", hour(0), hour(48), 24.0)
    awards = (
        sl.SlotAward("x", "a", 2, proposal="p", bundle="k", same_time=True),
        sl.SlotAward("y", "b", 1, proposal="p", bundle="k", same_time=True),
    )
    res = sl.solve_slots(sl.SlotProblem((a, b), awards))
    assert res.starts == {}
    assert {u.reason for u in res.unplaced.values()} == {"same_time_lengths"}


def test_check_names_a_same_time_bundle_placed_at_different_times() -> None:
    a = sl.Resource("a", hour(0), hour(48), 24.0)
    b = sl.Resource("b", hour(0), hour(48), 24.0)
    awards = (
        sl.SlotAward("x", "a", 1, proposal="p", bundle="k", same_time=True),
        sl.SlotAward("y", "b", 1, proposal="p", bundle="k", same_time=True),
    )
    errors = sl.check(sl.SlotProblem((a, b), awards), {"x": (hour(0),), "y": (hour(24),)})
    assert any("not at the same times" in e for e in errors), errors


def test_two_growth_chambers_are_held_for_the_same_90_days() -> None:
    day = dt.timedelta(days=1)
    a = sl.Resource("A", T0, T0 + 120 * day, 24.0, ((T0 + 10 * day, T0 + 15 * day, "service"),))
    b = sl.Resource("B", T0, T0 + 120 * day, 24.0)
    awards = (
        sl.SlotAward("crop-A", "A", 90, proposal="p", bundle="season", same_time=True),
        sl.SlotAward("crop-B", "B", 90, proposal="p", bundle="season"),
        sl.SlotAward("short", "B", 20, proposal="q", weight=2.0),
    )
    problem = sl.SlotProblem((a, b), awards)
    res = sl.solve_slots(problem)
    assert res.check(problem) == [] and not res.unplaced, res.unplaced
    assert res.starts["crop-A"] == res.starts["crop-B"]
    # 90 days in one run on each chamber, clear of A's service days
    got = res.starts["crop-A"]
    assert got[-1] - got[0] == 89 * day and got[0] >= T0 + 15 * day, (got[0], got[-1])
