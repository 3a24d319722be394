"""Random slot placements of the twenty-second round (trialopt22): the twenty-first round's
instances (``trial21``: items out of service, shared resources, bundles, a zone's change of
the clocks) with the weights of about half the units (a bundle's awards alike) multiplied
by ``1e-12`` (``apart``) or by ``1e12`` (``apart_up``): weights 1e12 apart within one
problem. The exact peer (OR-Tools CP-SAT, ``trial21.peer``) solves it in whole numbers
(twice the weights in units of the lighter ones), and reports the heavier and the lighter
units' value apart; each instance is a function of its seed.
"""

from __future__ import annotations

import dataclasses as dc
import random

from tests.optim import trial21 as t21

from opencall.optim import slots as sl

#: the family -> the factor on the lighter, or heavier, units' weights
FACTORS = {"apart": 1e-12, "apart_up": 1e12}
SCALE = 10**12
BASE = ("items", "items_zone", "items_tight")


def instance(seed: int, family: str, base: str) -> sl.SlotProblem:
    """``trial21.instance(seed, base)`` with each unit (a bundle, or an award alone) chosen
    with probability 1/2, by ``seed``, to have its weights times ``FACTORS[family]``."""
    p = t21.instance(seed, base)
    rng = random.Random(seed * 31 + BASE.index(base) * 7 + (family == "apart_up"))
    f = FACTORS[family]
    moved: dict[str, bool] = {}
    awards = []
    for a in p.awards:
        key = a.bundle or a.id
        if key not in moved:
            moved[key] = rng.random() < 0.5
        awards.append(dc.replace(a, weight=a.weight * f) if moved[key] else a)
    return sl.SlotProblem(p.resources, tuple(awards), p.exclusive)


def heavy(problem: sl.SlotProblem, aid: str) -> bool:
    """Whether award ``aid`` is of the heavier units (its weight at least 1e-6)."""
    return next(a for a in problem.awards if a.id == aid).weight >= 1e-6


def split(problem: sl.SlotProblem, placed: set[str]) -> list[float]:
    """The value of the ``placed`` awards, [heavier units', lighter units'], each in the
    units of its own weights (the lighter ones' times 1e12 in ``apart``, the heavier ones'
    divided by 1e12 in ``apart_up``)."""
    out = [0.0, 0.0]
    up = max(a.weight for a in problem.awards) > 1e6
    for a in problem.awards:
        if a.id in placed:
            h = heavy(problem, a.id) if not up else a.weight > 1e6
            w = a.weight / SCALE if up and h else a.weight * SCALE if not up and not h else a.weight
            out[0 if h else 1] += w * a.slots
    return out


def peer(problem: sl.SlotProblem) -> list[float]:
    """The most value any placement holds, by CP-SAT on whole weights (twice the weights in
    the lighter units' scale: every weight of the generator is a multiple of 1/2), as
    [heavier units', lighter units'] (``split``'s units)."""
    up = max(a.weight for a in problem.awards) > 1e6
    whole = []
    for a in problem.awards:
        h = a.weight > 1e6 if up else heavy(problem, a.id)
        base = a.weight / SCALE if up and h else a.weight * SCALE if not up and not h else a.weight
        k = round(2 * base) * (SCALE if h else 1)
        whole.append(dc.replace(a, weight=k / 1000))  # t21.peer counts weight x 1000
    total = round(t21.peer(sl.SlotProblem(problem.resources, tuple(whole), problem.exclusive))
                  * 1000)  # fmt: skip
    return [total // SCALE / 2, total % SCALE / 2]
