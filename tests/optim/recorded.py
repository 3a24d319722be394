"""The exact peers' answers, recorded once (speedopt21, docs/testing.md).

The trial tests hold our optimisers to an exact peer's optimum (OR-Tools CP-SAT, two
``scipy.optimize.milp`` solves): the peers cost more CPU than our solvers, and the same
instances' optima never change while the generators do not. ``bench/record_peers.py``
solves each instance with its peer once and writes, per test file, a JSON file under
``tests/optim/recorded/``: for each instance its key, the SHA-256 of the instance (``digest``:
every field of the problem, in a canonical text), the peer's name, its proof status and its
answer. A test reads the answer with ``answer``, which first recomputes the instance's digest
and fails when it differs from the recorded one (a generator changed: the fixture is stale,
record it again); a cheap test per file checks every recorded instance's digest, so a stale
fixture cannot pass silently. ``bench/record_peers.py --check`` re-runs the peers and
compares them with the fixture.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DIR = Path(__file__).resolve().parent / "recorded"


def canonical(obj: Any) -> Any:
    """``obj`` as plain JSON data, the same for the same problem in every process: a
    dataclass by its fields' names, arrays by dtype, shape and values, datetimes with their
    zone's key, sets sorted, floats by their exact repr."""
    if dc.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: canonical(getattr(obj, f.name)) for f in dc.fields(obj)}
        return {"__type__": type(obj).__qualname__, **fields}
    if isinstance(obj, np.ndarray):
        return {"dtype": obj.dtype.str, "shape": list(obj.shape), "v": canonical(obj.tolist())}
    if isinstance(obj, np.generic):
        return canonical(obj.item())
    if isinstance(obj, dt.datetime):
        return {"dt": obj.isoformat(), "tz": str(obj.tzinfo) if obj.tzinfo else None}
    if isinstance(obj, dt.timedelta):
        return {"td": obj.total_seconds()}
    if isinstance(obj, dict):
        return {"__dict__": sorted([canonical(k), canonical(v)] for k, v in obj.items())}
    if isinstance(obj, (set, frozenset)):
        return {"__set__": sorted((canonical(v) for v in obj), key=repr)}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"float": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"no canonical form for {type(obj).__name__}")


def digest(problem: Any) -> str:
    """The SHA-256 of ``problem``'s canonical text (``canonical``)."""
    text = json.dumps(canonical(problem), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def load(name: str) -> dict[str, dict[str, Any]]:
    """The recorded answers of ``tests/optim/recorded/<name>.json``: key -> entry."""
    data: dict[str, dict[str, Any]] = json.loads((DIR / f"{name}.json").read_text())
    return data


def answer(name: str, key: str, problem: Any) -> Any:
    """The peer's recorded answer for instance ``key`` of ``name``, after checking that
    ``problem`` is the instance it was recorded for and that the peer proved it."""
    entry = load(name).get(key)
    assert entry is not None, f"{name}: {key} was never recorded (bench/record_peers.py)"
    assert entry["digest"] == digest(problem), (
        f"{name}: {key} is not the instance recorded (its generator changed): "
        "record it again with bench/record_peers.py"
    )
    assert entry["status"] == "OPTIMAL", (name, key, entry["status"])
    return entry["answer"]
