"""The key of a TAC preview's problem (mend21): ``allocation.preview_solves.digest`` on a
synthetic allocation problem of ``--n`` requests with a group (the problem round 20
measured, 22.6 ms a digest), each view's problem built anew from the same inputs, as each
view builds it from the rows. Timed in one process, ``--repeat`` views:

* ``whole``: the problem written whole (``preview_solves._digest_whole``, what every view
  paid before: the peer);
* ``met_again``: ``digest`` of a problem this process keyed before (the memo's path: a
  pickle and its sha256);
* ``first``: ``digest`` of a problem never met (the whole, plus the pickle);
* ``repr``: round 19's ``repr`` of the problem (not a key between processes; reference).

Prints one JSON line (median CPU milliseconds of each, and the ratios).

    .venv/bin/python bench/bench_preview_key.py --n 250 --repeat 30
"""

from __future__ import annotations

import json
import statistics
import sys
from argparse import ArgumentParser
from collections.abc import Callable
from pathlib import Path
from time import process_time
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("src", ".")]

from tests.allocation.test_preview_key import problem  # noqa: E402

from opencall.allocation import preview_solves  # noqa: E402


def timed(fn: Callable[[tuple[Any, ...]], object], n: int, repeat: int) -> float:
    """Median CPU ms of ``fn`` on a problem built anew for each view."""
    out = []
    for _ in range(repeat):
        parts = problem(n)
        t0 = process_time()
        fn(parts)
        out.append((process_time() - t0) * 1000)
    return statistics.median(out)


def main() -> None:
    ap = ArgumentParser()
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    n, k = args.n, args.repeat
    key = preview_solves.digest(*problem(n))
    assert preview_solves._digest_whole(problem(n)) == key  # one key, by either path

    def first(parts: tuple[Any, ...]) -> object:
        preview_solves._MEMO.clear()
        return preview_solves.digest(*parts)

    whole = timed(preview_solves._digest_whole, n, k)
    first_ms = timed(first, n, k)
    preview_solves.digest(*problem(n))
    again = timed(lambda parts: preview_solves.digest(*parts), n, k)
    rep = timed(lambda parts: repr(parts), n, k)
    print(
        json.dumps(
            {
                "n": n,
                "repeat": k,
                "whole_ms": round(whole, 3),
                "first_ms": round(first_ms, 3),
                "met_again_ms": round(again, 3),
                "repr_ms": round(rep, 3),
                "whole_over_met_again": round(whole / again, 1),
                "first_over_whole": round(first_ms / whole, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
