"""Samples: shipments of lunar-sample mass per sample type from inventory (``plan_shipments``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from opencall.optim import limits
from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    AllocationResult,
    Explanation,
    Pool,
    Request,
    solve_allocation,
)
from opencall.optim.logistics._common import freeze
from opencall.optim.messages import M_, Message, filled, listing, render

INVENTORY_EXHAUSTED = "inventory_exhausted"

#: the allocation's "pool(s)" sentences of a request left out for want of capacity, said of
#: sample types (each renders to the allocation's English with "sample type(s)" for
#: "pool(s)"), so that the rewritten explanation keeps a message id a page can translate
_SAMPLE_WORDS: dict[str, Message] = {
    "pool(s) exhausted by higher-ranked requests: %(names)s": M_(
        "sample type(s) exhausted by higher-ranked requests: %(names)s"
    ),
    "pool(s) %(pools)s exhausted by the best combination of awards, including %(why)s": M_(
        "sample type(s) %(pools)s exhausted by the best combination of awards, including %(why)s"
    ),
}


def _inventory_exhausted(ex: Explanation) -> Explanation:
    """The allocation's explanation ``ex`` (a pool exhausted) said of sample types, with its
    message id (the sentences of ``_SAMPLE_WORDS``; any other "pool(s)" sentence becomes
    one naming the exhausted types)."""
    msg = ex.message
    if msg is not None and msg["msg"] in _SAMPLE_WORDS:
        said = filled(_SAMPLE_WORDS[msg["msg"]], **(msg.get("params") or {}))
    elif msg is not None and "pool(s)" not in msg["msg"]:
        said = dict(msg)
    else:
        said = M_("not enough left of sample type(s) %(pools)s", pools=listing(list(ex.pools)))
    return Explanation(INVENTORY_EXHAUSTED, render(said), ex.pools, said)


@dataclass(frozen=True)
class SampleType:
    id: str
    inventory_mg: float
    label: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.inventory_mg) and self.inventory_mg >= 0):
            raise ValueError(f"sample type {self.id!r}: inventory must be finite and >= 0")


@dataclass(frozen=True)
class SampleLoan:
    """An awarded loan: ``masses`` maps sample type to mg; partial shipments down to
    ``min_fraction`` of every mass are allowed when it is below 1. A loan of nothing (no
    mass above 0) is refused when made: it would ship a parcel with no items."""

    id: str
    merit: float
    recipient: str
    masses: Mapping[str, float]
    min_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "masses", dict({str(k): float(v) for k, v in self.masses.items()}))
        if not any(mg > 0 for mg in self.masses.values()):
            raise ValueError(f"loan {self.id!r}: no sample mass above 0 mg to lend")


@dataclass(frozen=True)
class SampleProblem:
    types: tuple[SampleType, ...]
    loans: tuple[SampleLoan, ...]

    def __post_init__(self) -> None:
        freeze(self, ("types", "sample type ids"), ("loans", "loan ids"))
        self.as_allocation()  # validates masses and fractions with the allocation rules

    def as_allocation(self) -> AllocationProblem:
        pools = tuple(Pool(t.id, t.inventory_mg, unit="mg", kind="sample") for t in self.types)
        reqs = tuple(
            Request(
                id=loan.id,
                proposal_id=loan.id,
                pi_id=loan.recipient,
                merit=loan.merit,
                demand=loan.masses,
                min_fraction=loan.min_fraction,
            )
            for loan in self.loans
        )
        partial = any(loan.min_fraction < 1.0 for loan in self.loans)
        policy = AllocationPolicy(
            allow_partial=partial,
            min_fraction=min((loan.min_fraction for loan in self.loans), default=1.0),
        )
        return AllocationProblem(pools, reqs, policy)


@dataclass(frozen=True)
class Shipment:
    loan_id: str
    recipient: str
    fraction: float
    items: tuple[tuple[str, float], ...]  # (sample type, mg)


@dataclass(frozen=True)
class ShipmentPlan:
    shipments: tuple[Shipment, ...]
    remaining_mg: Mapping[str, float]
    explanations: Mapping[str, Explanation]
    status: str
    allocation: AllocationResult

    def check(self, problem: SampleProblem) -> list[str]:
        """Every broken rule (a shipment over its loan or the inventory, a loan without an
        explanation, the allocation's own checks); empty when the plan is valid."""
        errors = list(self.allocation.check(problem.as_allocation()))
        inventory = {t.id: t.inventory_mg for t in problem.types}
        shipped = dict.fromkeys(inventory, 0.0)
        loans = {loan.id: loan for loan in problem.loans}
        for s in self.shipments:
            loan = loans.get(s.loan_id)
            if loan is None:
                errors.append(f"shipment for unknown loan {s.loan_id}")
                continue
            for tid, mg in s.items:
                if mg < 0 or mg > loan.masses.get(tid, 0.0) * (1 + 1e-9):
                    errors.append(f"shipment {s.loan_id}: {mg} mg of {tid} exceeds the loan")
                shipped[tid] = shipped.get(tid, 0.0) + mg
        for tid, mg in shipped.items():
            if mg > inventory.get(tid, 0.0) * (1 + 1e-9) + 1e-9:
                errors.append(f"sample type {tid}: {mg:.6g} mg shipped > {inventory[tid]} mg")
        for loan in problem.loans:
            if loan.id not in self.explanations:
                errors.append(f"loan {loan.id}: no explanation")
        return errors


#: awarded masses of a type whose exact sum passes its inventory by no more than this
#: fraction of it are floating point's spelling of the same decimal masses (three loans of
#: 0.1 mg from 0.3 mg), shipped as awarded; beyond it, solver round-off is clipped
_SAME_MASS = 1e-12


def _shipped(
    problem: SampleProblem, result: AllocationResult, inventory: Mapping[str, float]
) -> dict[str, tuple[tuple[str, float], ...]]:
    """Each awarded loan's items (sample type, mg), by loan id. Solver round-off (a few
    1e-8 of a mass) must never ship more than the inventory holds: where the awarded masses
    of a type, added exactly (``math.fsum``), pass its inventory by more than
    ``_SAME_MASS`` of it, each is cut to what is left, the loans taken by id (whatever order
    they came in: taken in the given order, the last loan shipped 0.09999999999999998 of
    its 0.1 mg, and which one depended on the order); elsewhere each ships as awarded. What
    is left of an item after a cut is dropped only when it is round-off beside the loan's
    own mass (an absolute 1e-6 mg dropped every item of a loan of 5e-7 mg, which then
    shipped nothing although awarded)."""
    awarded = sorted(
        (loan for loan in problem.loans if result.fractions[loan.id] > 0), key=lambda x: x.id
    )
    total = {
        tid: math.fsum(result.amounts[loan.id].get(tid, 0.0) for loan in awarded if tid in loan.masses)
        for tid in inventory
    }  # fmt: skip
    cut = {tid: total[tid] > inventory[tid] * (1.0 + _SAME_MASS) for tid in inventory}
    remaining = dict(inventory)
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for loan in awarded:
        items: list[tuple[str, float]] = []
        for tid in sorted(loan.masses):
            mg = result.amounts[loan.id][tid]
            if cut[tid]:
                mg = min(mg, max(remaining[tid], 0.0))
            if mg > 1e-6 * loan.masses[tid]:
                items.append((tid, mg))
                remaining[tid] -= mg
        out[loan.id] = tuple(items)
    return out


def plan_shipments(
    problem: SampleProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> ShipmentPlan:
    """Turn awarded loans into shipments that never exceed the inventory of any type.

    This is the allocation model with one pool per sample type (capacity = inventory in mg);
    when the inventory cannot cover every loan, loans of lower merit are cut (down to their
    ``min_fraction``) or dropped, and the explanation names the exhausted sample types.

    Parameters
    ----------
    problem : SampleProblem
        The sample types with their inventory and the awarded loans.
    seed : int, optional
        Seeds the allocation's tie-break and solver.
    time_limit_s : float, optional
        The solver's time limit in seconds.

    Returns
    -------
    ShipmentPlan
        One shipment per loan that gets something (mg per sample type, never more than the
        inventory left), the inventory remaining, an explanation per loan and the
        underlying allocation result.
    """
    seed, time_limit_s = limits.solver_run(seed, time_limit_s)
    result = solve_allocation(
        problem.as_allocation(), seed=seed, mip_rel_gap=1e-6, time_limit_s=time_limit_s
    )
    inventory = {t.id: t.inventory_mg for t in problem.types}
    explanations: dict[str, Explanation] = {}
    for loan in problem.loans:
        ex = result.explanations[loan.id]
        if ex.code == "not_awarded_pool_exhausted":
            ex = _inventory_exhausted(ex)
        explanations[loan.id] = ex
    shipped = _shipped(problem, result, inventory)
    shipments = tuple(
        Shipment(loan.id, loan.recipient, result.fractions[loan.id], shipped[loan.id])
        for loan in problem.loans
        if result.fractions[loan.id] > 0
    )
    taken: dict[str, list[float]] = {tid: [] for tid in inventory}
    for items in shipped.values():
        for tid, mg in items:
            taken[tid].append(mg)
    return ShipmentPlan(
        shipments=shipments,
        remaining_mg={tid: max(inventory[tid] - math.fsum(taken[tid]), 0.0) for tid in inventory},
        explanations=dict(explanations),
        status=result.status,
        allocation=result,
    )
