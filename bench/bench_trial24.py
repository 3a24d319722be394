"""Cruises nobody tried, twenty-fourth round (trialopt24): long-arc routes, berths filled by
a better combination of lower merits, and a request that fits no leg.

Usage:
    .venv/bin/python bench/bench_trial24.py [--src <checkout>/src] [--seeds 60]

``--seeds`` instances of each family of ``tests/optim/trial24.py``: ``route`` (a route of
90-179 degree arcs and a site; ours ``route_distance_km``, the peer samples and refines each
arc, ``trial24.route_peer``; counted: distances more than 1 m off), ``small`` and
``knapsack`` cruises (ours ``solve_cruise``, the peer ``scipy.optimize.milp`` at gap 0 on the
documented objective, ``trial24.cruise_peer``; counted: rules broken (``check``), plans
below the peer, "taken by higher-valued requests" with a request of no higher merit aboard,
plans moved by a request at merit -50 that fits no leg). The CPU seconds of ours and of the
peer are summed over the cruises (the same problems; the peer builds a dense matrix).
``--src <main checkout>/src`` runs that checkout's code as ours (the cruise peer then reads
that checkout's route distances too; the route peer is its own).
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path[:0] = [SRC, str(ROOT)]

from tests.optim import trial24 as t24  # noqa: E402

from opencall.optim import logistics as lg  # noqa: E402


def _routes(seeds: int) -> int:
    return sum(
        abs(lg.route_distance_km(*site, pts)[0] - t24.route_peer(site, pts)) > 1e-3
        for site, pts in (t24.route(s) for s in range(seeds))
    )


def _cruises(family: str, seeds: int) -> dict[str, float]:
    out = dict.fromkeys(("rules", "below", "higher", "nowhere", "ours_s", "peer_s"), 0.0)
    for seed in range(seeds):
        p = t24.cruise(seed, family)
        t0 = time.process_time()
        res = lg.solve_cruise(p, seed=seed)
        out["ours_s"] += time.process_time() - t0
        t0 = time.process_time()
        best = t24.cruise_peer(p, seed)
        out["peer_s"] += time.process_time() - t0
        out["rules"] += bool(res.check(p))
        out["below"] += t24.cruise_value(p, res, seed) < best * (1 - 1e-6)
        merit = {r.id: r.merit for r in p.requests}
        out["higher"] += any(
            ex.detail.endswith("taken by higher-valued requests")
            and any(merit[q] <= merit[rid] for q, lid in res.leg_of.items() if lid in ex.pools)
            for rid, ex in res.explanations.items()
        )
        z = lg.CruiseRequest("zz", -50.0, max(leg.berths for leg in p.legs) + 1)
        more = lg.solve_cruise(dc.replace(p, requests=(*p.requests, z)), seed=seed)
        out["nowhere"] += any(more.leg_of[k] != v for k, v in res.leg_of.items()) or set(
            more.dives
        ) != set(res.dives)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="")
    ap.add_argument("--seeds", type=int, default=60)
    a = ap.parse_args()
    print(f"src={SRC} seeds={a.seeds}")
    print(f"route: {_routes(a.seeds)} of {a.seeds} distances more than 1 m off the peer")
    for fam in ("small", "knapsack"):
        o = _cruises(fam, a.seeds)
        print(
            f"{fam}: rules {o['rules']:.0f}, below peer {o['below']:.0f}, 'higher-valued' "
            f"wrong {o['higher']:.0f}, moved by a request that fits nowhere "
            f"{o['nowhere']:.0f} (of {a.seeds}); CPU s ours {o['ours_s']:.2f}, peer "
            f"{o['peer_s']:.2f}, ratio {o['ours_s'] / o['peer_s']:.2f}"
        )


if __name__ == "__main__":
    main()
