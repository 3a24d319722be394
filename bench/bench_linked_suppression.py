"""Time of the public after-award tables suppressed together (``public_funnels``: income
group and UN region, integer-program audit) against each alone (``public_funnel``), for
seeded random calls of 20 to 2,000 awards over the pairs of income group and region
that the world's countries make.

    .venv/bin/python bench/bench_linked_suppression.py
"""

from __future__ import annotations

import random
import time

from opencall.outcomes import after_award as aa

PAIRS = [
    ("high", "Europe"), ("upper-middle", "Europe"), ("high", "Asia"), ("upper-middle", "Asia"),
    ("lower-middle", "Asia"), ("low", "Asia"), ("low", "Africa"), ("lower-middle", "Africa"),
    ("upper-middle", "Africa"), ("high", "Americas"), ("upper-middle", "Americas"),
    ("lower-middle", "Americas"), ("lower-middle", "Oceania"), ("high", "Oceania"),
]  # fmt: skip
BYS = ("income_group", "un_region")


def world(n: int, seed: int) -> list[aa.AfterAwardRow]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        inc, reg = rnd.choice(PAIRS)
        used = rnd.random() < 0.7
        rows.append(
            aa.AfterAwardRow(
                str(i),
                {BYS[0]: inc, BYS[1]: reg},
                used=used,
                completed=used and rnd.random() < 0.6,
                produced_results=rnd.random() < 0.4,
            )
        )
    return rows


def main() -> None:
    for n in (20, 200, 2000):
        for seed in range(3):
            rows = world(n, seed)
            t0 = time.perf_counter()
            for by in BYS:
                aa.public_funnel(rows, by)
            alone = time.perf_counter() - t0
            t0 = time.perf_counter()
            aa.public_funnels(rows, BYS)
            together = time.perf_counter() - t0
            print(f"awards {n:5d} seed {seed}: alone {alone:6.2f} s, together {together:6.2f} s")


if __name__ == "__main__":
    main()
