"""The tie-break between requests (awards) of equal merit depends on the seed and each
one's id only: shuffling the input (the order rows came out of the database) leaves every
decision as it was, in allocation, logistics and slot placement."""

from __future__ import annotations

import datetime as dt
import random

from opencall.optim import logistics as lg
from opencall.optim import slots as sl
from opencall.optim.allocation import AllocationProblem, Pool, Request, solve_allocation
from opencall.optim.ties import tie_ranks

D0 = dt.date(2027, 3, 1)
SEEDS = (0, 1, 2)


def shuffles(items: tuple, n: int = 3) -> list[tuple]:  # type: ignore[type-arg]
    """``n`` seeded permutations of ``items`` (the reversal first)."""
    rng = random.Random(13)
    out = [tuple(reversed(items))]
    for _ in range(n - 1):
        xs = list(items)
        rng.shuffle(xs)
        out.append(tuple(xs))
    return out


def test_tie_ranks_follow_the_ids_not_the_positions() -> None:
    ids = [f"r{i}" for i in range(20)]
    ranks = dict(zip(ids, tie_ranks(ids, 5), strict=True))
    back = ids[::-1]
    assert dict(zip(back, tie_ranks(back, 5), strict=True)) == ranks
    assert sorted(ranks.values()) == list(range(20))
    # the seed changes the order, and the order is not the input's
    assert list(tie_ranks(ids, 6)) != list(tie_ranks(ids, 5))
    assert list(tie_ranks(ids, 5)) != list(range(20))


def test_allocation_ties_do_not_follow_input_order() -> None:
    """Eight requests, two merits (four tied at each) for one pool that holds three and a
    half: who is awarded (and who is cut) is the same whatever order the rows come in."""
    reqs = tuple(
        Request(
            id=f"r{i}",
            merit=float(i % 2),
            demand={"h": 10.0},
            pi_id=f"pi{i}",
            proposal_id=f"p{i}",
        )
        for i in range(8)
    )
    pools = (Pool("h", 35.0),)
    for seed in SEEDS:
        base = solve_allocation(AllocationProblem(pools, reqs), seed=seed, mip_rel_gap=0.0)
        for perm in shuffles(reqs):
            res = solve_allocation(AllocationProblem(pools, perm), seed=seed, mip_rel_gap=0.0)
            assert res.fractions == base.fractions, seed


def test_logistics_ties_do_not_follow_input_order() -> None:
    """Seven identical requests for three places in each logistics problem: the same three
    are placed whatever the input order."""
    session = lg.CourseSession("s1", D0, D0 + dt.timedelta(days=4), "Hefei", 3)
    seats = tuple(lg.SeatRequest(f"r{i}", 1.0, 1, ("s1",)) for i in range(7))
    season = lg.PackageSeason("wet", "drip", 3)
    packs = tuple(lg.PackageRequest(f"r{i}", 1.0, "drip", f"site{i}") for i in range(7))
    leg = lg.Leg(
        "L1", D0, D0 + dt.timedelta(days=9), ("Sanya", "Sanya"), ((18.0, 109.5),), 3, 0, 0.0
    )
    berths = tuple(lg.CruiseRequest(f"r{i}", 1.0, 1) for i in range(7))

    def placed(kind: str, reqs: tuple, seed: int) -> dict[str, object]:  # type: ignore[type-arg]
        if kind == "courses":
            res = lg.solve_courses(lg.CourseProblem((session,), reqs), seed=seed)
            return {k: v is not None for k, v in res.placements.items()}
        if kind == "packages":
            res = lg.solve_packages(lg.PackageProblem((season,), reqs), seed=seed)
            return {k: v is not None for k, v in res.placements.items()}
        got = lg.solve_cruise(lg.CruiseProblem((leg,), reqs), seed=seed)
        return dict(got.leg_of)

    for kind, reqs in (("courses", seats), ("packages", packs), ("cruise", berths)):
        for seed in SEEDS:
            base = placed(kind, reqs, seed)
            assert sum(1 for v in base.values() if v) == 3
            for perm in shuffles(reqs):
                assert placed(kind, perm, seed) == base, (kind, seed)


def _slot_problem(awards: tuple) -> sl.SlotProblem:  # type: ignore[type-arg]
    t0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    scope = sl.Resource("m1", t0, t0 + dt.timedelta(days=5), 24.0)
    return sl.SlotProblem((scope,), awards)


def test_slot_ties_do_not_follow_input_order() -> None:
    """Six one-slot awards of equal weight and a two-award bundle kept together, for five
    slots: the greedy and the exact placement place the same awards whatever the order."""
    awards = tuple(sl.SlotAward(f"a{i}", "m1", 1, proposal=f"p{i}") for i in range(6)) + tuple(
        sl.SlotAward(f"b{i}", "m1", 1, proposal="pb", bundle="k", together=True) for i in range(2)
    )
    for seed in SEEDS:
        for solve in (
            lambda p, s: sl.greedy(p, seed=s),
            lambda p, s: sl.solve_slots(p, seed=s),
        ):
            base = solve(_slot_problem(awards), seed)
            assert len(base.starts) == 5
            for perm in shuffles(awards):
                got = solve(_slot_problem(perm), seed)
                assert set(got.starts) == set(base.starts), seed


def test_inventory_exhausted_keeps_a_translatable_message() -> None:
    """``plan_shipments`` rewrites the allocation's "pool(s) exhausted" sentence for sample
    types: the rewritten one keeps a message id (a page can translate it), says sample
    type(s) and renders to the English ``detail``."""
    from opencall.optim.logistics.samples import (
        SampleLoan,
        SampleProblem,
        SampleType,
        plan_shipments,
    )
    from opencall.optim.messages import render

    pb = SampleProblem(
        (SampleType("seeds", 10.0),),
        (SampleLoan("l", 2.0, "x", {"seeds": 8.0}), SampleLoan("m", 1.0, "y", {"seeds": 5.0})),
    )
    ex = plan_shipments(pb).explanations["m"]
    assert ex.code == "inventory_exhausted"
    assert ex.message is not None
    assert "sample type(s)" in ex.message["msg"] and "pool(s)" not in ex.message["msg"]
    assert render(ex.message) == ex.detail
    assert ex.pools == ("seeds",)
