"""mend9a, item 4: the allocation's time limit (``ALLOCATION_TIME_LIMIT_S``) covers the
building of the problem from the database as well as the solve: the solver is given what
the build left of it (never less than ``MIN_SOLVE_S``), and the run records how the time
went (``build_s``, ``solve_s``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from tests.allocation.test_edges import ranked_call


def test_the_solver_gets_what_the_build_left_of_the_limit(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db
    call = ranked_call(s)
    clock = iter(range(0, 10_000, 25))  # each reading of the clock 25 s later
    monkeypatch.setattr(al, "_clock", lambda: float(next(clock)))
    seen: dict[str, Any] = {}
    from opencall.optim import allocation as optim_al

    real = optim_al.solve_allocation

    def spy(problem: Any, **kw: Any) -> Any:
        seen.update(kw)
        return real(problem, **kw)

    monkeypatch.setattr(optim_al, "solve_allocation", spy)
    run = al.run_allocation(s, call)
    # started at 0, built by 25: the solver has the limit less 25 s
    assert seen["time_limit_s"] == pytest.approx(al.ALLOCATION_TIME_LIMIT_S - 25)
    assert run.summary["build_s"] == 25 and run.summary["solve_s"] == 25
    monkeypatch.setattr(al, "ALLOCATION_TIME_LIMIT_S", 10.0)
    clock = iter(range(0, 10_000, 25))
    al.run_allocation(s, call)
    assert seen["time_limit_s"] == al.MIN_SOLVE_S
