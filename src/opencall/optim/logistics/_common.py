"""What the logistics problems share: objective weights, id checks, outcome codes and
explanations kept as messages (``opencall.optim.messages``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from opencall.optim.allocation import Explanation, FloatArray
from opencall.optim.messages import message, render

_TIE_EPS = 1e-7
_MERIT_FLOOR = 0.1

AWARDED = "awarded"
AWARDED_PARTIALLY = "awarded_partially"
NOT_ASSIGNED_SOLVER_GAP = "not_assigned_solver_gap"

Row = tuple[dict[int, float], float, float]

#: message ids of the sentences shared by several problems
SOLVER_GAP = "room remained; the solver stopped within its gap"


def weights(merits: Sequence[float], seed: int) -> FloatArray:
    """Positive objective weights: merit rescaled to [0.1, 1.1] plus a seeded tie-break."""
    n = len(merits)
    if n == 0:
        return np.zeros(0)
    s = np.asarray(merits, dtype=np.float64)
    lo, hi = float(s.min()), float(s.max())
    base = (s - lo) / (hi - lo) if hi > lo else np.ones(n)
    perm = np.random.default_rng(seed).permutation(n)
    tie = np.empty(n)
    tie[perm] = np.arange(n, 0, -1) / n
    return np.asarray((base + _MERIT_FLOOR) * (1.0 + _TIE_EPS * tie), dtype=np.float64)


def unique(ids: Sequence[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} must be unique")


def check_counted(what: str, rid: str, count: int, min_count: int | None, merit: float) -> None:
    """A request for ``count`` whole units (seats, packages), of which at least
    ``min_count`` (all when None) are worth giving: refuse what cannot be placed."""
    if count < 1:
        raise ValueError(f"{what} {rid!r}: count must be >= 1")
    if min_count is not None and not (1 <= min_count <= count):
        raise ValueError(f"{what} {rid!r}: min_count must be in [1, count]")
    if not math.isfinite(merit):
        raise ValueError(f"{what} {rid!r}: merit must be finite")


def explained(code: str, template: str, pools: tuple[str, ...] = (), **params: Any) -> Explanation:
    """An explanation whose sentence is ``template`` filled with ``params``: kept as a
    message for translation, and rendered in English as ``detail``."""
    msg = message(template, **params)
    return Explanation(code, render(msg), tuple(pools), msg)
