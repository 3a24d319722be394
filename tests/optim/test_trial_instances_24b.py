"""trialopt24b: the allocation beside a request that can never be awarded.

The allocation's weights rescale the oriented merit to ``[merit_floor, 1 + merit_floor]``;
they ran over every candidate, so a request no award can hold (more than a pool's whole
capacity, any part of a pool of 0 h) moved the others' weights, and with them their
awards. Each seeded instance here is solved with and without such requests (at the lowest,
the highest and a tied merit) and held to ``scipy.optimize.milp`` (gap 0) on the documented
weights, rescaled over the requests some award can hold (``trial18.alloc_peer`` and
``alloc_weights``, the eighteenth round's peer).
"""

from __future__ import annotations

import random

import pytest
from tests.optim import trial18 as t18

from opencall.optim import allocation as al
from opencall.optim.allocation import solve as al_solve


def req(rid: str, merit: float, demand: dict[str, float], **kw: object) -> al.Request:
    kw.setdefault("pi_id", "pi-" + rid)
    kw.setdefault("proposal_id", "p-" + rid)
    return al.Request(id=rid, merit=merit, demand=demand, **kw)  # type: ignore[arg-type]


def _value(problem: al.AllocationProblem, fr: dict[str, float]) -> float:
    w = t18.alloc_weights(problem)
    return sum(wi * fr.get(r.id, 0.0) for wi, r in zip(w, problem.requests, strict=True))


def instance(seed: int) -> tuple[al.AllocationProblem, al.AllocationProblem]:
    """A small allocation (one or two pools, four to seven requests, merits 0 to 10 with
    ties, whole or partial) and the same beside one to three requests that fit nowhere:
    each asks more than a pool's capacity, or any of a pool of 0 h, at the lowest, the
    highest or a merit one of the others has."""
    rng = random.Random(seed)
    npools = rng.randint(1, 2)
    pools = tuple(al.Pool(f"h{k}", float(rng.randint(3, 10))) for k in range(npools))
    empty = al.Pool("none", 0.0)
    partial = rng.random() < 0.5
    policy = al.AllocationPolicy(allow_partial=partial, min_fraction=0.5 if partial else 1.0)
    reqs = []
    for k in range(rng.randint(4, 7)):
        p = rng.choice(pools)
        reqs.append(req(f"r{k}", float(rng.randint(0, 4) * 2.5), {p.id: float(rng.randint(1, 6))}))
    extra = []
    for k in range(rng.randint(1, 3)):
        merit = rng.choice([-5.0, 0.0, 10.0, 25.0, rng.choice(reqs).merit])
        if rng.random() < 0.3:
            demand = {"none": float(rng.randint(1, 3))}
        else:
            p = rng.choice(pools)
            demand = {p.id: p.capacity * (2.5 if partial else 1.0) + rng.randint(1, 5)}
        extra.append(req(f"z{k}", merit, demand))
    without = al.AllocationProblem(pools=(*pools, empty), requests=tuple(reqs), policy=policy)
    beside = al.AllocationProblem(
        pools=(*pools, empty), requests=tuple(reqs + extra), policy=policy
    )
    return without, beside


def test_a_request_that_fits_nowhere_changes_nobody_elses_award() -> None:
    # a pool of 4 h: A (merit 10) for all of it, or B and C (merit 5) for 2 h each
    abc = (req("A", 10.0, {"h": 4}), req("B", 5.0, {"h": 2}), req("C", 5.0, {"h": 2}))
    pools = (al.Pool("h", 4.0), al.Pool("none", 0.0))
    alone = al.solve_allocation(al.AllocationProblem(pools=pools, requests=abc))
    assert dict(alone.fractions) == {"A": 1.0, "B": 0.0, "C": 0.0}
    for z in (req("Z", 0.0, {"h": 5}), req("Z", 0.0, {"none": 1})):
        problem = al.AllocationProblem(pools=pools, requests=(*abc, z))
        res = al.solve_allocation(problem)
        assert res.check(problem) == []
        assert dict(res.fractions) == {"A": 1.0, "B": 0.0, "C": 0.0, "Z": 0.0}
        assert res.explanations["Z"].code == al.NOT_AWARDED_POOL_EXHAUSTED


def test_the_others_weights_and_tie_break_do_not_see_a_request_that_fits_nowhere() -> None:
    # Z ties with B and C at merit 5 (inside the range: the rescale is the same with or
    # without it), so only the tie perturbation could move: it counted every request
    abc = [
        req("A", 10.0, {"h": 4}),
        req("B", 5.0, {"h": 2}, preference=1),
        req("C", 5.0, {"h": 2}),
    ]
    pools = (al.Pool("h", 4.0),)
    for seed in range(8):
        alone = al_solve._build(al.AllocationProblem(pools=pools, requests=tuple(abc)), seed)
        for k in range(len(abc) + 1):
            # Z of B's proposal, listed first: it took B's place in the applicant's order
            z = req("Z", 5.0, {"h": 9}, proposal_id="p-B", pi_id="pi-B", preference=k % 2)
            reqs = (*abc[:k], z, *abc[k:])
            beside = al_solve._build(al.AllocationProblem(pools=pools, requests=reqs), seed)
            ids = [r.id for r in reqs]
            mine = {ids[i]: float(beside.weights[beside.f_col[i]]) for i in beside.cand}
            theirs = {abc[i].id: float(alone.weights[alone.f_col[i]]) for i in alone.cand}
            assert {k: v for k, v in mine.items() if k != "Z"} == theirs, (seed, k)
            assert mine["Z"] == 0.0
            assert beside.tie_step == alone.tie_step, (seed, k)


@pytest.mark.parametrize("seed", range(60))
def test_requests_that_fit_nowhere_change_no_award_and_the_optimum_is_the_peers(
    seed: int,
) -> None:
    without, beside = instance(seed)
    a = al.solve_allocation(without, mip_rel_gap=0.0)
    b = al.solve_allocation(beside, mip_rel_gap=0.0)
    assert a.check(without) == [] and b.check(beside) == []
    assert _value(without, dict(a.fractions)) == pytest.approx(t18.alloc_peer(without), abs=1e-6), (
        seed
    )
    assert _value(beside, dict(b.fractions)) == pytest.approx(t18.alloc_peer(beside), abs=1e-6), (
        seed
    )
    assert {k: v for k, v in b.fractions.items() if k.startswith("r")} == pytest.approx(
        dict(a.fractions), abs=1e-9
    ), seed
    assert all(v == 0.0 for k, v in b.fractions.items() if k.startswith("z")), seed
