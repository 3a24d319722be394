"""Every public optimiser entry point refuses a NaN, infinite or negative limit, gap,
tolerance or seed with a ValueError naming the parameter (issue mend8, item 1).

Each case runs the entry point on a small valid instance, so the parameter is the only
thing wrong: before the checks a NaN or negative time limit was solved with (HiGHS took
NaN for no limit, a negative limit became 0.01 s) and a negative seed failed inside numpy
or HiGHS with their own words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from tests.optim import instances

from opencall.optim import limits
from opencall.optim.allocation import solve_allocation
from opencall.optim.allocation.mip import improve_packing, solve_mip
from opencall.optim.assignment import solve_assignment
from opencall.optim.bias import interaction_model
from opencall.optim.calibration import calibrate
from opencall.optim.logistics import (
    plan_shipments,
    solve_courses,
    solve_cruise,
    solve_packages,
)
from opencall.optim.scheduling import schedule_fast
from opencall.optim.slots import solve_slots

BAD_FLOATS = (math.nan, math.inf, -math.inf, -1.0)
BAD_SEEDS = (-1, 1.5, math.nan)


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _allocation(**kw: Any) -> Any:
    return solve_allocation(instances.allocation_instance(_rng(), "heavy_tail"), **kw)


def _mip(**kw: Any) -> Any:
    c = np.array([1.0, 2.0])
    a = sp.csr_matrix(np.array([[1.0, 1.0]]))
    return solve_mip(
        c, a, np.array([-np.inf]), np.array([1.0]), np.zeros(2), np.ones(2),
        np.array([True, True]), **kw,
    )  # fmt: skip


def _packing(**kw: Any) -> Any:
    a = sp.csr_matrix(np.array([[1.0, 1.0]]))
    return improve_packing(np.array([1.0, 2.0]), a, np.array([1.0]), np.zeros(2), **kw)


def _assignment(**kw: Any) -> Any:
    return solve_assignment(instances.assignment_instance(_rng(), "sparse", "total"), **kw)


def _schedule(**kw: Any) -> Any:
    return schedule_fast(instances.scheduling_instance(_rng(), "annulus"), **kw)


def _slots(**kw: Any) -> Any:
    return solve_slots(instances.slot_instance(_rng(), "one_resource"), **kw)


def _cruise(**kw: Any) -> Any:
    return solve_cruise(instances.cruise_instance(_rng(), "one_berth"), **kw)


def _courses(**kw: Any) -> Any:
    return solve_courses(instances.course_instance(_rng(), "one_session"), **kw)


def _packages(**kw: Any) -> Any:
    return solve_packages(instances.package_instance(_rng()), **kw)


def _shipments(**kw: Any) -> Any:
    return plan_shipments(instances.sample_instance(_rng(), "zero_stock"), **kw)


def _calibrate(**kw: Any) -> Any:
    grades = instances.calibration_instance(_rng(), "disconnected")
    return calibrate(grades, n_bootstrap=2, **kw)


def _bias(**kw: Any) -> Any:
    from opencall.optim.bias_sim import make_world

    return interaction_model(make_world(1, n_proposals=60, n_reviewers=20).data, **kw)


FLOAT_CASES: list[tuple[Callable[..., Any], str]] = [
    (_allocation, "time_limit_s"),
    (_allocation, "mip_rel_gap"),
    (_mip, "time_limit_s"),
    (_mip, "mip_rel_gap"),
    (_packing, "tol"),
    (_assignment, "mip_time_limit_s"),
    (_assignment, "scale"),
    (_schedule, "exact_deterministic_time"),
    (_slots, "time_limit_s"),
    (_cruise, "time_limit_s"),
    (_courses, "time_limit_s"),
    (_packages, "time_limit_s"),
    (_shipments, "time_limit_s"),
    (_calibrate, "tol"),
    (_bias, "weight_prior"),
]

SEED_CASES: list[Callable[..., Any]] = [
    _allocation, _mip, _schedule, _slots, _cruise, _courses, _packages, _shipments, _calibrate,
]  # fmt: skip


@pytest.mark.parametrize("bad", BAD_FLOATS, ids=repr)
@pytest.mark.parametrize(("entry", "name"), FLOAT_CASES, ids=lambda v: getattr(v, "__name__", v))
def test_non_finite_or_negative_limits_are_refused(
    entry: Callable[..., Any], name: str, bad: float
) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number"):
        entry(**{name: bad})


@pytest.mark.parametrize("bad", BAD_SEEDS, ids=repr)
@pytest.mark.parametrize("entry", SEED_CASES, ids=lambda v: v.__name__)
def test_bad_seeds_are_refused(entry: Callable[..., Any], bad: Any) -> None:
    with pytest.raises(ValueError, match=r"^seed must be a whole number >= 0"):
        entry(seed=bad)


@pytest.mark.parametrize("entry", SEED_CASES, ids=lambda v: v.__name__)
def test_good_values_still_solve(entry: Callable[..., Any]) -> None:
    # numpy's own integer seeds are whole numbers too
    assert entry(seed=np.int64(3)) is not None


def test_the_checks_accept_the_edges() -> None:
    assert limits.non_negative("t", 0) == 0.0
    assert limits.non_negative("t", np.float64(2.5)) == 2.5
    assert limits.seed(np.int64(0)) == 0
    assert limits.optional_count("restarts", None, minimum=1) is None
    for bad in (True, "1", None):
        with pytest.raises(ValueError, match="^t must be a finite number"):
            limits.non_negative("t", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^gap must be a finite number > 0"):
        limits.positive("gap", 0.0)
    with pytest.raises(ValueError, match="^restarts must be a whole number >= 1"):
        limits.count("restarts", 0, minimum=1)
