"""Instance families of the sixteenth round (trialopt16), each held to a checker written
here, independent of the optimisers' own ``check`` (bench/README.md, sixteenth round)."""

from __future__ import annotations

import itertools

import pytest

from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    Pool,
    Request,
    solve_allocation,
)
from opencall.optim.logistics import SampleLoan, SampleProblem, SampleType, plan_shipments


def _pool_use(problem: AllocationProblem, amounts) -> dict[str, float]:  # type: ignore[no-untyped-def]
    use = {p.id: 0.0 for p in problem.pools}
    for per_pool in amounts.values():
        for pid, a in per_pool.items():
            use[pid] += a
    return use


def _holds(problem: AllocationProblem, amounts) -> list[str]:  # type: ignore[no-untyped-def]
    """Every pool whose awards add up to more than its capacity (float round-off aside:
    1e-12 of the capacity, far below any whole request the tests ask for)."""
    cap = {p.id: p.capacity for p in problem.pools}
    return [
        f"{pid}: {u!r} > {cap[pid]!r}"
        for pid, u in _pool_use(problem, amounts).items()
        if u > cap[pid] * (1 + 1e-12)
    ]


def _weights(merits: list[float]) -> list[float]:
    lo, hi = min(merits), max(merits)
    return [((m - lo) / (hi - lo) if hi > lo else 1.0) + 0.1 for m in merits]


def _best_whole(problem: AllocationProblem) -> float:
    """Brute force over every subset of whole awards (one pool per demand, no caps)."""
    reqs = problem.requests
    w = _weights([r.merit for r in reqs])
    cap = {p.id: p.capacity for p in problem.pools}
    best = 0.0
    for k in range(len(reqs) + 1):
        for sub in itertools.combinations(range(len(reqs)), k):
            use = dict.fromkeys(cap, 0.0)
            for i in sub:
                for pid, d in reqs[i].demand.items():
                    use[pid] += d
            if all(use[p] <= cap[p] for p in cap):
                best = max(best, sum(w[i] for i in sub))
    return best


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
@pytest.mark.parametrize("capacity", [1e6, 1e7, 1e9])
def test_a_whole_award_never_overdraws_a_large_pool_by_the_solvers_tolerance(
    backend: str, capacity: float
) -> None:
    # a pool of a million units filled by one request, and a second of one unit: the row
    # scaled by its capacity gives the second 1e-6, the solvers' feasibility tolerance, so
    # both were awarded (1,000,001 of 1,000,000) and ``check`` passed them
    p = AllocationProblem(
        (Pool("t", capacity),),
        (
            Request("a", "A", "x", 5.0, {"t": capacity}),
            Request("b", "B", "y", 2.0, {"t": 1.0}),
        ),
    )
    r = solve_allocation(p, backend=backend)
    assert _holds(p, r.amounts) == []
    assert r.fractions == {"a": 1.0, "b": 0.0}
    assert r.explanations["b"].code == "not_awarded_pool_exhausted"
    assert r.objective == pytest.approx(_best_whole(p), rel=1e-6)
    assert r.check(p) == []


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_a_full_partial_award_gives_way_to_a_whole_one_within_the_capacity(backend: str) -> None:
    # a may be cut to half: the best answer keeps b whole and cuts a by a millionth; main
    # awarded both in full, one unit over the capacity
    p = AllocationProblem(
        (Pool("t", 1e6),),
        (
            Request("a", "A", "x", 5.0, {"t": 1e6}, min_fraction=0.5),
            Request("b", "B", "y", 2.0, {"t": 1.0}),
        ),
        AllocationPolicy(allow_partial=True, min_fraction=0.5),
    )
    r = solve_allocation(p, backend=backend)
    assert _holds(p, r.amounts) == []
    assert r.fractions["b"] == 1.0
    assert r.fractions["a"] == pytest.approx(1.0 - 1e-6, abs=1e-9)
    assert r.check(p) == []


def test_an_awarded_loan_ships_every_mass_it_was_awarded() -> None:
    # a kilogram of inventory, a loan of all of it and a loan of 1 mg: main "awarded" both
    # and shipped the second a parcel of no items (the first had taken the kilogram)
    p = SampleProblem(
        (SampleType("t0", 5.0), SampleType("t1", 1e6)),
        (
            SampleLoan("l0", 1.0, "c", {"t0": 5.0, "t1": 1e6}, min_fraction=0.25),
            SampleLoan("l1", -1.0, "c", {"t1": 1.0}, min_fraction=1e-3),
            SampleLoan("l2", -1.0, "c", {"t0": 0.5}, min_fraction=0.5),
        ),
    )
    plan = plan_shipments(p)
    inventory = {t.id: t.inventory_mg for t in p.types}
    loans = {loan.id: loan for loan in p.loans}
    shipped = dict.fromkeys(inventory, 0.0)
    for s in plan.shipments:
        loan = loans[s.loan_id]
        assert loan.min_fraction - 1e-12 <= s.fraction <= 1.0
        got = dict(s.items)
        for tid, mg in loan.masses.items():
            if mg > 0:
                assert got.get(tid, 0.0) == pytest.approx(mg * s.fraction, rel=1e-9), s
        for tid, mg in s.items:
            shipped[tid] += mg
    assert all(shipped[t] <= inventory[t] * (1 + 1e-12) for t in inventory), shipped
    assert plan.check(p) == []


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
@pytest.mark.parametrize(
    "policy",
    [
        AllocationPolicy(max_amount_per_pi=1e6),
        AllocationPolicy(max_amount_per_pi_by_pool={"t": 1e6}),
        AllocationPolicy(max_amount_per_pi=2e6, amount_held_by_pi={"x": {"t": 1e6}}),
    ],
    ids=["per_pi", "per_pi_and_pool", "per_pi_less_held"],
)
def test_a_whole_award_never_overdraws_an_amount_cap_by_the_solvers_tolerance(
    backend: str, policy: AllocationPolicy
) -> None:
    # one PI capped at a million units asks for a million and for one more: both were
    # awarded (the cap's row is scaled by the cap like a pool's)
    p = AllocationProblem(
        (Pool("t", 1e9),),
        (
            Request("a", "A", "x", 5.0, {"t": 1e6}),
            Request("b", "B", "x", 2.0, {"t": 1.0}),
        ),
        policy,
    )
    r = solve_allocation(p, backend=backend)
    assert r.fractions == {"a": 1.0, "b": 0.0}
    assert r.check(p) == []


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_units_freed_by_an_award_taken_back_go_to_the_requests_that_now_fit(backend: str) -> None:
    # two requests for a pool's whole 1e9 units and twenty of 1-9 units: the solvers took
    # one whole-pool request with some of the small ones (over by their units, within the
    # tolerance); held to the capacity, the large one went and the small ones left out
    # stayed out with a pool of 1e9 units all but empty ("the solver stopped within its
    # gap"). Every small request together (worth at least 20 x 0.1) beats one large one
    # (at most 1.1), and no large one fits beside any small one.
    reqs = [Request(f"big{j}", f"B{j}", f"b{j}", 1.0 + j, {"t": 1e9}) for j in range(2)]
    reqs += [
        Request(f"s{j:02d}", f"S{j}", f"s{j}", float(1 + j % 5), {"t": float(1 + j % 9)})
        for j in range(20)
    ]
    p = AllocationProblem((Pool("t", 1e9),), tuple(reqs))
    r = solve_allocation(p, backend=backend, mip_rel_gap=1e-6)
    assert _holds(p, r.amounts) == []
    assert {rid for rid, f in r.fractions.items() if f > 0} == {f"s{j:02d}" for j in range(20)}
    w = _weights([q.merit for q in reqs])
    assert r.objective == pytest.approx(sum(w[2:]), rel=1e-6)
    assert r.check(p) == []


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_a_whole_award_never_overdraws_a_group_amount_cap_by_the_solvers_tolerance(
    backend: str,
) -> None:
    from opencall.optim.allocation.caps import GroupCap
    from opencall.optim.allocation.model import Group

    # a country capped at a million units, its two proposals asking a million and one
    p = AllocationProblem(
        (Pool("t", 1e9),),
        (
            Request("a", "A", "x", 5.0, {"t": 1e6}),
            Request("b", "B", "y", 2.0, {"t": 1.0}),
        ),
        AllocationPolicy(group_caps=(GroupCap("country", ("c1",), max_amount=1e6),)),
        groups=(Group("c1", frozenset({"A", "B"})),),
    )
    r = solve_allocation(p, backend=backend)
    assert r.fractions == {"a": 1.0, "b": 0.0}
    assert r.check(p) == []


def test_a_group_share_lost_in_the_tolerance_fails_no_check() -> None:
    # a pool of 1e9: r3 takes 999,999,999 and the group's only request r1 the last unit;
    # the share rule (30 %, all the group can reach: 1) was held to nothing by the
    # requirement's row (scaled by its target of 3e8, within the solvers' tolerance), so
    # main left r1 out and failed its own check ("group g: 0 below required 1")
    from opencall.optim.allocation import GroupShareRule
    from opencall.optim.allocation.model import Group

    reqs = (
        Request("r0", "P0", "pi0", 3.0, {"t": 1e9}),
        Request("r1", "P1", "pi1", 1.0, {"t": 1.0}),
        Request("r2", "P2", "pi2", 2.0, {"t": 5e8}),
        Request("r3", "P3", "pi3", 5.0, {"t": 1e9 - 1}),
    )
    p = AllocationProblem(
        (Pool("t", 1e9),),
        reqs,
        AllocationPolicy(group_share_rules=(GroupShareRule("g", 0.3, nationality_based=False),)),
        groups=(Group("g", frozenset({"P1"}), from_nationality=False),),
    )
    r = solve_allocation(p)
    # r1 stays out: the refill's rows count a term below 1e-9 of its limit as 1e-8 of it
    # (``_at_most``), so r1 does not fit beside r3 there (left as found, bench/README.md);
    # the outcome then says what the group could be given, and the result holds
    assert r.fractions["r3"] == 1.0
    assert r.group_shares[0].required == r.group_shares[0].achieved
    assert _holds(p, r.amounts) == []
    assert r.check(p) == []


def test_held_capacities_keep_the_group_shares_on_random_large_pools() -> None:
    # 40 random calls: one pool of 1e6-1e9 units, 2-6 requests of all of it, half of it,
    # all but one unit, 1 or 3 units, whole or down to half, about half of them of a
    # group asking 30 %, 60 % or 100 %: held to the capacity, the awards taken back made
    # the group's amount fall below what its rule required (``check``: "group g: 0 below
    # required 3") until the group's requests gave way last and a requirement no award
    # could keep was said as what was left
    import random

    from opencall.optim.allocation import GroupShareRule
    from opencall.optim.allocation.model import Group

    rng = random.Random(0)
    for _ in range(40):
        cap = rng.choice([1e6, 1e7, 1e9])
        reqs, members = [], set()
        for j in range(rng.randint(2, 6)):
            if rng.random() < 0.5:
                members.add(f"P{j}")
            reqs.append(
                Request(
                    f"r{j}",
                    f"P{j}",
                    f"pi{j}",
                    float(rng.randint(1, 5)),
                    {"t": rng.choice([cap, cap / 2, 1.0, 3.0, cap - 1])},
                    min_fraction=rng.choice([1.0, 0.5]),
                )
            )
        partial = any(r.min_fraction < 1 for r in reqs)
        rule = GroupShareRule("g", rng.choice([0.3, 0.6, 1.0]), nationality_based=False)
        p = AllocationProblem(
            (Pool("t", cap),),
            tuple(reqs),
            AllocationPolicy(
                allow_partial=partial,
                min_fraction=0.5 if partial else 1.0,
                group_share_rules=(rule,),
            ),
            groups=(Group("g", frozenset(members), from_nationality=False),),
        )
        r = solve_allocation(p)
        assert _holds(p, r.amounts) == []
        assert r.check(p) == []
