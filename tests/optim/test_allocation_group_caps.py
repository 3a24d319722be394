"""Caps per country (income group, UN region) in ``opencall.optim.allocation``: at most so
many awards, or so much of the capacity, to each group; checked on examples, by the result's
``check`` and against an independent brute force (every award pattern, a small LP for the
partial-award fractions of each)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from opencall.optim.allocation import (
    AWARDED,
    GROUP_CAP_REACHED,
    AllocationPolicy,
    AllocationProblem,
    Group,
    GroupCap,
    GroupShareRule,
    PolicyError,
    Pool,
    ProblemError,
    Request,
    solve_allocation,
)

EXACT = 1e-9


def fellow(n: int, country: str, merit: float, **kw: object) -> Request:
    """A fellow's bundle: a place in the lab and a stipend, all or nothing."""
    return Request(
        id=f"r{n}",
        proposal_id=f"p{n}",
        pi_id=f"pi{n}",
        merit=merit,
        demand={"places": 1.0, "fund": 10.0},
        bundle="fellowship",
        **kw,  # type: ignore[arg-type]
    )


POOLS = (Pool("places", 5, "place", whole=True), Pool("fund", 100, "eur"))
# three strong fellows from KEN, two weaker from elsewhere
FELLOWS = (
    fellow(1, "KEN", 5.0),
    fellow(2, "KEN", 4.8),
    fellow(3, "KEN", 4.6),
    fellow(4, "UGA", 3.0),
    fellow(5, "NPL", 2.0),
    fellow(6, "NPL", 1.5),
)
COUNTRY = {"KEN": {"p1", "p2", "p3"}, "UGA": {"p4"}, "NPL": {"p5", "p6"}}


def countries() -> tuple[Group, ...]:
    return tuple(Group(f"country:{c}", frozenset(m)) for c, m in COUNTRY.items())


def per_country(**kw: object) -> GroupCap:
    return GroupCap("country", tuple(f"country:{c}" for c in COUNTRY), **kw)  # type: ignore[arg-type]


def test_at_most_two_fellows_from_one_country() -> None:
    policy = AllocationPolicy(group_caps=(per_country(max_awards=2),))
    problem = AllocationProblem(POOLS, FELLOWS, policy, countries())
    res = solve_allocation(problem, mip_rel_gap=EXACT)
    assert res.check(problem) == []
    awarded = {rid for rid, f in res.fractions.items() if f > 0}
    assert awarded == {"r1", "r2", "r4", "r5", "r6"}
    why = res.explanations["r3"]
    assert why.code == GROUP_CAP_REACHED
    assert "the cap of 2 award(s) per country was reached" in why.detail
    # without the cap, merit alone gives the third KEN fellow the place of the last one
    free = solve_allocation(replace(problem, policy=AllocationPolicy()), mip_rel_gap=EXACT)
    assert {rid for rid, f in free.fractions.items() if f > 0} == {"r1", "r2", "r3", "r4", "r5"}


def test_an_amount_cap_per_country_with_partial_awards() -> None:
    reqs = tuple(
        Request(f"r{k}", f"p{k}", f"pi{k}", 5.0 - k, {"fund": 8.0}, min_fraction=0.25)
        for k in range(1, 5)
    )
    groups = (Group("country:KEN", frozenset({"p1", "p2", "p3"})), Group("country:NPL", {"p4"}))
    cap = GroupCap("country", ("country:KEN", "country:NPL"), max_amount=12.0)
    policy = AllocationPolicy(allow_partial=True, min_fraction=0.25, group_caps=(cap,))
    problem = AllocationProblem((Pool("fund", 30, "eur"),), reqs, policy, groups)
    res = solve_allocation(problem, mip_rel_gap=EXACT)
    assert res.check(problem) == []
    ken = sum(res.amounts[f"r{k}"]["fund"] for k in (1, 2, 3))
    assert ken == pytest.approx(12.0)
    assert res.fractions["r4"] == 1.0
    assert (res.fractions["r1"], res.fractions["r2"]) == (1.0, pytest.approx(0.5))
    assert res.explanations["r3"].code == GROUP_CAP_REACHED
    assert "the cap of 12 eur per country was reached" in res.explanations["r3"].detail


def test_a_bundle_counts_once_and_a_cap_nobody_reaches_changes_nothing() -> None:
    policy = AllocationPolicy(group_caps=(per_country(max_awards=3),))
    problem = AllocationProblem(POOLS, FELLOWS, policy, countries())
    res = solve_allocation(problem, mip_rel_gap=EXACT)
    free = solve_allocation(replace(problem, policy=AllocationPolicy()), mip_rel_gap=EXACT)
    assert res.fractions == free.fractions
    assert {e.code for rid, e in res.explanations.items() if res.fractions[rid]} == {AWARDED}


def test_the_check_finds_a_result_over_the_cap() -> None:
    capped = AllocationProblem(
        POOLS, FELLOWS, AllocationPolicy(group_caps=(per_country(max_awards=2),)), countries()
    )
    free = solve_allocation(replace(capped, policy=AllocationPolicy()), mip_rel_gap=EXACT)
    assert free.check(capped) == ["country country:KEN: 3 awards > cap 2"]
    amount = replace(
        capped, policy=AllocationPolicy(group_caps=(per_country(max_amount=25.0, pools=("fund",)),))
    )
    assert any("country country:KEN: amount" in e for e in free.check(amount))


def test_a_proposal_with_two_requests_counts_once_toward_a_cap_of_awards() -> None:
    """mend11: "at most 2 awards per country" counts the proposals awarded; a proposal
    that asks for a place and, separately, a stipend is one of them (before, each awarded
    request counted, so the proposal filled the cap alone)."""
    reqs = (
        Request("r1a", "p1", "pi1", 5.0, {"places": 1.0}),
        Request("r1b", "p1", "pi1", 5.0, {"fund": 10.0}),
        Request("r2", "p2", "pi2", 4.8, {"places": 1.0}),
        Request("r3", "p3", "pi3", 4.6, {"places": 1.0}),
    )
    groups = (Group("country:KEN", frozenset({"p1", "p2", "p3"})),)
    cap = GroupCap("country", ("country:KEN",), max_awards=2)
    problem = AllocationProblem(POOLS, reqs, AllocationPolicy(group_caps=(cap,)), groups)
    res = solve_allocation(problem, mip_rel_gap=EXACT)
    assert res.check(problem) == []
    awarded = {rid for rid, f in res.fractions.items() if f > 0}
    assert awarded == {"r1a", "r1b", "r2"}
    assert res.explanations["r3"].code == GROUP_CAP_REACHED
    # the check counts proposals too: three requests of two proposals keep a cap of 2
    assert res.check(
        replace(problem, policy=AllocationPolicy(group_caps=(replace(cap, max_awards=1),)))
    ) == ["country country:KEN: 2 awards > cap 1"]


def test_bad_caps_are_refused() -> None:
    with pytest.raises(PolicyError, match="max_awards"):
        AllocationPolicy(group_caps=(per_country(max_awards=0),))
    with pytest.raises(PolicyError, match="give max_awards, max_amount or both"):
        AllocationPolicy(group_caps=(per_country(),))
    with pytest.raises(PolicyError, match="max_amount"):
        AllocationPolicy(group_caps=(per_country(max_amount=float("nan")),))
    with pytest.raises(PolicyError, match="nationality_blind"):
        AllocationPolicy(nationality_blind=True, group_caps=(per_country(max_awards=2),))
    with pytest.raises(ProblemError, match="unknown group"):
        AllocationProblem(POOLS, FELLOWS, AllocationPolicy(group_caps=(per_country(max_awards=2),)))
    with pytest.raises(ProblemError, match="different units"):
        AllocationProblem(
            POOLS,
            FELLOWS,
            AllocationPolicy(group_caps=(per_country(max_amount=5.0),)),
            countries(),
        )


# --------------------------------------------------------------------------------------------
# against a brute force
# --------------------------------------------------------------------------------------------


def _brute(problem: AllocationProblem, required: tuple[float, ...] = ()) -> float:
    """The best objective over every award pattern that keeps each cap, with an LP for the
    fractions of each pattern (capacities, amount caps); with share rules, the best among
    the solutions that give each rule's group at least its ``required`` amount."""
    best = 0.0
    for w, gs, a, b, bounds, _ in _pattern_lps(problem):
        rows, rhs = list(a), list(b)
        for g, need in zip(gs, required, strict=True):
            # the solver's own slack on the required amount (1e-9 of it)
            rows.append(-g)
            rhs.append(-(need - 1e-9 * need))
        best = max(best, _lp_max(w, np.array(rows), np.array(rhs), bounds))
    return best


def _brute_reach(problem: AllocationProblem) -> float:
    """The most the share rules can jointly reach within every other rule (caps
    included): max sum_k min(amount_k, target_k) / target_k, over every award pattern."""
    best = 0.0
    for _w, gs, a, b, bounds, targets in _pattern_lps(problem):
        k, n = len(gs), len(bounds)
        # columns: the fractions, then t_k <= amount_k, t_k <= target_k
        c = np.concatenate([np.zeros(n), [1 / t if t > 0 else 0.0 for t in targets]])
        rows = [np.concatenate([r, np.zeros(k)]) for r in a]
        for j, g in enumerate(gs):
            rows.append(np.concatenate([-g, np.eye(k)[j]]))
        rhs = np.concatenate([b, np.zeros(k)])
        box = bounds + [(0.0, t) for t in targets]
        best = max(best, _lp_max(c, np.array(rows), rhs, box))
    return best


def _lp_max(c: np.ndarray, a: np.ndarray, b: np.ndarray, bounds: list) -> float:
    """max c.x under ``a x <= b`` and ``bounds``; -inf where infeasible."""
    lp = linprog(
        -c, A_ub=a if len(a) else None, b_ub=b if len(b) else None, bounds=bounds, method="highs"
    )
    return -float(lp.fun) if lp.status == 0 else -np.inf


def _pattern_lps(problem: AllocationProblem):  # type: ignore[no-untyped-def]
    """For each award pattern that keeps the counting caps (the PI's, the groups'):
    (merit weights, each share rule's group amounts, rows, bounds of the rows, column
    bounds, the rules' targets) of the LP over the fractions of its awarded requests."""
    reqs = problem.requests
    pol = problem.policy
    units: dict[str, list[int]] = {}
    for i, r in enumerate(reqs):
        units.setdefault(f"{r.proposal_id}/{r.bundle}" if r.bundle else r.id, []).append(i)
    keep = [m for m in units.values() if all(reqs[i].feasible for i in m)]
    cand = [i for m in keep for i in m]
    if not cand:
        return
    members = {g.name: g.proposal_ids for g in problem.groups}
    g_amounts, targets = [], []
    for rule in pol.group_share_rules:
        pools = [p.id for p in problem.pools] if rule.pools is None else list(rule.pools)
        targets.append(rule.min_share * sum(problem.effective_capacity(pid) for pid in pools))
        g_amount = np.array(
            [
                sum(reqs[i].demand.get(pid, 0.0) for pid in pools)
                if reqs[i].proposal_id in members[rule.group]
                and (rule.min_quality is None or reqs[i].merit >= rule.min_quality)
                else 0.0
                for i in cand
            ]
        )
        g_amounts.append(g_amount)
    rows, rhs = [], []
    for p in problem.pools:
        rows.append([reqs[i].demand.get(p.id, 0.0) for i in cand])
        rhs.append(p.capacity)
    for cap in pol.group_caps:
        pools = [p.id for p in problem.pools] if cap.pools is None else list(cap.pools)
        for g in cap.groups:
            if cap.max_amount is not None:
                rows.append(
                    [
                        sum(reqs[i].demand.get(pid, 0.0) for pid in pools)
                        if reqs[i].proposal_id in members[g]
                        else 0.0
                        for i in cand
                    ]
                )
                rhs.append(cap.max_amount)
    lo_f = {
        i: 1.0
        if reqs[i].bundle
        else (max(reqs[i].min_fraction, pol.min_fraction) if pol.allow_partial else 1.0)
        for i in cand
    }
    # merit rescaled over the units some award can hold: alone, at their least award, within
    # the pools and the caps of amounts (trialopt24b: a request no award can hold sets no
    # scale and weighs 0)
    placeable = {
        i
        for m in keep
        if _lp_max(
            np.zeros(len(cand)),
            np.array(rows),
            np.array(rhs),
            [(lo_f[i], 1.0) if i in m else (0.0, 0.0) for i in cand],
        )
        > -np.inf
        for i in m
    }
    s = {i: reqs[i].merit for i in placeable}
    lo_s, hi_s = (min(s.values()), max(s.values())) if s else (0.0, 0.0)
    w = np.array(
        [
            pol.merit_floor + ((s[i] - lo_s) / (hi_s - lo_s) if hi_s > lo_s else 1.0)
            if i in placeable
            else 0.0
            for i in cand
        ]
    )
    for pattern in itertools.product([0, 1], repeat=len(keep)):
        on = [m for bit, m in zip(pattern, keep, strict=True) if bit]
        count: dict[str, int] = {}
        for m in on:
            pi = reqs[m[0]].pi_id
            count[pi] = count.get(pi, 0) + 1
        if pol.max_awards_per_pi is not None and any(
            v > pol.max_awards_per_pi for v in count.values()
        ):
            continue
        over = False
        for cap in pol.group_caps:
            for g in cap.groups:
                # a cap of awards counts the proposals awarded, as a chair reads it
                n = len({reqs[m[0]].proposal_id for m in on} & members[g])
                if cap.max_awards is not None and n > cap.max_awards:
                    over = True
        if over:
            continue
        chosen = {i for m in on for i in m}
        bounds = [(lo_f[i], 1.0) if i in chosen else (0.0, 0.0) for i in cand]
        yield w, g_amounts, np.array(rows), np.array(rhs), bounds, targets


@st.composite
def capped_problems(draw: st.DrawFn, with_share: bool = False) -> AllocationProblem:
    partial = draw(st.booleans())
    pools = (
        Pool("a", float(draw(st.integers(0, 12))), "seat"),
        Pool("b", float(draw(st.integers(0, 12))), "seat"),
    )
    n = draw(st.integers(1, 7))
    reqs = []
    for i in range(n):
        prop = draw(st.integers(0, 4))
        used = draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2, unique=True))
        reqs.append(
            Request(
                id=f"r{i}",
                proposal_id=f"prop{prop}",
                pi_id=f"pi{prop}",
                merit=float(prop % 3) + 1.0,
                demand={pid: float(draw(st.integers(1, 6))) for pid in used},
                min_fraction=draw(st.sampled_from([0.25, 1.0])),
                feasible=draw(st.integers(0, 6)) > 0,
                bundle=draw(st.sampled_from([None, None, "b"])),
            )
        )
    # two countries, and an income group holding one of each
    country = {f"prop{k}": "X" if k % 2 else "Y" for k in range(5)}
    groups = (
        Group("country:X", frozenset(p for p, c in country.items() if c == "X")),
        Group("country:Y", frozenset(p for p, c in country.items() if c == "Y")),
        Group("income:low", frozenset({"prop0", "prop1", "prop4"})),
    )
    awards = draw(st.sampled_from([None, 1, 2]))
    amount = draw(st.sampled_from([None, 3.0, 7.0] if awards else [3.0, 7.0]))
    caps = [
        GroupCap(
            "country",
            ("country:X", "country:Y"),
            max_awards=awards,
            max_amount=amount,
            pools=("a",) if draw(st.booleans()) else None,
        )
    ]
    if draw(st.booleans()):
        caps.append(
            GroupCap("income group", ("income:low",), max_awards=draw(st.sampled_from([1, 2])))
        )
    shares: tuple[GroupShareRule, ...] = ()
    if with_share:
        # shares for the income group and for one country (an LDC, say), one or both,
        # beside the caps per country
        names = draw(
            st.sampled_from([("income:low",), ("country:X",), ("income:low", "country:X")])
        )
        shares = tuple(
            GroupShareRule(
                name,
                draw(st.sampled_from([0.2, 0.5, 0.9])),
                pools=("a",),
                min_quality=draw(st.sampled_from([None, 2.0])),
            )
            for name in names
        )
    policy = AllocationPolicy(
        allow_partial=partial,
        min_fraction=draw(st.sampled_from([0.25, 0.5, 1.0])) if partial else 1.0,
        max_awards_per_pi=draw(st.sampled_from([None, 1])),
        group_caps=tuple(caps),
        group_share_rules=shares,
    )
    return AllocationProblem(pools, tuple(reqs), policy, groups)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=capped_problems(), seed=st.integers(0, 20))
def test_property_caps_per_group_are_kept_and_the_optimum_found(
    problem: AllocationProblem, seed: int
) -> None:
    res = solve_allocation(problem, seed=seed, mip_rel_gap=EXACT)
    assert res.check(problem) == []
    assert res.objective == pytest.approx(_brute(problem), rel=1e-5, abs=1e-6)
    for rid, e in res.explanations.items():
        if e.code == GROUP_CAP_REACHED:
            assert res.fractions[rid] == 0.0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=capped_problems(with_share=True), seed=st.integers(0, 20))
def test_property_caps_beside_share_rules_meet_the_shares_as_far_as_the_caps_allow(
    problem: AllocationProblem, seed: int
) -> None:
    """mend11: caps per country with shares for the income group and a country: the
    shares' required amounts are what the capped problem can reach together (each at most
    its target), the result keeps every cap and meets them, and its merit is the best of
    those that do (brute force over every award pattern)."""
    res = solve_allocation(problem, seed=seed, mip_rel_gap=EXACT)
    assert res.check(problem) == []
    required = tuple(o.required for o in res.group_shares)
    reached = sum(o.required / o.target for o in res.group_shares if o.target > 0)
    if any(o.merit_only_amount < o.target * (1 - 1e-6) for o in res.group_shares):
        assert reached == pytest.approx(_brute_reach(problem), rel=1e-5, abs=1e-6)
    for o in res.group_shares:
        assert o.achieved >= o.required * (1 - 1e-6) - 1e-6
    assert res.objective == pytest.approx(_brute(problem, required), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_a_run_stopped_by_its_time_limit_fills_proposals_of_several_requests(
    backend: str,
) -> None:
    """mend11: a proposal of several requests has its own award column under a cap of
    awards per group; a run stopped by its time limit (1 ms) still adds, by rank, every
    request that fits (capacity, and the cap counted in proposals: a further request of a
    proposal awarded already adds none)."""
    rng = np.random.default_rng(0)
    pools = tuple(Pool(f"p{j}", 10.0) for j in range(24))
    reqs = tuple(
        Request(
            f"r{i}",
            f"P{i // 2}",
            f"pi{i // 2}",
            float(rng.integers(1, 6)),
            {f"p{int(j)}": float(rng.uniform(0.1, 3.0)) for j in rng.choice(24, 3, replace=False)},
        )
        for i in range(2000)
    )
    members = {c: frozenset(f"P{k}" for k in range(1000) if k % 4 == c) for c in range(4)}
    groups = tuple(Group(f"country:{c}", m) for c, m in members.items())
    cap = GroupCap("country", tuple(g.name for g in groups), max_awards=60)
    problem = AllocationProblem(pools, reqs, AllocationPolicy(group_caps=(cap,)), groups)
    res = solve_allocation(problem, time_limit_s=1e-3, backend=backend)  # type: ignore[arg-type]
    assert res.check(problem) == []
    used = dict.fromkeys((p.id for p in pools), 0.0)
    for r in reqs:
        for pid, d in r.demand.items():
            used[pid] += res.fractions[r.id] * d
    awarded = {r.proposal_id for r in reqs if res.fractions[r.id] > 0}
    count = {c: len(awarded & m) for c, m in members.items()}
    left = [
        r.id
        for r in reqs
        if res.fractions[r.id] == 0.0
        and all(used[pid] + d <= 10.0 for pid, d in r.demand.items())
        and (r.proposal_id in awarded or count[int(r.proposal_id[1:]) % 4] < 60)
    ]
    assert left == []
    assert awarded
