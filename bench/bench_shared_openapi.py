"""A new app's OpenAPI document in the test process: FastAPI's own build (every app
builds it, as main's test process did) against the document the test process shares
(``_share_openapi_document`` in tests/fixtures.py, speed23). One process, alternating
(each first every other round), CPU (``time.process_time``) of ``app.openapi()`` on a
new app; each round checks that both give the same document.

    PYTHONPATH=. .venv/bin/python bench/bench_shared_openapi.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import tests.fixtures  # noqa: F401  (the test process's patches: the shared document)
from fastapi import applications
from fastapi.openapi import utils
from tests.web.test_shared_openapi import new_app


def document(tmp: Path, shared: bool) -> tuple[float, str]:
    """CPU seconds of a new app's ``openapi()``, and the document (sorted JSON)."""
    patched = applications.get_openapi
    if not shared:
        applications.get_openapi = utils.get_openapi  # type: ignore[assignment]
    try:
        app = new_app(tmp)
        t = time.process_time()
        doc = app.openapi()
        cpu = time.process_time() - t
    finally:
        applications.get_openapi = patched
    return cpu, json.dumps(doc, sort_keys=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-openapi-"))
    document(tmp, True)  # the process's first build, once (as each test process)
    times: dict[str, list[float]] = {"own": [], "shared": []}
    for n in range(args.rounds):
        order = (False, True) if n % 2 == 0 else (True, False)
        docs = {}
        for shared in order:
            cpu, docs[shared] = document(tmp, shared)
            times["shared" if shared else "own"].append(cpu)
        assert docs[True] == docs[False], "the shared document differs from FastAPI's own"
    for name, got in times.items():
        print(f"{name:7} least {min(got):.3f} s; all {' '.join(f'{x:.3f}' for x in got)}")


if __name__ == "__main__":
    main()
