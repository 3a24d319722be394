"""The allocation's rows of an instrument shared by resources (``allocation.instruments``,
trialfac22b), checked against an exact peer on small seeded instances: a set of requests
fits the rows (each resource's capacity, and each set of the instrument's resources held
to the slots in which one of them at least is open) exactly when its slots can be placed,
one request's unit at a time, on distinct slots of the instrument (a matching found by
exhaustive search); the optimiser's awards under the rows are placeable and worth what
the best placeable set is worth (every set of requests tried)."""

from __future__ import annotations

import random
from functools import partial
from itertools import combinations

from opencall.allocation.instruments import hall_rows
from opencall.optim.allocation import AllocationPolicy, AllocationProblem, Pool, Request
from opencall.optim.allocation import solve_allocation as solve

FLOOR = AllocationPolicy().merit_floor


def _instance(rng: random.Random) -> tuple[dict[str, set[int]], list[Request]]:
    n = rng.randint(3, 7)
    opens = {}
    for key in ("A", "B", "C")[: rng.choice([2, 3, 3])]:
        opens[key] = set(rng.sample(range(n), rng.randint(1, n)))
    requests = []
    for i in range(rng.randint(3, 6)):
        asked = rng.sample(sorted(opens), 2 if rng.random() < 0.3 else 1)
        demand = {key: float(rng.randint(1, 3)) for key in asked}
        requests.append(Request(f"r{i}", f"p{i}", f"pi{i}", rng.uniform(1, 10), demand))
    return opens, requests


def _placeable(opens: dict[str, set[int]], chosen: list[Request]) -> bool:
    """Every unit of ``chosen`` on a distinct slot open on its resource (exhaustive)."""
    units = [key for r in chosen for key, d in r.demand.items() for _ in range(int(d))]
    units.sort(key=lambda key: len(opens[key]))

    def place(k: int, used: frozenset[int]) -> bool:
        if k == len(units):
            return True
        return any(place(k + 1, used | {s}) for s in opens[units[k]] if s not in used)

    return place(0, frozenset())


def _open_hours(opens: dict[str, set[int]], keys: tuple[str, ...]) -> float:
    """The slots in which one of ``keys`` at least is open (an hour each)."""
    return float(len(set().union(*(opens[k] for k in keys))))


def _fits_rows(problem: AllocationProblem, chosen: list[Request]) -> bool:
    ids = {r.id for r in chosen}
    for p in problem.pools:
        if sum(r.demand.get(p.id, 0.0) for r in chosen) > p.capacity + 1e-9:
            return False
    return all(
        sum(d for rid, d in sc.demand.items() if rid in ids) <= sc.capacity + 1e-9
        for sc in problem.shared
    )


def test_the_rows_of_an_instrument_are_exactly_its_placeable_awards() -> None:
    rng = random.Random(2222)
    bound = 0  # instances whose rows keep out a set the resources' capacities let in
    for _ in range(80):
        opens, requests = _instance(rng)
        members = [(key, 1.0, float(len(s))) for key, s in opens.items()]
        rows = hall_rows("I", members, partial(_open_hours, opens), 0.0, requests)
        pools = tuple(Pool(key, cap, unit="slot", whole=True) for key, _h, cap in members)
        problem = AllocationProblem(pools, tuple(requests), AllocationPolicy(), shared=tuple(rows))
        loose = AllocationProblem(pools, tuple(requests), AllocationPolicy())
        lo, hi = min(r.merit for r in requests), max(r.merit for r in requests)
        best = 0.0
        for k in range(len(requests) + 1):
            for chosen in map(list, combinations(requests, k)):
                placeable = _placeable(opens, chosen)
                assert _fits_rows(problem, chosen) == placeable, (opens, chosen, rows)
                bound += _fits_rows(loose, chosen) and not placeable
                if placeable:
                    best = max(best, sum((r.merit - lo) / (hi - lo) + FLOOR for r in chosen))
        res = solve(problem, seed=1)
        awarded = [r for r in requests if res.fractions[r.id] > 0]
        assert _placeable(opens, awarded), (opens, awarded)
        value = sum((r.merit - lo) / (hi - lo) + FLOOR for r in awarded)
        assert abs(value - best) < 1e-4, (opens, requests, awarded, best)
    assert bound >= 20, bound
