"""The small-cell audits kept (``outcomes.domain.recoverable_cells``, branch speedweb21)
against the audits solved again on every request (the code before), on the leak
oracle's SQLite world (tests/security/test_leak_oracle.py) taken to ``--stage``:

* the public pages that audit tables (``/calls/{slug}/figures``, ``/after-award``),
  each read ``--n`` times by an anonymous visitor;
* the oracle's whole walk of the stage (every GET route, every persona).

``before``: the kept audits cleared before every request (each request solves its
tables, as before the change); ``after``: kept. Both in one process, alternating (each
first every other round), CPU of the process (``time.process_time``, the app's worker
threads included). Each round checks first that both read the same answers.

    PYTHONPATH=. .venv/bin/python bench/bench_suppression_kept.py --stage published --rounds 3
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from typing import Any

from tests.security import test_leak_oracle as oracle

from bench_inloop_client import advanced
from opencall.outcomes import domain

# a form's one-time key, a time written from the clock, the request id
WHEN = re.compile(r'<time datetime=[^>]*>[^<]*</time>|name="once" value="\w+"')


def answer(r: Any) -> tuple[int, str]:
    return r.status_code, WHEN.sub("<time>", r.text)


def cleared(get: Callable[[str], Any]) -> Callable[[str], Any]:
    def fresh(path: str) -> Any:
        domain.clear_kept_audits()
        return get(path)

    return fresh


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", default="published", choices=oracle.STAGES)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    web, w = advanced("bench-kept-", args.stage)
    with web.one_loop():
        by = oracle.clients(web, w)
        anonymous = by["anonymous"][0]
        pages = [
            f"/calls/{slug}/{p}" for slug in w.slugs.values() for p in ("figures", "after-award")
        ]

        def walk(get_page: Callable[[Any], Callable[[str], Any]]) -> list[Any]:
            out = []
            for page, api in by.values():
                for _t, path in oracle.paths(web, w):
                    client = api if path.startswith("/api/") else page
                    out.append(answer(get_page(client)(path)))
            return out

        def public(get_page: Callable[[Any], Callable[[str], Any]]) -> list[Any]:
            return [answer(get_page(anonymous)(p)) for _ in range(args.n) for p in pages]

        walk(lambda c: c.get)  # (tokens used once, the releases recorded)
        ways = {"before": lambda c: cleared(c.get), "after": lambda c: c.get}
        rows: dict[tuple[str, str], list[float]] = {}
        counts = {}
        for what, run in (("public pages", public), ("whole walk", walk)):
            for i in range(args.rounds):
                got = {}
                for name in sorted(ways, reverse=i % 2 == 1):  # each first every other round
                    domain.clear_kept_audits()
                    t = time.process_time()
                    got[name] = run(ways[name])
                    rows.setdefault((what, name), []).append(time.process_time() - t)
                assert got["before"] == got["after"], f"{what}: not the same answers"
                assert all(s == 200 for s, _ in got["after"]) or what == "whole walk"
                counts[what] = len(got["after"])
    print(f"stage {args.stage}, {args.rounds} rounds, CPU s (least; all)")
    for (what, name), xs in rows.items():
        print(
            f"{what:12} {name:6} {counts[what]:5} requests  least {min(xs):7.2f}"
            f"  all {' '.join(f'{x:.2f}' for x in xs)}  ms a request {1000 * min(xs) / counts[what]:.2f}"
        )


if __name__ == "__main__":
    main()
