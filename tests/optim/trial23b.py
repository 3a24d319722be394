"""Random slot placements of the twenty-third round (trialopt23b): the twenty-first round's
instances (``trial21``: items out of service, shared resources, bundles, a zone's change of
the clocks) with about half the units' weights (a bundle's awards alike) divided by a ratio
``1e4``-``1e9``: weights that far apart within one problem, the lighter units together worth
more than ``2**-20`` of the heavier ones (one tier of value, ``slots.model.value_tiers``).
The exact peer (OR-Tools CP-SAT, ``trial21.peer``) solves it on whole weights (the heavier
ones times ``2 * ratio``, the lighter ones times 2); each instance is a function of its
seed, its base family and its ratio.
"""

from __future__ import annotations

import dataclasses as dc
import math
import random

from tests.optim import trial21 as t21

from opencall.optim import slots as sl

BASE = ("items", "items_zone", "items_tight")
#: a weight below this is a lighter unit's (every ratio tried is at least 1e4)
_LIGHT = 1e-3


def instance(seed: int, base: str, ratio: float) -> sl.SlotProblem:
    """``trial21.instance(seed, base)`` with each unit chosen with probability 1/2, by
    ``seed``, to have its weights divided by ``ratio``."""
    p = t21.instance(seed, base)
    rng = random.Random(seed)
    light: dict[str, bool] = {}
    awards = []
    for a in p.awards:
        key = a.bundle or a.id
        light.setdefault(key, rng.random() < 0.5)
        awards.append(dc.replace(a, weight=a.weight / ratio) if light[key] else a)
    return sl.SlotProblem(p.resources, tuple(awards), p.exclusive)


def whole_weights(problem: sl.SlotProblem) -> dict[str, int]:
    """Each award's weight as a whole number: twice its weight in the lighter units' scale
    (every weight of the generator is a multiple of 1/2; the ratio is the power of ten that
    makes the lighter weights whole)."""
    lights = [a.weight for a in problem.awards if 0 < a.weight < _LIGHT]
    ratio = 10 ** round(-math.log10(min(lights))) if lights else 1
    return {a.id: round(2 * a.weight * ratio) if a.weight < _LIGHT else round(2 * a.weight) * ratio
            for a in problem.awards}  # fmt: skip


def value(problem: sl.SlotProblem, placed: set[str]) -> int:
    """The whole value (``whole_weights``) of the ``placed`` awards."""
    w = whole_weights(problem)
    return sum(w[a.id] * a.slots for a in problem.awards if a.id in placed)


def peer(problem: sl.SlotProblem) -> int:
    """The most whole value (``whole_weights``) any placement holds, by CP-SAT."""
    w = whole_weights(problem)
    # t21.peer counts weight x 1000: the whole weight over 1000
    whole = tuple(dc.replace(a, weight=w[a.id] / 1000) for a in problem.awards)
    return round(t21.peer(sl.SlotProblem(problem.resources, whole, problem.exclusive)) * 1000)
