"""The instances whose exact peers' answers are recorded (``tests/optim/recorded.py``), per
test file, with the peer that answers each: the one list the tests and
``bench/record_peers.py`` read, so the recorded keys and the tests' cannot drift apart.

Peers (written from the problem statements, ``trial18``/``trial19``):

- ``slot_value``: the most value, OR-Tools CP-SAT (one worker, seed 0), ``t18.peer_value``;
- ``slot_runs``: the most value and then the fewest runs at it, ``t18.peer(fewest_runs=True)``;
- ``alloc``: the best ``sum w f`` by ``scipy.optimize.milp`` at gap 0, ``t19.alloc_peer``;
- ``assign``: the most reviews, then the most affinity, two ``milp`` solves,
  ``t19.assignment_peer``;
- ``slot_apart``: the most value of a problem whose weights are 1e12 apart, CP-SAT on whole
  weights, the heavier and the lighter units' value apart, ``t22.peer``;
- ``slot_ratio``: the most whole value of a problem whose weights are a ratio apart, CP-SAT
  on whole weights, ``t23b.peer``.
"""

from __future__ import annotations

import dataclasses as dc
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from tests.optim import recorded
from tests.optim import trial18 as t18
from tests.optim import trial19 as t19
from tests.optim import trial20 as t20
from tests.optim import trial22 as t22
from tests.optim import trial23b as t23b

from opencall.optim import slots as sl


@dc.dataclass(frozen=True)
class Case:
    key: str
    peer: str  # one of PEERS
    make: Callable[[], Any]  # the instance, from its generator


def _slot_runs(problem: sl.SlotProblem) -> list[float]:
    best, fewest = t18.peer(problem, fewest_runs=True)
    return [best, fewest]


#: peer name -> the function answering an instance (its answer as JSON data)
PEERS: dict[str, Callable[[Any], Any]] = {
    "slot_value": t18.peer_value,
    "slot_runs": _slot_runs,
    "alloc": t19.alloc_peer,
    "assign": lambda pb: list(t19.assignment_peer(pb)),
    "slot_apart": t22.peer,
    "slot_ratio": t23b.peer,
}


def slot20(family: str, seed: int) -> sl.SlotProblem:
    """A slot instance of the twentieth round's families or, for the others, the 19th's."""
    gen = t20.slot_instance if family in t20.SLOT_FAMILIES else t19.slot_instance
    return gen(seed, family)


# seeds whose peer proves its optimum in a second or two (dateline 5's CP-SAT peer took 20 s)
SLOT_SEEDS_20 = {"heavy": range(6), "tiny": (1, 2, 3), "near": (0, 1, 2, 4, 5),
                 "ties": range(6), "dateline": (0, 1, 2, 3, 4, 6)}  # fmt: skip
SLOTS_20 = [(f, s) for f in t20.SLOT_FAMILIES for s in SLOT_SEEDS_20[f]]
# the 19th round's many 7 and long 9 (value level by CP-SAT) were here too: the same solve
# and the same assertions as test_trial_instances_19's
# test_levels_highs_took_its_whole_limit_on_are_proved_by_cp_sat, which keeps them (speedopt21)
ENGINES_20 = [("tiny", 0, "highs"), ("tiny", 1, "highs"), ("near", 2, "highs"),
              ("near", 3, "cp-sat")]  # fmt: skip


def placements_digest(schedules: Sequence[sl.SlotSchedule]) -> str:
    """The SHA-256 of the schedules' placements (each award's starts, sorted by id)."""
    out = [repr(sorted((a, [t.isoformat() for t in ts]) for a, ts in r.starts.items()))
           for r in schedules]  # fmt: skip
    return hashlib.sha256("|".join(out).encode()).hexdigest()


def _slot_case(family: str, seed: int) -> Case:
    return Case(f"slots/{family}/{seed}", "slot_value", lambda: slot20(family, seed))


def _trial20() -> list[Case]:
    out = {c.key: c for c in (_slot_case(f, s) for f, s in SLOTS_20)}
    out |= {c.key: c for c in (_slot_case(f, s) for f, s, _ in ENGINES_20)}
    for fam in t20.ALLOC_FAMILIES:
        for seed in range(10):
            out[f"alloc/{fam}/{seed}"] = Case(
                f"alloc/{fam}/{seed}", "alloc", lambda f=fam, s=seed: t20.alloc_instance(s, f)
            )
    for fam in t20.ASSIGN_FAMILIES:
        for seed in range(10):
            out[f"assign/{fam}/{seed}"] = Case(
                f"assign/{fam}/{seed}",
                "assign",
                lambda f=fam, s=seed: t20.assignment_instance(s, f),
            )
    return list(out.values())


def tight_variant(factor: float, together: bool) -> sl.SlotProblem:
    """``tight`` 4 of the 19th round (14 awards, windows of 0-3 spare slots) with every
    weight times ``factor``, and with ``together`` its first two awards one together-bundle."""
    problem = t19.slot_instance(4, "tight")
    awards = [dc.replace(a, weight=a.weight * factor) for a in problem.awards]
    if together:
        awards[:2] = [dc.replace(a, proposal="zz", bundle="b", together=True) for a in awards[:2]]
    return sl.SlotProblem(problem.resources, tuple(awards))


def _trial19() -> list[Case]:
    out = []
    for fam in t19.FAMILIES:
        for seed in range(5):
            # the fewest runs by CP-SAT too, but for ``many`` (its runs level is CP-SAT's weak
            # side: 30 awards on 10 resources ran for minutes; HiGHS proves ours)
            peer = "slot_value" if fam == "many" else "slot_runs"
            out.append(Case(f"slots/{fam}/{seed}", peer,
                            lambda f=fam, s=seed: t19.slot_instance(s, f)))  # fmt: skip
    for fam, seed in (("many", 7), ("long", 9)):
        out.append(Case(f"slots/{fam}/{seed}", "slot_value",
                        lambda f=fam, s=seed: t19.slot_instance(s, f)))  # fmt: skip
    out.append(Case("tight4/x1", "slot_value", lambda: tight_variant(1.0, False)))
    out.append(Case("tight4/x1/together", "slot_value", lambda: tight_variant(1.0, True)))
    out += [Case(f"alloc/{s}", "alloc", lambda s=s: t19.alloc_instance(s)) for s in range(40)]
    out += [Case(f"assign/{s}", "assign", lambda s=s: t19.assignment_instance(s))
            for s in range(30)]  # fmt: skip
    return out


#: the trial22 instances held to the peer: (family, base family, seed)
APART_22 = [("apart", b, s) for b in t22.BASE for s in range(6)] + [
    ("apart_up", b, s) for b in t22.BASE for s in range(3)
]


def _trial22() -> list[Case]:
    return [Case(f"slots/{f}/{b}/{s}", "slot_apart",
                 lambda f=f, b=b, s=s: t22.instance(s, f, b)) for f, b, s in APART_22]  # fmt: skip


#: the trial23b instances held to the peer: (ratio, base family, seed); the first five lost
#: a lighter award before trialopt23b's fix (bench/bench_trial23b.py, 40 seeds a family)
RATIO_23B = [(1e7, "items_zone", 2), (1e7, "items_zone", 13), (1e7, "items_tight", 30),
             (1e6, "items_tight", 25), (1e6, "items_tight", 30)] + [
    (r, b, s) for r in (1e6, 1e7) for b in t23b.BASE for s in range(40, 44)
]  # fmt: skip


def _trial23b() -> list[Case]:
    return [Case(f"slots/{r:.0e}/{b}/{s}", "slot_ratio",
                 lambda r=r, b=b, s=s: t23b.instance(s, b, r)) for r, b, s in RATIO_23B]  # fmt: skip


#: file name (``tests/optim/recorded/<name>.json``) -> its cases
SETS: dict[str, Callable[[], list[Case]]] = {
    "trial19": _trial19,
    "trial20": _trial20,
    "trial22": _trial22,
    "trial23b": _trial23b,
}


def cases(name: str) -> dict[str, Case]:
    """The cases of ``name``, by key."""
    return {c.key: c for c in SETS[name]()}


def stale(name: str) -> list[str]:
    """What in ``tests/optim/recorded/<name>.json`` no longer answers ``cases(name)``: a key
    listed but not recorded or recorded but not listed, an instance whose generator now
    gives another (its digest), a peer's answer not proved optimal. Empty when all holds."""
    now, rec = cases(name), recorded.load(name)
    out = [f"not recorded: {k}" for k in sorted(set(now) - set(rec))]
    out += [f"not listed: {k}" for k in sorted(set(rec) - set(now))]
    out += [f"another instance: {k}" for k, c in now.items()
            if k in rec and rec[k]["digest"] != recorded.digest(c.make())]  # fmt: skip
    out += [f"{e['status']}: {k}" for k, e in rec.items() if e["status"] != "OPTIMAL"]
    return out
