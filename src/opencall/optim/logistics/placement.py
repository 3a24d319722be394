"""What courses (seats per session) and demonstrations (packages per season) share: a
request goes whole or in part into one of the bins it accepts, bins never overfilled."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from opencall.optim import limits
from opencall.optim.allocation import Explanation
from opencall.optim.allocation.mip import _gap
from opencall.optim.logistics._common import (
    AWARDED,
    AWARDED_PARTIALLY,
    Row,
    explained,
    mip_figures,
    seeded_ties,
    solve_rounded,
    solver_gap,
    weights,
)
from opencall.optim.messages import M_, Message, filled, message
from opencall.optim.ties import tie_ranks

NO_SEATS = "no_seats"
NO_PACKAGES = "no_packages"
NOT_FEASIBLE = "not_feasible"

#: (id, merit, count, min_count, allowed bins best first, feasible, why not feasible)
Item = tuple[str, float, int, int, tuple[str, ...], bool, str]


class BinProblem(Protocol):
    """A course or package problem as bins (id, capacity) and items."""

    @property
    def kind(self) -> str: ...

    @property
    def preference_penalty(self) -> float: ...

    def bins_items(self) -> tuple[list[tuple[str, int]], list[Item]]: ...


@dataclass(frozen=True)
class _Words:
    """The sentences one kind of bin problem explains itself with, written with ``M_``
    here and filled where they are said (``messages.filled``)."""

    placed: Message
    unmatched: Message
    full: Message
    none_code: str


WORDS = {
    "course": _Words(
        placed=M_("%(n)s of %(count)s seat(s) in %(bin)s (%(where)s)"),
        unmatched=M_("no session matches the request"),
        full=M_("fewer than %(n)s seat(s) left in %(bins)s"),
        none_code=NO_SEATS,
    ),
    "package": _Words(
        placed=M_("%(n)s of %(count)s package(s) in %(bin)s (%(where)s)"),
        unmatched=M_("no season of this technology matches the request"),
        full=M_("fewer than %(n)s package(s) left in %(bins)s"),
        none_code=NO_PACKAGES,
    ),
}


@dataclass(frozen=True)
class Placement:
    bin_id: str
    count: int
    preference_rank: int  # 0 = first choice


@dataclass(frozen=True)
class PlacementResult:
    """Seats per session (courses) or packages per season (demonstrations)."""

    placements: Mapping[str, Placement | None]
    explanations: Mapping[str, Explanation]
    objective: float
    bound: float
    mip_gap: float
    status: str
    solve_time_s: float

    def usage(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.placements.values():
            if p is not None:
                out[p.bin_id] = out.get(p.bin_id, 0) + p.count
        return out

    def check(self, problem: BinProblem) -> list[str]:
        """Every broken rule (unknown or unwanted bin, count outside its bounds, a bin
        overfilled, a request without an explanation); empty when the placement is valid."""
        bins, items = problem.bins_items()
        cap = dict(bins)
        errors: list[str] = []
        for item in items:
            rid, _, count, min_count, allowed, feasible, _reason = item
            if rid not in self.placements or rid not in self.explanations:
                errors.append(f"request {rid}: missing placement or explanation")
                continue
            p = self.placements[rid]
            if p is None:
                continue
            if not feasible:
                errors.append(f"request {rid}: placed although not feasible")
            if p.bin_id not in allowed:
                errors.append(f"request {rid}: placed in {p.bin_id}, not one it asked for")
            if not (min_count <= p.count <= count):
                errors.append(f"request {rid}: {p.count} outside [{min_count}, {count}]")
        for bin_id, used in self.usage().items():
            if bin_id not in cap or used > cap[bin_id]:
                errors.append(f"{bin_id}: {used} placed > capacity {cap.get(bin_id, 0)}")
        return errors


def solve_bins(problem: BinProblem, seed: int, time_limit_s: float) -> PlacementResult:
    """Place each request whole-or-partly in one of its allowed bins (see
    :func:`opencall.optim.logistics.courses.solve_courses`), with an explanation each."""
    seed, time_limit_s = limits.solver_run(seed, time_limit_s)
    bins, items = problem.bins_items()
    given = [it[0] for it in items]
    # the bins by id and the requests in the seeded order of their ids
    # (``opencall.optim.ties``), whatever order they came in: HiGHS and the fills read the
    # columns in the requests' order, so that the lists given in another order seated
    # other requests of equal merit with the same seed (4 of 80 small random instances)
    bins = sorted(bins, key=lambda b: b[0])
    ranks = tie_ranks(given, seed)
    # a bin named twice among a request's choices counts once, at its first rank
    items = [
        (r, m, n, lo, tuple(dict.fromkeys(allowed)), ok, why)
        for r, m, n, lo, allowed, ok, why in (items[i] for i in np.argsort(ranks, kind="stable"))
    ]
    cap = dict(bins)
    words = WORDS[problem.kind]
    # rescaled over the requests some bin can hold (``weights``)
    w = weights(
        [it[1] for it in items],
        [it[0] for it in items],
        seed,
        [it[5] and any(cap[b] >= it[3] for b in it[4]) for it in items],
    )
    penalty = problem.preference_penalty
    x_col: dict[tuple[int, str], int] = {}
    n_col: dict[tuple[int, str], int] = {}
    c: list[float] = []
    integer: list[bool] = []
    upper: list[float] = []
    for i, (_, _, count, min_count, allowed, feasible, _reason) in enumerate(items):
        if not feasible:
            continue
        for rank, b in enumerate(allowed):
            if cap[b] < min_count:
                continue
            x_col[(i, b)] = len(c)
            c.append(0.0)
            integer.append(True)
            upper.append(1.0)
            n_col[(i, b)] = len(c)
            c.append(float(w[i]) * (1.0 - penalty * rank / max(len(allowed), 1)) / count)
            integer.append(True)
            upper.append(float(count))
    # each request's columns and each bin's, gathered once (a scan of every column per
    # request took 11 s of 14 for 6,000 requests)
    cols_of: list[list[int]] = [[] for _ in items]
    bin_terms: dict[str, dict[int, float]] = {b: {} for b, _ in bins}
    for (i, b), col in n_col.items():
        cols_of[i].append(x_col[(i, b)])
        bin_terms[b][col] = 1.0
    rows: list[Row] = []
    for cols in cols_of:
        if len(cols) > 1:
            rows.append((dict.fromkeys(cols, 1.0), -math.inf, 1.0))
    for (i, b), col in n_col.items():
        rows.append(({col: 1.0, x_col[(i, b)]: -float(items[i][2])}, -math.inf, 0.0))
        rows.append(({col: 1.0, x_col[(i, b)]: -float(items[i][3])}, 0.0, math.inf))
    for b, capacity in bins:
        terms = bin_terms[b]
        if terms:
            rows.append((terms, -math.inf, float(capacity)))
    sol, x = solve_rounded(
        c, rows, upper, integer, seed=seed, time_limit_s=time_limit_s, what="placement"
    )
    # requests of equal merit and the same shape take their placements in the seeded order
    sol, x = seeded_ties(
        sol,
        x,
        c,
        w,
        [(m, n, lo, allowed, ok) for _, m, n, lo, allowed, ok, _ in items],
        [
            [col for b in items[i][4] if (i, b) in x_col for col in (x_col[(i, b)], n_col[(i, b)])]
            for i in range(len(items))
        ],
    )
    placements: dict[str, Placement | None] = {it[0]: None for it in items}
    for (i, b), col in n_col.items():
        if x[x_col[(i, b)]] > 0.5 and x[col] > 0.5:
            placements[items[i][0]] = Placement(b, int(x[col]), items[i][4].index(b))
    used: dict[str, int] = dict.fromkeys(cap, 0)
    for p in placements.values():
        if p is not None:
            used[p.bin_id] += p.count
    if all(used[b] <= cap[b] for b in cap):
        # stopped by the time limit (perhaps before any solution), or "optimal" with room
        # left (HiGHS on costs of 1e-9 a seat, sessions of billions of seats, seated one
        # request of three that fitted together, tests/optim/test_trial_instances_11.py):
        # every request left out that still fits goes, best weight first, into its first
        # choice with room for its least count; then the room left tops the placements up,
        # best worth of a unit (weight over count) first. Every weight is positive, so
        # each step only adds to the objective
        xs = np.zeros(len(c))
        filled_in = False
        for (i, b), col in n_col.items():
            p = placements[items[i][0]]
            if p is not None and p.bin_id == b:
                xs[x_col[(i, b)]], xs[col] = 1.0, float(p.count)
        for i in sorted(range(len(items)), key=lambda i: -float(w[i])):
            rid, _, count, min_count, allowed, feasible, _reason = items[i]
            if placements[rid] is not None or not feasible:
                continue
            for rank, b in enumerate(allowed):
                if (i, b) in n_col and cap[b] - used[b] >= min_count:
                    placements[rid] = Placement(b, min_count, rank)
                    used[b] += min_count
                    filled_in = True
                    xs[x_col[(i, b)]], xs[n_col[(i, b)]] = 1.0, float(min_count)
                    break
        for i in sorted(range(len(items)), key=lambda i: -float(w[i]) / items[i][2]):
            rid, count = items[i][0], items[i][2]
            p = placements[rid]
            if p is None or p.count >= count or cap[p.bin_id] <= used[p.bin_id]:
                continue
            k = min(count, p.count + cap[p.bin_id] - used[p.bin_id])
            used[p.bin_id] += k - p.count
            placements[rid] = Placement(p.bin_id, k, p.preference_rank)
            xs[n_col[(i, p.bin_id)]] = float(k)
            filled_in = True
        if filled_in or sol.status != "optimal":
            obj = float(np.dot(c, xs))
            bound = max(sol.bound, obj)  # (an "optimal" solve's bound was its objective)
            sol = replace(sol, objective=obj, bound=bound, gap=_gap(obj, bound, True))
    explanations: dict[str, Explanation] = {}
    for rid, _, count, min_count, allowed, feasible, reason in items:
        p = placements[rid]
        if p is not None:
            where = (
                M_("first choice")
                if p.preference_rank == 0
                else M_("choice %(n)s", n=p.preference_rank + 1)
            )
            code = AWARDED if p.count == count else AWARDED_PARTIALLY
            explanations[rid] = explained(
                code,
                filled(words.placed, n=p.count, count=count, bin=p.bin_id, where=where),
                (p.bin_id,),
            )
        elif not feasible:
            explanations[rid] = (
                explained(NOT_FEASIBLE, M_("site not suitable: %(reason)s", reason=message(reason)))
                if reason
                else explained(NOT_FEASIBLE, M_("site not suitable"))
            )
        elif not allowed:
            explanations[rid] = explained(NOT_FEASIBLE, filled(words.unmatched))
        else:
            full = [b for b in allowed if cap[b] - used[b] < min_count]
            if full:
                explanations[rid] = explained(
                    words.none_code,
                    filled(words.full, n=min_count, bins=", ".join(full)),
                    tuple(full),
                )
            else:
                explanations[rid] = solver_gap()
    return PlacementResult(
        placements={rid: placements[rid] for rid in given},
        explanations={rid: explanations[rid] for rid in given},
        **mip_figures(sol),
    )
