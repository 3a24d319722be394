"""The twenty-second round of instances nobody showed us (trialopt22, ``tests/optim/trial22.py``):
slot placements whose weights are 1e12 apart within one problem, held to a checker written
from the problem statement (``trial21.violations``) and to CP-SAT's optimum on whole weights
(recorded once, ``bench/record_peers.py``), the heavier and the lighter units' value apart.
Small instances, fixed seeds, no timing asserted."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from tests.optim import peer_cases as pc
from tests.optim import recorded
from tests.optim import trial21 as t21
from tests.optim import trial22 as t22

from opencall.optim import slots as sl

_peer = partial(recorded.answer, "trial22")


def test_the_recorded_peers_answer_these_instances() -> None:
    assert pc.stale("trial22") == []


def test_one_recorded_optimum_is_the_peer_s() -> None:
    problem = t22.instance(1, "apart", "items")
    assert t22.peer(problem) == _peer("slots/apart/items/1", problem) == [3.0, 8.0]


@pytest.mark.parametrize(("family", "base", "seed"), pc.APART_22)
def test_weights_1e12_apart_lose_no_lighter_award(family: str, base: str, seed: int) -> None:
    # awards of weight 1e-12 beside awards of weight 1 were all left out while the run said
    # "milp" (proved): the value level "met the bound" within an absolute 1e-6 and the
    # runs level dropped them within the value row's tolerance
    problem = t22.instance(seed, family, base)
    res = sl.solve_slots(problem, time_limit_s=120)
    assert t21.violations(problem, res.starts) == []
    assert res.check(problem) == []
    assert res.method == "milp", res.stages
    got = t22.split(problem, set(res.starts))
    assert got == pytest.approx(_peer(f"slots/{family}/{base}/{seed}", problem), abs=1e-6)


_T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
_ROOM = sl.Resource("r", _T0, _T0 + dt.timedelta(days=3), 24.0)


def test_the_least_positive_weight_beside_1_is_placed_where_it_fits() -> None:
    # three slots, two one-slot awards: the award of weight 5e-324 (the least positive
    # float) was left out "for awards of higher value" while a slot stayed free
    awards = (
        sl.SlotAward("a", "r", 1, proposal="p", weight=5e-324),
        sl.SlotAward("b", "r", 1, proposal="q", weight=1.0),
    )
    res = sl.solve_slots(sl.SlotProblem((_ROOM,), awards))
    assert sorted(res.starts) == ["a", "b"], res.unplaced
    assert res.method == "milp"


def test_weights_whose_value_adds_up_past_the_largest_float_are_refused() -> None:
    # two awards of weight 1e308 (or one of 1e308 over two slots): the value was inf
    for awards in (
        (sl.SlotAward("a", "r", 1, proposal="p", weight=1e308),
         sl.SlotAward("b", "r", 1, proposal="q", weight=1e308)),
        (sl.SlotAward("a", "r", 2, proposal="p", weight=1e308),),
    ):  # fmt: skip
        with pytest.raises(ValueError, match="weight"):
            sl.solve_slots(sl.SlotProblem((_ROOM,), awards))
    # 1e308 alone is a weight like any other
    alone = (sl.SlotAward("a", "r", 1, proposal="p", weight=1e308),)
    assert sl.solve_slots(sl.SlotProblem((_ROOM,), alone)).value == 1e308
