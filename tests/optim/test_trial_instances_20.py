"""The twentieth round of instances nobody showed us (trialopt20, ``tests/optim/trial20.py``):
slot placement with heavy-tailed sizes, many tiny proposals, capacity near the demand,
adversarial ties and zones around the date line; allocation with heavy-tailed demands, many
tiny proposals, capacity near the demand and tied merits; reviewer assignment with very
unequal limits, huge conflict sets and tied affinities. Each answer is held to a checker
written from the problem statement and to an exact peer's optimum (OR-Tools CP-SAT,
``scipy.optimize.milp``), recorded once beside each instance's digest by
``bench/record_peers.py`` (``tests/optim/recorded/trial20.json``, speedopt21); the seeds are
fixed. No timing is asserted: the engine of the slot program's value level is chosen by the
instance's LP gap (``optim.slots.exact._value_engine``), and the stages name it."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache, partial
from pathlib import Path

import pytest
from tests.optim import peer_cases as pc
from tests.optim import recorded
from tests.optim import trial18 as t18
from tests.optim import trial19 as t19
from tests.optim import trial20 as t20

from opencall.optim import allocation as al
from opencall.optim import assignment as asg
from opencall.optim import slots as sl
from opencall.optim.slots import exact

ROOT = Path(__file__).resolve().parents[2]


def _held_to_the_rules(problem: sl.SlotProblem, res: sl.SlotSchedule) -> None:
    assert t18.violations(problem, res.starts) == [], res.starts
    assert res.check(problem) == []
    assert res.value == pytest.approx(t18.value(problem, res.starts))
    assert set(res.starts) | set(res.unplaced) == {a.id for a in problem.awards}


@cache
def _solved(family: str, seed: int) -> sl.SlotSchedule:
    """``solve_slots`` (the value level's engine chosen by the LP gap), once per module for
    an instance several tests hold to their rules: they only read it. The limit is far above
    what the slowest of them needs (tiny 0 and near 3: 19 and 26 s of CPU to prove both
    levels): a solve stops when it has proved them, so the margin costs nothing on a quiet
    machine, and on a loaded one (a load of 13 on 2 cores took them past 120 s: speedopt21)
    the proof still comes in."""
    return sl.solve_slots(pc.slot20(family, seed), time_limit_s=600)


#: the exact peer's optimum for a key of ``peer_cases.cases("trial20")``, recorded by
#: ``bench/record_peers.py``; the instance's digest is checked first: a changed generator
#: fails there, never passes
_peer = partial(recorded.answer, "trial20")


def test_the_recorded_peers_answer_these_very_instances() -> None:
    # every recorded instance is regenerated and its digest compared: a generator (trial19,
    # trial20) changed since the peers ran means the fixture is stale; record it again
    assert pc.stale("trial20") == []


@pytest.mark.parametrize(("family", "seed"), pc.SLOTS_20)
def test_slot_families_against_cp_sat(family: str, seed: int) -> None:
    problem = t20.slot_instance(seed, family)
    best = _peer(f"slots/{family}/{seed}", problem)
    res = _solved(family, seed)
    greedy = sl.solve_slots(problem, exact=False)
    for r in (res, greedy):
        _held_to_the_rules(problem, r)
    assert res.method == "milp", res.stages
    assert res.value == pytest.approx(best), (family, seed)
    assert greedy.value <= best + 1e-9


@pytest.mark.parametrize(("family", "seed", "engine"), pc.ENGINES_20)
def test_the_value_level_s_engine_is_chosen_by_the_lp_gap(
    family: str, seed: int, engine: str
) -> None:
    # tiny 0 (85 one- and two-slot awards): the LP relaxation 84 against the greedy's 82
    # (2.4 %); CP-SAT proved the value in 1 s, then searched the seeded tie-break for 17 s
    # (main: "value: optimal 83 (cp-sat)" and the runs level left unsolved at a 30 s limit,
    # milp_time_limit); HiGHS's blended solve takes 6 s. many 7 and long 9 (14 and 16 %):
    # HiGHS took 4 and 10 s, CP-SAT under one (held in test_trial_instances_19, where the
    # same solve was: pc.ENGINES_20). near 3 (4.2 %): HiGHS stopped at 60 s.
    problem = pc.slot20(family, seed)
    res = _solved(family, seed)
    _held_to_the_rules(problem, res)
    assert res.method == "milp", res.stages
    value = [s for s in res.stages if s.startswith("value:")]
    assert value and value[0].startswith("value: optimal"), res.stages
    assert value[0].endswith(f"({engine})"), res.stages
    assert res.value == pytest.approx(_peer(f"slots/{family}/{seed}", problem))


@pytest.mark.parametrize(("family", "seed"), [("tiny", 3), ("near", 2), ("many", 3)])
def test_either_engine_forced_gives_the_chosen_engine_s_value(
    monkeypatch: pytest.MonkeyPatch, family: str, seed: int
) -> None:
    problem = pc.slot20(family, seed)
    chosen = _solved(family, seed)
    for engine in ("cp-sat", "highs"):
        monkeypatch.setattr(exact, "VALUE_ENGINE", engine)
        forced = sl.solve_slots(problem, time_limit_s=120)
        _held_to_the_rules(problem, forced)
        assert forced.value == pytest.approx(chosen.value), engine
        assert any(s.endswith(f"({engine})") for s in forced.stages if s.startswith("value:"))


#: the instances whose placements are compared across interpreters (hash seeds)
_SAME = (("tiny", 3), ("ties", 2), ("dateline", 2), ("many", 3))

_DIGEST = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from tests.optim import peer_cases as pc
from opencall.optim import slots as sl
same = [(f, int(s)) for f, s in (x.split(":") for x in sys.argv[3:])]
print(pc.placements_digest([sl.solve_slots(pc.slot20(f, s), time_limit_s=600) for f, s in same]))
"""


def test_placements_are_the_same_across_runs_and_hash_seeds() -> None:
    # each run a fresh interpreter with its own PYTHONHASHSEED: the tie-break between
    # awards of equal value is seeded by their ids, never by a set's or a dict's order.
    # This interpreter (its own hash seed) is one of the three: its placements are the
    # other tests' (``_solved``), so two fresh ones are run, a third where its seed is theirs
    own = os.environ.get("PYTHONHASHSEED", "random")
    digests = {pc.placements_digest([_solved(f, s) for f, s in _SAME])}
    for hash_seed in ("0", "12345") + (("1",) if own in ("0", "12345") else ()):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", _DIGEST, str(ROOT), str(ROOT / "src")]
            + [f"{f}:{s}" for f, s in _SAME],
            env=env, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        digests.add(run.stdout.strip())
    assert len(digests) == 1, digests


@pytest.mark.parametrize("family", t20.ALLOC_FAMILIES)
@pytest.mark.parametrize("seed", range(10))
def test_allocation_families_against_milp(family: str, seed: int) -> None:
    problem = t20.alloc_instance(seed, family)
    res = al.solve_allocation(problem)
    again = al.solve_allocation(problem)
    assert t19.alloc_violations(problem, res.fractions) == [], (family, seed)
    assert res.check(problem) == []
    best = _peer(f"alloc/{family}/{seed}", problem)
    assert t19.alloc_objective(problem, res.fractions) >= best * (1 - 1e-4) - 1e-6, seed
    assert again.fractions == res.fractions


@pytest.mark.parametrize("family", t20.ASSIGN_FAMILIES)
@pytest.mark.parametrize("seed", range(10))
def test_assignment_families_against_milp(family: str, seed: int) -> None:
    problem = t20.assignment_instance(seed, family)
    most, best = _peer(f"assign/{family}/{seed}", problem)
    res = asg.solve_assignment(problem)
    again = asg.solve_assignment(problem)
    assert t20.assignment_violations(problem, res) == [], (family, seed)
    assert res.check(problem) == []
    assert len(res.proposals) == most, (family, seed)
    assert res.total_affinity == pytest.approx(best, rel=1e-6, abs=1e-6), (family, seed)
    assert again.proposals.tolist() == res.proposals.tolist()
    assert again.reviewers.tolist() == res.reviewers.tolist()


def test_the_independent_assignment_checker_catches_each_rule() -> None:
    problem = t20.assignment_instance(0, "conflicts")
    res = asg.solve_assignment(problem)
    assert t20.assignment_violations(problem, res) == []
    import dataclasses as dc

    import numpy as np

    p, r = (int(v) for v in np.asarray(problem.conflicts)[0])
    bad = dc.replace(res, proposals=np.r_[res.proposals, p], reviewers=np.r_[res.reviewers, r],
                     total_affinity=res.total_affinity + float(problem.affinity[p, r]))  # fmt: skip
    assert any("banned" in e for e in t20.assignment_violations(problem, bad))
    off = dc.replace(res, total_affinity=res.total_affinity + 1.0)
    assert any("total affinity" in e for e in t20.assignment_violations(problem, off))
