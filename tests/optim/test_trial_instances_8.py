"""Instance families nobody tried before the fourteenth round: the contract that the input's
order is irrelevant. Each optimiser gets an instance and the same instance with its lists
shuffled or reversed, with the same seed, and must give the same answer: the same blocks at
the same times, the same slots, the same seats. The instances are those of the round's
search that showed a difference (seeded generators below); each test names them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sys
from pathlib import Path

import pytest

from opencall.optim.logistics import (
    CourseProblem,
    CourseSession,
    CruiseProblem,
    CruiseRequest,
    DiveSite,
    Leg,
    PackageProblem,
    PackageRequest,
    PackageSeason,
    SeatRequest,
    solve_courses,
    solve_cruise,
    solve_packages,
)
from opencall.optim.scheduling import schedule_fast
from opencall.optim.slots import Resource, SlotAward, SlotProblem, solve_slots

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_scheduling import make_problem  # noqa: E402

UTC = dt.UTC


def _shuffled(items: tuple, seed: int) -> tuple:  # type: ignore[type-arg]
    out = list(items)
    random.Random(seed).shuffle(out)
    return tuple(out)


# ----------------------------------------------------------------------------- FAST blocks


@pytest.mark.parametrize("instance", [0, 2, 3])
def test_fast_schedule_does_not_depend_on_the_order_of_the_blocks(instance: int) -> None:
    # the benchmark's generator, 60 blocks over 2 days: before, the blocks reversed or
    # shuffled were placed differently with the same seed (instance 0: 201.67 against
    # 203.08 priority-weighted hours), as ties between blocks of one priority and length
    # went to their positions
    p = make_problem(60, instance, days=2)
    base = schedule_fast(p, seed=0, improve_iterations=50)
    assert base.check(p) == []
    for blocks in (p.blocks[::-1], _shuffled(p.blocks, instance)):
        q = dataclasses.replace(p, blocks=blocks)
        other = schedule_fast(q, seed=0, improve_iterations=50)
        assert other.check(q) == []
        assert other.entries == base.entries
        assert {(u.block_id, u.reason) for u in other.unscheduled} == {
            (u.block_id, u.reason) for u in base.unscheduled
        }
        # the unscheduled blocks keep the order of the blocks given
        order = {b.id: k for k, b in enumerate(q.blocks)}
        ks = [order[u.block_id] for u in other.unscheduled]
        assert ks == sorted(ks)


# ----------------------------------------------------------------------------- slots


def _slot_instance(seed: int) -> SlotProblem:
    rng = random.Random(seed)
    t0 = dt.datetime(2027, 3, 1, tzinfo=UTC)
    res = []
    for k in range(rng.randint(1, 3)):
        n = rng.randint(4, 14)
        res.append(
            Resource(
                f"R{k}",
                t0,
                t0 + dt.timedelta(hours=8 * n),
                8.0,
                changeover=rng.choice([0, 0, 1]),
            )
        )
    awards = []
    for j in range(rng.randint(2, 9)):
        b = rng.choice([None, None, "b"])
        awards.append(
            SlotAward(
                f"a{j}",
                rng.choice(res).id,
                rng.randint(1, 4),
                proposal=f"P{rng.randint(0, 4)}",
                weight=rng.choice([1.0, 1.0, 2.0, 0.5]),
                bundle=b,
                together=bool(b) and rng.random() < 0.5,
            )
        )
    return SlotProblem(tuple(res), tuple(awards))


@pytest.mark.parametrize("instance", [10, 25, 41])
def test_slot_placement_does_not_depend_on_the_order_of_awards_or_resources(
    instance: int,
) -> None:
    # before: the same objective but other slots (5 of 60 instances of this generator
    # placed some award elsewhere once the lists were shuffled; these three as here)
    p = _slot_instance(instance)
    base = solve_slots(p, seed=0)
    assert base.check(p) == []
    q = SlotProblem(_shuffled(p.resources, instance), _shuffled(p.awards, instance + 1))
    other = solve_slots(q, seed=0)
    assert other.check(q) == []
    assert other.objective == base.objective
    assert other.starts == base.starts
    assert other.unplaced == base.unplaced
    # the answer lists the awards in the order they were given
    given = [a.id for a in q.awards]
    assert list(other.starts) == [a for a in given if a in other.starts]
    assert list(other.unplaced) == [a for a in given if a in other.unplaced]


# ----------------------------------------------------------------------------- seats


def _course_instance(seed: int) -> CourseProblem:
    rng = random.Random(seed)
    sessions = [
        CourseSession(f"s{k}", dt.date(2027, 1, 1), dt.date(2027, 1, 5), "x", rng.randint(0, 6))
        for k in range(rng.randint(1, 3))
    ]
    ids = [s.id for s in sessions]
    requests = [
        SeatRequest(
            f"r{j}",
            float(rng.choice([1, 1, 2, 3])),
            rng.randint(1, 3),
            tuple(rng.sample(ids, rng.randint(1, len(ids)))),
        )
        for j in range(rng.randint(2, 10))
    ]
    return CourseProblem(tuple(sessions), tuple(requests))


@pytest.mark.parametrize("instance", [17, 48, 97, 116])
def test_seats_do_not_depend_on_the_order_of_requests_or_sessions(instance: int) -> None:
    # before: 4 of 120 instances of this generator seated other requests once the lists
    # were shuffled as here (these four), the tie-break between requests of equal merit
    # reading their positions
    p = _course_instance(instance)
    base = solve_courses(p, seed=0)
    assert base.check(p) == []
    q = CourseProblem(_shuffled(p.sessions, instance), _shuffled(p.requests, instance + 1))
    other = solve_courses(q, seed=0)
    assert other.check(q) == []
    assert other.placements == base.placements
    assert other.explanations == base.explanations
    assert list(other.placements) == [r.id for r in q.requests]


def test_packages_do_not_depend_on_the_order_of_requests_or_seasons() -> None:
    rng = random.Random(7)
    # nine requests of one merit for three seasons of three packages each
    seasons = tuple(PackageSeason(f"S{k}", "juncao", 3) for k in range(3))
    requests = tuple(
        PackageRequest(
            f"q{j}",
            1.0,
            "juncao",
            f"site{j}",
            count=rng.randint(1, 2),
            seasons=tuple(rng.sample(["S0", "S1", "S2"], 2)),
        )
        for j in range(9)
    )
    p = PackageProblem(seasons, requests)
    base = solve_packages(p, seed=3)
    for q in (
        PackageProblem(seasons[::-1], requests[::-1]),
        PackageProblem(_shuffled(seasons, 1), _shuffled(requests, 2)),
    ):
        other = solve_packages(q, seed=3)
        assert other.check(q) == []
        assert other.placements == base.placements


# ----------------------------------------------------------------------------- cruise


def _cruise_instance(seed: int) -> CruiseProblem:
    rng = random.Random(seed)
    legs = [
        Leg(
            f"L{k}",
            dt.date(2027, 5, 1 + 3 * k),
            dt.date(2027, 5, 3 + 3 * k),
            ("A", "B"),
            ((10.0 + k, 110.0), (12.0 + k, 112.0)),
            rng.randint(0, 4),
            rng.randint(0, 3),
            6000.0,
        )
        for k in range(rng.randint(1, 3))
    ]
    requests = [
        CruiseRequest(
            f"r{j}",
            float(rng.choice([1, 1, 2])),
            rng.randint(1, 2),
            tuple(
                DiveSite(f"s{j}_{q}", 10.0 + rng.random() * 4, 110.0 + rng.random() * 2, 3000.0)
                for q in range(rng.randint(0, 2))
            ),
        )
        for j in range(rng.randint(2, 8))
    ]
    return CruiseProblem(tuple(legs), tuple(requests))


@pytest.mark.parametrize("instance", [13, 37, 53, 74])
def test_a_cruise_does_not_depend_on_the_order_of_requests_or_legs(instance: int) -> None:
    # before: 9 of 80 instances of this generator put another request on a leg, or its
    # dives on other days, once the lists were shuffled (the seeded tie-break lost: one
    # instance scored 2.0000001264 against 2.0000001221); these four as here
    p = _cruise_instance(instance)
    base = solve_cruise(p, seed=0)
    q = CruiseProblem(_shuffled(p.legs, instance), _shuffled(p.requests, instance + 1))
    other = solve_cruise(q, seed=0)
    assert other.leg_of == base.leg_of
    assert sorted(other.dives, key=str) == sorted(base.dives, key=str)
    assert other.explanations == base.explanations
    assert list(other.leg_of) == [r.id for r in q.requests]
