"""Record, or check, the exact peers' answers the trial tests compare with (speedopt21;
``tests/optim/recorded.py``, ``tests/optim/peer_cases.py``).

Each case's instance is generated, its digest taken, and its peer (OR-Tools CP-SAT or
``scipy.optimize.milp``) run; the peer's CPU seconds are printed per case and per set.

    PYTHONPATH=. .venv/bin/python bench/record_peers.py --write            # (re)record all sets
    PYTHONPATH=. .venv/bin/python bench/record_peers.py --write trial20    # one set
    PYTHONPATH=. .venv/bin/python bench/record_peers.py --write --only alloc/ trial19
                                    # the cases whose key starts alloc/, the others kept
    PYTHONPATH=. .venv/bin/python bench/record_peers.py                    # re-run, compare

Without ``--write`` the script re-runs every peer and compares its answer (to 1e-6) and the
instance's digest with the committed file; it exits 1 on any difference. A peer that does
not prove its optimum fails here (``trial18``/``trial19`` assert it), so only proved optima
are recorded (status ``OPTIMAL``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.optim import peer_cases as pc  # noqa: E402
from tests.optim import recorded  # noqa: E402


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)


def _run(name: str, write: bool, only: str = "") -> int:
    bad = 0
    path = recorded.DIR / f"{name}.json"
    old = json.loads(path.read_text()) if not write or only else {}
    # with ``only``, the other cases' recorded answers are kept as they are
    out: dict[str, dict[str, Any]] = {k: v for k, v in old.items() if not k.startswith(only)}
    total = 0.0
    for key, case in pc.cases(name).items():
        if not key.startswith(only):
            continue
        problem = case.make()
        t = time.process_time()
        ans = pc.PEERS[case.peer](problem)
        cpu = time.process_time() - t
        total += cpu
        entry = {"digest": recorded.digest(problem), "peer": case.peer,
                 "status": "OPTIMAL", "answer": ans}  # fmt: skip
        out[key] = entry
        note = ""
        if not write:
            was = old.get(key)
            if was is None or was["digest"] != entry["digest"] or not _same(was["answer"], ans):
                bad += 1
                note = f"  DIFFERS from the recorded {was and (was['digest'][:12], was['answer'])}"
        print(f"{name} {key:24} {case.peer:10} {cpu:7.2f} s  {ans}{note}", flush=True)
    print(f"{name}: {len(out)} peers, {total:.1f} CPU s")
    if write:
        text = json.dumps(out, indent=1, sort_keys=True) + "\n"
        recorded.DIR.mkdir(exist_ok=True)
        (recorded.DIR / f"{name}.json").write_text(text)
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", help=f"of {sorted(pc.SETS)} (all when none)")
    ap.add_argument("--write", action="store_true", help="record (overwrite) the files")
    ap.add_argument("--only", default="", help="only the cases whose key starts with this")
    args = ap.parse_args()
    bad = sum(_run(name, args.write, args.only) for name in args.sets or sorted(pc.SETS))
    if bad:
        print(f"{bad} answers differ from the recorded ones")
        sys.exit(1)


if __name__ == "__main__":
    main()
