"""Caps per group: at most so many awards, or so much capacity, to each country (or income
group, or UN region) of the applicants.

A ``GroupCap`` names the groups it caps (``Group`` names of the problem: one group per
country, say) and holds each of them to at most ``max_awards`` awards and at most
``max_amount`` of the capacity of its pools. Awards are counted as a chair reads "at most
two awards per country": proposals awarded, whatever the number of their requests awarded
(a proposal asking for a place and a stipend is one award). In the integer program each
capped group adds at most two rows, built here (:func:`cap_rows`) and nowhere else::

    sum_{proposals q of group g}                  a_q    <= max_awards
    sum_{requests i of group g} (sum_{p in pools} d_ip) f_i <= max_amount

where ``a_q`` is the proposal's award column when it has one (a single request, or one
bundle), else a binary column of the proposal with ``y <= a_q`` for each of its award
columns ``y`` (one such column per proposal, shared by every cap).

A row is left out when every candidate of the group fits under it together, so a policy
without caps (or with caps nobody reaches) builds the very model it built before.
:func:`cap_errors` is the result's check of these rows, :func:`cap_reached` the
explanation of a request the cap kept out ("the cap of 2 award(s) per country was
reached").

Pure: the problem and the result are read through their attributes (no import of the
model at run time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opencall.optim.messages import M_, Message, listing, message, number, unit

if TYPE_CHECKING:
    from opencall.optim.allocation.model import AllocationProblem, Request

GROUP_CAP_REACHED = "group_cap_reached"

#: tolerance of the check (relative to the cap) and of the explanation
_TOL = 1e-6

Row = tuple[dict[int, float], float, float]


@dataclass(frozen=True)
class GroupCap:
    """At most ``max_awards`` awards and ``max_amount`` of ``pools`` to each of ``groups``.

    ``per`` says what a group is, in the explanation's words ("country", "income group",
    "UN region"); ``groups`` names the problem's groups the cap holds (each on its own);
    ``pools=None`` counts the amount over every pool (they must then share one unit).
    ``nationality_based`` caps may not be used by a nationality-blind policy. Checked by
    the policy that holds it (:func:`cap_value_error`).
    """

    per: str
    groups: tuple[str, ...]
    max_awards: int | None = None
    max_amount: float | None = None
    pools: tuple[str, ...] | None = None
    nationality_based: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        if self.pools is not None:
            object.__setattr__(self, "pools", tuple(self.pools))


def cap_value_error(cap: object, nationality_blind: bool) -> str | None:
    """Why ``cap`` cannot be a policy's group cap, or None."""
    if not isinstance(cap, GroupCap):
        return f"group_caps must hold GroupCap, got {cap!r}"
    if cap.max_awards is None and cap.max_amount is None:
        return f"cap per {cap.per}: give max_awards, max_amount or both"
    k = cap.max_awards
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        return f"cap per {cap.per}: max_awards must be an integer >= 1, got {k!r}"
    a = cap.max_amount
    if a is not None and not (math.isfinite(a) and a > 0):
        return f"cap per {cap.per}: max_amount must be a positive number, got {a!r}"
    if cap.pools is not None and not cap.pools:
        return f"cap per {cap.per}: pools must be None (all pools) or a non-empty tuple"
    if nationality_blind and cap.nationality_based:
        return (
            f"the policy is nationality_blind, but the cap per {cap.per} is based on "
            f"nationality; a nationality-blind call may not use groups derived from it"
        )
    return None


def validate_caps(problem: AllocationProblem) -> list[str]:
    """Sentences for the caps of ``problem`` that do not fit it (unknown groups or pools,
    an amount over pools of different units, a nationality-derived group in a blind
    policy); empty when they all fit."""
    out: list[str] = []
    groups = {g.name: g for g in problem.groups}
    units = {p.id: p.unit for p in problem.pools}
    for cap in problem.policy.group_caps:
        for name in cap.groups:
            group = groups.get(name)
            if group is None:
                out.append(f"cap per {cap.per} names unknown group {name!r}")
            elif group.from_nationality and not cap.nationality_based:
                out.append(
                    f"group {name!r} is derived from nationality, so its cap must be "
                    f"declared nationality_based=True"
                )
        pools = cap_pools(problem, cap)
        unknown = [pid for pid in pools if pid not in units]
        if unknown:
            out.append(f"cap per {cap.per} names unknown pool {unknown[0]!r}")
        elif cap.max_amount is not None and len({units[pid] for pid in pools}) > 1:
            out.append(f"cap per {cap.per}: max_amount spans pools with different units")
    return out


def cap_pools(problem: AllocationProblem, cap: GroupCap) -> tuple[str, ...]:
    """The pools whose amounts count toward ``cap.max_amount``."""
    return tuple(p.id for p in problem.pools) if cap.pools is None else cap.pools


def cap_members(problem: AllocationProblem, cap: GroupCap) -> Iterable[tuple[str, frozenset[str]]]:
    groups = {g.name: g for g in problem.groups}
    for name in cap.groups:
        yield name, groups[name].proposal_ids


def cap_rows(
    problem: AllocationProblem,
    cand: Iterable[int],
    y_col: Mapping[int, int],
    f_col: Mapping[int, int],
    at_most: Callable[[dict[int, float], float], Row],
    new_column: Callable[[str], int],
) -> list[Row]:
    """The rows of every group cap over the candidate requests ``cand`` (their award
    columns ``y_col`` and fraction columns ``f_col``); ``at_most`` scales an amount row,
    ``new_column`` adds a binary column to the program for a proposal's award (where it
    has several award columns) and returns its index. A row every candidate of the group fits
    under together is left out."""
    reqs = problem.requests
    cand = list(cand)
    rows: list[Row] = []
    # a proposal's award columns (a bundle's members share one), and the column that says
    # the proposal is awarded: its own where it has one, else a new one above them all
    columns: dict[str, set[int]] = {}
    for i in cand:
        columns.setdefault(reqs[i].proposal_id, set()).add(y_col[i])
    awarded: dict[str, int] = {}

    def award_column(proposal: str) -> int:
        if proposal not in awarded:
            cols = columns[proposal]
            if len(cols) == 1:
                awarded[proposal] = next(iter(cols))
            else:
                a = awarded[proposal] = new_column(proposal)
                rows.extend(({y: 1.0, a: -1.0}, -math.inf, 0.0) for y in sorted(cols))
        return awarded[proposal]

    for cap in problem.policy.group_caps:
        pools = cap_pools(problem, cap)
        for _, members in cap_members(problem, cap):
            mine = [i for i in cand if reqs[i].proposal_id in members]
            if cap.max_awards is not None:
                proposals = sorted({reqs[i].proposal_id for i in mine})
                if len(proposals) > cap.max_awards:
                    count = {award_column(q): 1.0 for q in proposals}
                    rows.append((count, -math.inf, float(cap.max_awards)))
            if cap.max_amount is not None:
                terms: dict[int, float] = {}
                for i in mine:
                    d = sum(reqs[i].demand.get(pid, 0.0) for pid in pools)
                    if d > 0:
                        terms[f_col[i]] = terms.get(f_col[i], 0.0) + d
                if terms and sum(terms.values()) > cap.max_amount * (1 + 1e-12):
                    rows.append(at_most(terms, float(cap.max_amount)))
    return rows


@dataclass
class _Held:
    """What each capped group holds: its proposals awarded and its amount, per cap."""

    awards: dict[tuple[int, str], set[str]]
    amount: dict[tuple[int, str], float]


def held(problem: AllocationProblem, fractions: Mapping[str, float]) -> _Held:
    """The awards and amounts each capped group holds under ``fractions``."""
    out = _Held({}, {})
    for k, cap in enumerate(problem.policy.group_caps):
        pools = cap_pools(problem, cap)
        for name, members in cap_members(problem, cap):
            keys: set[str] = set()
            amount = 0.0
            for r in problem.requests:
                f = fractions.get(r.id, 0.0)
                if r.proposal_id in members and f > _TOL:
                    keys.add(r.proposal_id)
                    amount += f * sum(r.demand.get(pid, 0.0) for pid in pools)
            out.awards[(k, name)] = keys
            out.amount[(k, name)] = amount
    return out


def cap_errors(
    problem: AllocationProblem,
    fractions: Mapping[str, float],
    amounts: Mapping[str, Mapping[str, float]],
) -> list[str]:
    """One sentence per group over one of its caps under the awarded ``fractions`` and
    ``amounts`` (request id -> pool -> amount)."""
    state = held(problem, fractions)
    errors: list[str] = []
    for k, cap in enumerate(problem.policy.group_caps):
        pools = cap_pools(problem, cap)
        for name, members in cap_members(problem, cap):
            n = len(state.awards[(k, name)])
            if cap.max_awards is not None and n > cap.max_awards:
                errors.append(f"{cap.per} {name}: {n} awards > cap {cap.max_awards}")
            amount = sum(
                amounts.get(r.id, {}).get(pid, 0.0)
                for r in problem.requests
                if r.proposal_id in members
                for pid in pools
            )
            if cap.max_amount is not None and amount > cap.max_amount * (1 + _TOL) + _TOL:
                errors.append(f"{cap.per} {name}: amount {amount:.6g} > cap {cap.max_amount:.6g}")
    return errors


def cap_reached(
    problem: AllocationProblem,
    state: _Held,
    r: Request,
    least: float,
    readable: Callable[[float], str],
) -> tuple[Message, tuple[str, ...]] | None:
    """Why ``r`` (asking at least ``least`` of its demand) was kept out by a group cap its
    proposal's group had reached, as a message (``optim.messages``) and the pools
    concerned; None when no cap stood in its way. ``r`` may be a bundle's combined request."""
    units = {p.id: p.unit for p in problem.pools}
    for k, cap in enumerate(problem.policy.group_caps):
        pools = cap_pools(problem, cap)
        for name, members in cap_members(problem, cap):
            if r.proposal_id not in members:
                continue
            mine = state.awards[(k, name)]
            # a proposal already awarded is counted already: another of its requests
            # adds no award
            if (
                cap.max_awards is not None
                and r.proposal_id not in mine
                and len(mine) >= cap.max_awards
            ):
                return _awards_cap(cap.per, cap.max_awards), ()
            need = least * sum(r.demand.get(pid, 0.0) for pid in pools)
            if (
                cap.max_amount is not None
                and need > 0
                and state.amount[(k, name)] + need > cap.max_amount * (1 + _TOL) + _TOL
            ):
                # "12.5 h": the number and its unit, each said in the reader's words
                amount = listing([number(readable(cap.max_amount)), unit(units[pools[0]])], " ")
                pool = pools[0] if cap.pools is not None else None
                return _amount_cap(cap.per, amount, pool), pools
    return None


#: the sentences of a reached cap: one message id for each grouping the explanations name
#: (translated whole), and under ``None`` the one for any other, which says its ``per``
_AWARDS_CAP: dict[str | None, Message] = {
    "country": M_("the cap of %(k)s award(s) per country was reached"),
    "income group": M_("the cap of %(k)s award(s) per income group was reached"),
    "UN region": M_("the cap of %(k)s award(s) per UN region was reached"),
    None: M_("the cap of %(k)s award(s) per %(per)s was reached"),
}
_AMOUNT_CAP: dict[str | None, Message] = {
    "country": M_("the cap of %(amount)s per country was reached"),
    "income group": M_("the cap of %(amount)s per income group was reached"),
    "UN region": M_("the cap of %(amount)s per UN region was reached"),
    None: M_("the cap of %(amount)s per %(per)s was reached"),
}
_POOL_AMOUNT_CAP: dict[str | None, Message] = {
    "country": M_("the cap of %(amount)s of %(pool)s per country was reached"),
    "income group": M_("the cap of %(amount)s of %(pool)s per income group was reached"),
    "UN region": M_("the cap of %(amount)s of %(pool)s per UN region was reached"),
    None: M_("the cap of %(amount)s of %(pool)s per %(per)s was reached"),
}


def _cap_sentence(sentences: Mapping[str | None, Message], per: str, **params: Any) -> Message:
    """The sentence of ``sentences`` for the grouping ``per``, filled in with ``params``."""
    if per in sentences:
        return message(sentences[per]["msg"], **params)
    return message(sentences[None]["msg"], **params, per=per)


def _awards_cap(per: str, k: int) -> Message:
    """The sentence of a cap on awards per ``per`` (a grouping in the explanation's words)."""
    return _cap_sentence(_AWARDS_CAP, per, k=k)


def _amount_cap(per: str, amount: dict[str, Any], pool: str | None) -> Message:
    """The sentence of a cap on an amount (of one resource's, ``pool``) per ``per``."""
    if pool is None:
        return _cap_sentence(_AMOUNT_CAP, per, amount=amount)
    return _cap_sentence(_POOL_AMOUNT_CAP, per, amount=amount, pool=pool)
