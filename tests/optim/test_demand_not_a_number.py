"""A request's demand that is not a number is refused by name (mend24).

Round 23 (trialopt23) left it: a merit or a capacity given as a string was refused, naming
the field, but a demand of ``"1"`` was converted (``float``) and solved as 1, one of
``"lots"`` or ``None`` crashed in ``float`` naming nothing, and ``True`` was taken as 1."""

from __future__ import annotations

import pytest

from opencall.optim.allocation import AllocationProblem, Pool, ProblemError, Request


@pytest.mark.parametrize("amount", ["1", "lots", None, True], ids=["str", "word", "None", "bool"])
def test_a_demand_that_is_not_a_number_is_refused_by_name(amount: object) -> None:
    with pytest.raises(ProblemError, match="request 'r0': demand on 'a' must be a number"):
        AllocationProblem((Pool("a", 10.0),), (Request("r0", "p0", "pi0", 1.0, {"a": amount}),))  # type: ignore[dict-item]


def test_a_demand_of_numbers_is_kept_as_floats() -> None:
    problem = AllocationProblem((Pool("a", 10.0),), (Request("r0", "p0", "pi0", 1.0, {"a": 2}),))
    assert problem.requests[0].demand == {"a": 2.0}
    assert isinstance(problem.requests[0].demand["a"], float)
