"""Benchmark: the automatic assignment kept free of reviewers who review each other
(``reviews.services.apart.solve_apart``, trialcrowd10) against the plain solve
(``optim.assignment.solve_assignment``) of the same problem, in the same run.

A distributed review (the applicants review each other, one PI a proposal): N applicants
in fields of F people, affinity 0.9 within a field and uniform noise below 0.3 across,
k = 3 reviews a proposal, each reviews 3. The plain optimum pairs people of a field both
ways; the table gives, for both, the CPU seconds, the cycles of two or three people left,
the reviews missing and the total affinity, and the ratios.

    .venv/bin/python bench/bench_apart.py --sizes 60,300,1000

trialcrowd11: ``--rings 3,5`` runs the kept-apart solve once per bound on the longest ring
kept out (3: trialcrowd10's rule; 5: ``reviews.domain.MAX_RING``, the default), in the
same run, the cycles counted up to that bound.

    .venv/bin/python bench/bench_apart.py --sizes 60,300,1000 --rings 3,5
"""

from __future__ import annotations

import argparse
import resource
import types

import numpy as np

from opencall.optim.assignment import distributed_problem, solve_assignment
from opencall.reviews.domain import collusion_cycles
from opencall.reviews.services.apart import solve_apart


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def instance(n: int, field: int, seed: int = 0) -> tuple[object, dict[int, set[int]]]:
    rng = np.random.default_rng(seed)
    fields = np.arange(n) // field
    A = rng.uniform(0.0, 0.3, (n, n))
    A[fields[:, None] == fields[None, :]] = 0.9
    members = [[i] for i in range(n)]
    problem = distributed_problem(members, A, k=3, max_load=3)
    from dataclasses import replace

    return replace(problem, allow_short=True), {i: {i} for i in range(n)}


def row(n: int, field: int, ring: int) -> str:
    problem, teams = instance(n, field)
    ids = [types.SimpleNamespace(id=i) for i in range(n)]
    t0 = _cpu()
    plain = solve_assignment(problem)
    t1 = _cpu()
    _p, apart, info = solve_apart(problem, ids, ids, teams, ring)  # type: ignore[arg-type]
    t2 = _cpu()
    out = []
    for res in (plain, apart):
        pairs = list(zip(res.proposals.tolist(), res.reviewers.tolist(), strict=True))
        frozen = {p: frozenset(t) for p, t in teams.items()}
        cycles = len(collusion_cycles(pairs, frozen, ring))
        out.append((cycles, int(res.short.sum()), res.total_affinity))
    (c0, s0, a0), (c1, s1, a1) = out
    return (
        f"| {n} | {field} | {ring} | {t1 - t0:.2f} | {t2 - t1:.2f} "
        f"| {(t2 - t1) / max(t1 - t0, 1e-3):.1f} "
        f"| {c0} | {c1} | {s0} | {s1} | {a1 / a0:.3f} | {info['avoided']} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="60,300")
    ap.add_argument("--field", type=int, default=6)
    ap.add_argument("--rings", default="5", help="longest rings kept out, one run each")
    args = ap.parse_args()
    print(
        "| N | field | longest ring kept out | plain CPU s | apart CPU s | ratio "
        "| cycles plain | cycles apart | missing plain | missing apart "
        "| affinity apart/plain | pairs avoided |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        for ring in (int(x) for x in args.rings.split(",")):
            print(row(n, args.field, ring), flush=True)


if __name__ == "__main__":
    main()
