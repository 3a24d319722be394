"""Checks of the optimisers' numeric parameters (time limits, gaps, tolerances, seeds).

Every public entry point of ``opencall.optim`` checks its scalar parameters first, so a
limit of NaN, infinity or below zero is refused with a ``ValueError`` naming the parameter
instead of reaching the solver (HiGHS reads a NaN limit as "no limit"; ``max(nan, 0.01)``
is NaN; a negative limit was quietly raised to 0.01 s).
"""

from __future__ import annotations

import math
import numbers


def non_negative(name: str, value: float) -> float:
    """Return ``value`` as a float when it is a finite number >= 0, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return out


def positive(name: str, value: float) -> float:
    """Return ``value`` as a float when it is a finite number > 0, else raise ValueError."""
    out = non_negative(name, value)
    if out <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def count(name: str, value: int, *, minimum: int = 0) -> int:
    """Return ``value`` when it is a whole number >= ``minimum``, else raise ValueError.

    Seeds, restarts, rounds and sizes: numpy and HiGHS take only non-negative whole seeds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def optional_count(name: str, value: int | None, *, minimum: int = 0) -> int | None:
    """``count`` for a parameter whose None means "the default"."""
    return None if value is None else count(name, value, minimum=minimum)


def seed(value: int, name: str = "seed") -> int:
    """Return a seed that numpy and HiGHS accept (a whole number >= 0), else raise ValueError."""
    return count(name, value)


def solver_run(seed_value: int, time_limit_s: float) -> tuple[int, float]:
    """The checked ``seed`` and ``time_limit_s`` of a solver's entry point."""
    return seed(seed_value), non_negative("time_limit_s", time_limit_s)
