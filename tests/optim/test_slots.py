"""Slot placement (opencall.optim.slots): every hard constraint checked by an independent
checker written here (not the module's own ``check``), and the lexicographic optimum compared
with brute force on tiny instances."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def independent_violations(problem: sl.SlotProblem, starts: dict) -> list[str]:
    """Checked from the problem's raw data with plain interval arithmetic."""
    out = []
    res = {r.id: r for r in problem.resources}
    used: dict[tuple[str, dt.datetime], str] = {}
    for a in problem.awards:
        ts = starts.get(a.id, ())
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
            for u0, u1, _ in r.unavailable:
                if t < u1 and u0 < t + length:
                    out.append(f"{a.id} unavailable {t}")
            for i0, i1 in a.impossible:
                if t < i1 and i0 < t + length:
                    out.append(f"{a.id} impossible {t}")
            if (a.resource, t) in used:
                out.append(f"{a.id} double booked {t} with {used[(a.resource, t)]}")
            used[(a.resource, t)] = a.id
    groups: dict = {}
    for a in problem.awards:
        if a.bundle is not None:
            groups.setdefault((a.proposal, a.bundle), []).append(bool(starts.get(a.id)))
    for key, flags in groups.items():
        if any(flags) and not all(flags):
            out.append(f"bundle {key} split")
    return out


def brute_force(problem: sl.SlotProblem) -> tuple[float, float, int]:
    """The lexicographic optimum over every assignment (tiny instances only)."""
    res = {r.id: r for r in problem.resources}
    options = []
    for a in problem.awards:
        r = res.get(a.resource)
        starts = [s.start for s in sl.slot_grid(r)] if r else []
        opts: list[tuple[dt.datetime, ...]] = [()]
        opts += list(itertools.combinations(starts, a.slots))
        options.append(opts)
    best = None
    for combo in itertools.product(*options):
        cand = {a.id: c for a, c in zip(problem.awards, combo, strict=True) if c}
        if independent_violations(problem, cand):
            continue
        v, s, r = sl.evaluate(problem, cand)
        key = (round(v, 9), -round(s, 9), -r)
        if best is None or key > best:
            best = key
    assert best is not None
    return (best[0], -best[1], -best[2])


@st.composite
def problems(draw: st.DrawFn, max_slots: int = 5, max_awards: int = 3) -> sl.SlotProblem:
    n_res = draw(st.integers(1, 2))
    resources = []
    for i in range(n_res):
        hours = draw(st.sampled_from([6.0, 12.0, 24.0]))
        n = draw(st.integers(1, max_slots))
        start = T0 + draw(st.integers(0, 3)) * 6 * H
        unavailable = []
        if draw(st.booleans()):
            u0 = start + draw(st.integers(0, int(n * hours))) * H
            unavailable.append((u0, u0 + draw(st.integers(1, 30)) * H, "maintenance"))
        resources.append(
            sl.Resource(f"r{i}", start, start + n * hours * H, hours, tuple(unavailable))
        )
    awards = []
    n_aw = draw(st.integers(1, max_awards))
    for j in range(n_aw):
        impossible = []
        if draw(st.booleans()):
            i0 = T0 + draw(st.integers(0, 100)) * H
            impossible.append((i0, i0 + draw(st.integers(1, 30)) * H))
        bundle = draw(st.sampled_from([None, None, "b"]))
        awards.append(
            sl.SlotAward(
                id=f"a{j}",
                resource=f"r{draw(st.integers(0, n_res - 1))}",
                slots=draw(st.integers(1, 2)),
                proposal=f"p{draw(st.integers(0, 1))}",
                impossible=tuple(impossible),
                bundle=bundle,
                together=draw(st.booleans()),
                weight=draw(st.sampled_from([1.0, 1.5, 2.0])),
            )
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_milp_is_feasible_and_optimal_against_brute_force(problem: sl.SlotProblem) -> None:
    res = sl.solve_slots(problem)
    assert res.method == "milp"
    assert independent_violations(problem, res.starts) == []
    assert set(res.starts) | set(res.unplaced) == {a.id for a in problem.awards}
    assert not set(res.starts) & set(res.unplaced)
    best = brute_force(problem)
    assert res.value == pytest_approx(best[0])
    assert res.span_hours == pytest_approx(best[1])
    assert res.runs == best[2]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_slots=12, max_awards=6))
def test_greedy_is_feasible_and_never_better_than_milp(problem: sl.SlotProblem) -> None:
    g = sl.solve_slots(problem, exact=False)
    assert g.method == "greedy"
    assert independent_violations(problem, g.starts) == []
    m = sl.solve_slots(problem)
    assert independent_violations(problem, m.starts) == []
    assert g.value <= m.value + 1e-9
    if abs(g.value - m.value) < 1e-9:
        assert m.span_hours <= g.span_hours + 1e-9
        if abs(g.span_hours - m.span_hours) < 1e-9:
            assert m.runs <= g.runs


def pytest_approx(x: float) -> object:
    import pytest

    return pytest.approx(x, abs=1e-6)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def test_maintenance_week_and_impossible_dates_are_avoided() -> None:
    scope = sl.Resource("m1", day(0), day(21), 24.0, ((day(7), day(14), "maintenance"),))
    aw = sl.SlotAward(
        "a", "m1", 10, proposal="p", impossible=sl.date_ranges([["2027-03-01", "2027-03-03"]])
    )
    res = sl.solve_slots(sl.SlotProblem((scope,), (aw,)))
    got = res.starts["a"]
    assert len(got) == 10
    assert all(not day(7) <= t < day(14) for t in got)
    assert all(t >= day(3) for t in got)
    # contiguous where possible: 7 usable days after the maintenance week, 4 before it
    assert res.runs == 2
    assert independent_violations(sl.SlotProblem((scope,), (aw,)), res.starts) == []


def test_bundle_is_kept_together_across_two_microscopes() -> None:
    m1 = sl.Resource("m1", day(0), day(30), 24.0)
    m2 = sl.Resource("m2", day(0), day(30), 24.0, ((day(0), day(10), "maintenance"),))
    awards = (
        # a higher-ranked award fills m1 until day 12
        sl.SlotAward("x", "m1", 12, proposal="q", weight=2.0),
        sl.SlotAward("screen", "m1", 1, proposal="p", bundle="b", together=True),
        sl.SlotAward("collect", "m2", 2, proposal="p", bundle="b", together=True),
    )
    problem = sl.SlotProblem((m1, m2), awards)
    res = sl.solve_slots(problem)
    assert independent_violations(problem, res.starts) == []
    s, c = res.starts["screen"], res.starts["collect"]
    # m2 is free from day 10, but screening cannot start before day 12: the collection is
    # moved next to it rather than taking the earliest m2 days (10-11), a 2-day span
    assert s == (day(12),)
    assert res.span_hours == 48.0
    assert max(c) + dt.timedelta(days=1) - min(s + c) == dt.timedelta(days=2)
    assert c[1] - c[0] == dt.timedelta(days=1)
    # without "together" the earliest slots are taken
    loose = sl.SlotProblem((m1, m2), tuple(replace(a, together=False) for a in awards))
    assert sl.solve_slots(loose).starts["collect"] == (day(10), day(11))


def test_unplaceable_awards_carry_a_reason_and_drag_their_bundle() -> None:
    m1 = sl.Resource("m1", day(0), day(5), 24.0, ((day(1), day(3), "maintenance"),))
    awards = (
        sl.SlotAward("big", "m1", 4, proposal="p", bundle="b"),
        sl.SlotAward("small", "m1", 1, proposal="p", bundle="b"),
        sl.SlotAward("ghost", "nowhere", 1, proposal="q"),
        sl.SlotAward("c1", "m1", 3, proposal="r", weight=2.0),
        sl.SlotAward("c2", "m1", 1, proposal="s", weight=1.0),
    )
    res = sl.solve_slots(sl.SlotProblem((m1,), awards))
    assert res.unplaced["big"].reason == "no_usable_slots"
    assert "2 in unavailable periods" in res.unplaced["big"].detail
    assert res.unplaced["small"].reason == "bundle"
    assert res.unplaced["ghost"].reason == "unknown_resource"
    # c1 takes the 3 usable days (0, 3, 4: two runs around the maintenance); c2 loses
    assert res.starts["c1"] == (day(0), day(3), day(4))
    assert res.runs == 2
    assert res.unplaced["c2"].reason == "capacity"
    assert set(res.starts) == {"c1"}


def test_higher_value_wins_a_contested_slot() -> None:
    m1 = sl.Resource("m1", day(0), day(2), 24.0)
    awards = (
        sl.SlotAward("low", "m1", 2, proposal="p", weight=1.0),
        sl.SlotAward("high", "m1", 2, proposal="q", weight=1.5),
    )
    res = sl.solve_slots(sl.SlotProblem((m1,), awards))
    assert set(res.starts) == {"high"}
    assert res.unplaced["low"].reason == "capacity"


def test_validate_names_the_bad_field() -> None:
    import pytest

    m1 = sl.Resource("m1", day(0), day(2), 0.0)
    with pytest.raises(ValueError, match="slot_hours"):
        sl.solve_slots(sl.SlotProblem((m1,), ()))
    m1 = sl.Resource("m1", day(0), day(2), 24.0)
    with pytest.raises(ValueError, match="slots must be at least 1"):
        sl.solve_slots(sl.SlotProblem((m1,), (sl.SlotAward("a", "m1", 0),)))
