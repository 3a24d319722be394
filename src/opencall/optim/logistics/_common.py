"""What the logistics problems share: objective weights, id checks, outcome codes and
explanations kept as messages (``opencall.optim.messages``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from opencall.optim.allocation import Explanation, MipSolution, _gap, rows_to_csr, solve_mip
from opencall.optim.arrays import FloatArray
from opencall.optim.messages import M_, Message, render
from opencall.optim.ties import tie_ranks

_TIE_EPS = 1e-7
_MERIT_FLOOR = 0.1

AWARDED = "awarded"
AWARDED_PARTIALLY = "awarded_partially"
NOT_ASSIGNED_SOLVER_GAP = "not_assigned_solver_gap"

Row = tuple[dict[int, float], float, float]

#: message ids of the sentences shared by several problems


def weights(
    merits: Sequence[float],
    ids: Sequence[str],
    seed: int,
    placeable: Sequence[bool] | None = None,
) -> FloatArray:
    """Positive objective weights: merit rescaled to [0.1, 1.1] plus a seeded tie-break that
    depends on the seed and each request's id (``ids``), never on its position.

    ``placeable`` (default: all) marks the requests the model has a place for: the rescale
    and the tie-break run over those alone, the others weigh the floor (0.1) and have no
    column to weigh on. A request that fits nowhere (more berths than any leg, a session
    smaller than its least count) at the lowest merit raised the weight of every other to
    near the top, so two requests of merit 5 for half a leg each sailed in place of one of
    merit 10 for all of it, which sailed without it."""
    if placeable is not None:
        keep = [i for i, ok in enumerate(placeable) if ok]
        out = np.full(len(merits), _MERIT_FLOOR)
        if keep:
            out[keep] = weights([merits[i] for i in keep], [ids[i] for i in keep], seed)
        return np.asarray(out, dtype=np.float64)
    n = len(merits)
    if n == 0:
        return np.zeros(0)
    s = np.asarray(merits, dtype=np.float64)
    lo, hi = float(s.min()), float(s.max())
    if not math.isfinite(hi - lo):  # finite merits whose range overflows: same ranking
        s = s / max(abs(lo), abs(hi))
        lo, hi = float(s.min()), float(s.max())
    base = (s - lo) / (hi - lo) if hi > lo else np.ones(n)
    tie = (n - tie_ranks(ids, seed)) / n
    return np.asarray((base + _MERIT_FLOOR) * (1.0 + _TIE_EPS * tie), dtype=np.float64)


def unique(ids: Sequence[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} must be unique")


def freeze(problem: Any, *fields: tuple[str, str]) -> None:
    """Turns each sequence field of a frozen dataclass ``problem`` into a tuple and
    refuses repeated ids in it: ``fields`` are (attribute, what its ids are called)."""
    for attr, _ in fields:
        object.__setattr__(problem, attr, tuple(getattr(problem, attr)))
    for attr, what in fields:
        unique([x.id for x in getattr(problem, attr)], what)


@dataclass(frozen=True)
class BinsProblem:
    """What the course and package problems (frozen dataclasses) share: their bins and
    requests become tuples with unique ids (``ids``: the two fields and what their ids
    are called) and the preference penalty (keyword-only, by default 0.05: what a later
    choice costs, scaled by its rank) lies in [0, 1)."""

    kind: ClassVar[str]
    ids: ClassVar[tuple[tuple[str, str], tuple[str, str]]]
    preference_penalty: float = field(default=0.05, kw_only=True)

    def __post_init__(self) -> None:
        freeze(self, *self.ids)
        if not (0.0 <= self.preference_penalty < 1.0):
            raise ValueError("preference_penalty must lie in [0, 1)")


def solve_rounded(
    cost: Sequence[float],
    rows: list[Row],
    upper: Sequence[float] | FloatArray,
    integer: Sequence[bool] | NDArray[np.bool_],
    *,
    seed: int,
    time_limit_s: float,
    what: str,
) -> tuple[MipSolution, FloatArray]:
    """HiGHS's solution of the MIP max ``cost``·x over ``rows`` (0 <= x <= ``upper``,
    ``integer`` columns whole) and its rounded columns; a failed solve is an error."""
    n = len(cost)
    a, lo, hi = rows_to_csr(rows, n)
    sol = solve_mip(
        np.asarray(cost, dtype=np.float64),
        a,
        lo,
        hi,
        np.zeros(n),
        np.asarray(upper, dtype=np.float64),
        np.asarray(integer, dtype=bool),
        seed=seed,
        time_limit_s=time_limit_s,
        mip_rel_gap=1e-6,
    )
    if sol.status in ("infeasible", "error"):
        raise RuntimeError(f"{what} MIP failed: {sol.status}")
    return sol, np.round(sol.x)


def seeded_ties(
    sol: MipSolution,
    x: FloatArray,
    cost: Sequence[float],
    w: FloatArray,
    keys: Sequence[Hashable],
    cols: Sequence[Sequence[int]],
) -> tuple[MipSolution, FloatArray]:
    """The solution ``x`` with the decisions of interchangeable requests handed out in the
    seeded order: requests of one ``keys[i]`` (equal merit and the same shape, so that every
    row of the model treats their columns ``cols[i]``, listed in one order, alike) swap
    their decisions so that the one of larger weight ``w[i]`` (the seeded tie-break) holds
    the decision worth more (``cost`` over ``w``; equal worth keeps the order found).

    The tie perturbation of :func:`weights` (at most 1e-7 of a weight, about 1e-10 between
    two of 1,200 tied requests) lies below the solver's gap, so past some thousand tied
    requests HiGHS kept whichever its search met first (the last by position, whatever the
    seed); a swap between interchangeable requests keeps every row and can only raise the
    objective, which is given again with its gap when it moved."""
    c = np.asarray(cost, dtype=np.float64)
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    out = x.copy()
    for members in groups.values():
        if len(members) < 2 or not cols[members[0]]:
            continue
        ref = members[0]
        unit = c[list(cols[ref])] / float(w[ref])
        decisions = [x[list(cols[i])] for i in members]
        worth = [float(np.dot(unit, d)) for d in decisions]
        ranked = sorted(range(len(members)), key=lambda j: -worth[j])
        holders = sorted(members, key=lambda i: -float(w[i]))
        for i, j in zip(holders, ranked, strict=True):
            out[list(cols[i])] = decisions[j]
    if np.array_equal(out, x):
        return sol, x
    obj = float(np.dot(c, out))
    return replace(sol, objective=obj, gap=_gap(obj, sol.bound, True)), out


def mip_figures(sol: MipSolution) -> dict[str, Any]:
    """The solver's figures every logistics result carries (its ``objective``, ``bound``,
    ``mip_gap``, ``status`` and ``solve_time_s`` fields)."""
    return {
        "objective": sol.objective,
        "bound": sol.bound,
        "mip_gap": sol.gap,
        "status": sol.status,
        "solve_time_s": sol.time_s,
    }


#: the most seats or packages a session, season or request may count: the placement's
#: integer program links a request's count to its choice by ``count`` itself, and HiGHS's
#: tolerances (1e-6 to 1e-9) hold that exact only so far (sessions of 1e11 seats: "MIP
#: failed: infeasible" for a model the empty placement meets; 1e15: "HiGHS rejected the
#: model"; tests/optim/test_trial_instances_11.py)
MAX_UNITS = 10**9


def at_most(what: str, owner: str, name: str, value: int) -> None:
    if value > MAX_UNITS:
        raise ValueError(f"{what} {owner!r}: {name} must be at most {MAX_UNITS:,}, got {value:,}")


def check_capacity(what: str, bin_id: str, name: str, value: object) -> None:
    """Refuses the capacity ``value`` (the field ``name``) of the bin ``bin_id`` (a
    ``what``: session, season) unless it is a whole number in [0, ``MAX_UNITS``]."""
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} {bin_id!r}: {name} must be a whole number")
    if value < 0:
        raise ValueError(f"{what} {bin_id!r}: {name} must be >= 0")
    at_most(what, bin_id, name, int(value))


class CountedRequest:
    """What the seat and package requests (frozen dataclasses) share: ``count`` whole
    units (seats, packages), of which at least ``min_count`` (all when None) are worth
    giving, in one of the bins named in the field ``choices`` (made a tuple). What cannot
    be placed is refused (``what`` names the request in the error)."""

    what: ClassVar[str]
    choices: ClassVar[str]
    id: str
    merit: float
    count: int
    min_count: int | None

    def __post_init__(self) -> None:
        what, rid = self.what, self.id
        if isinstance(getattr(self, self.choices), str):
            # a string is a sequence of its letters: "s1" named the bins 's' and '1'
            raise ValueError(
                f"{what} {rid!r}: {self.choices} must be a sequence of ids, not one string"
            )
        object.__setattr__(self, self.choices, tuple(getattr(self, self.choices)))
        if not isinstance(self.count, numbers.Integral) or not (
            self.min_count is None or isinstance(self.min_count, numbers.Integral)
        ):
            raise ValueError(f"{what} {rid!r}: count and min_count must be whole numbers")
        if self.count < 1:
            raise ValueError(f"{what} {rid!r}: count must be >= 1")
        at_most(what, rid, "count", int(self.count))
        if self.min_count is not None and not (1 <= self.min_count <= self.count):
            raise ValueError(f"{what} {rid!r}: min_count must be in [1, count]")
        if not math.isfinite(self.merit):
            raise ValueError(f"{what} {rid!r}: merit must be finite")

    @property
    def least(self) -> int:
        """The fewest units worth giving: ``min_count``, or all ``count`` when None."""
        return self.count if self.min_count is None else self.min_count


def explained(code: str, msg: Message, pools: tuple[str, ...] = ()) -> Explanation:
    """An explanation whose sentence is ``msg`` (written with ``M_`` at the call, where
    Babel finds it): kept as a message for translation, and rendered in English as
    ``detail``."""
    return Explanation(code, render(msg), tuple(pools), msg)


def solver_gap() -> Explanation:
    """The explanation of a request left out although room remained for it: the solver
    stopped within its optimality gap (code ``not_assigned_solver_gap``)."""
    return explained(
        NOT_ASSIGNED_SOLVER_GAP, M_("room remained; the solver stopped within its gap")
    )
