"""Placing awarded slots of slot-based resources (a microscope's 24-hour sessions, a
beamline's 8-hour shifts) into the resource's calendar.

A resource offers consecutive slots of ``slot_hours`` from ``start`` to ``end``; a slot that
overlaps an unavailable period (maintenance, a holiday) is not usable. Each award asks for a
number of slots on one resource; the applicant may have declared dates on which a slot is
impossible. Awards of one proposal that share a bundle key are all-or-nothing: either every
award of the bundle is placed or none is; when the bundle asks to be kept together, its span
(first slot start to last slot end, across resources) is made as short as possible, e.g.
screening on one microscope and data collection on the other within a few days.

Objective, lexicographic (``SlotSchedule.objective``):

1. maximise the placed value ``sum(weight * slots)`` over fully placed awards (units whose
   values lie far apart are taken in tiers of value, the heaviest first:
   ``model.value_tiers``);
2. minimise the total span in hours of the placed bundles (of two awards or more) that ask
   to be kept together;
3. minimise the number of runs (maximal blocks of time-consecutive slots) of the awards, i.e.
   keep each award's slots contiguous where possible.

Solved exactly by a 0-1 integer program (HiGHS, one solve per level, each level's optimum
fixed as a constraint for the next, the usual pre-emptive goal programming of [1]_) with a
greedy construction plus repair as a warm start and as a fallback when the solver is not
asked for or stops at its time limit. The value level goes to OR-Tools CP-SAT [4]_ instead
where the program is 0-1 with weights of small denominators (``cpsat``): no bundle kept
together; and only where its LP relaxation is more than 3 % above the warm start (within
it HiGHS closes the gap in a few nodes: ``exact._value_engine``). Awards that are not placed carry a reason.

The package has one part a module: the problem and its validation (``problem``), a
resource's slot grid and the changeover (``calendar``), the placement and its reasons
(``result``), the independent check and objective (``check``), the index form the solvers
work on (``index``), the greedy construction, repair and polish (``greedy``), the bounds
that settle a level without a solve (``bounds``), the exact program (``exact``) and its
value level by CP-SAT (``cpsat``).
Everything is importable from ``opencall.optim.slots``.

References
----------
.. [1] Ignizio, J. P. (1976). *Goal Programming and Extensions*. Lexington Books.
.. [2] Huangfu, Q., Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
   *Mathematical Programming Computation* 10, 119-142 (the HiGHS solver).
.. [3] Pinedo, M. L. (2016). *Scheduling: Theory, Algorithms, and Systems*, 5th ed.,
   Springer, ch. 3 (list scheduling by priority as a construction heuristic).
.. [4] Perron, L., Didier, F. (2024). CP-SAT, OR-Tools v9, Google
   (https://developers.google.com/optimization/cp/cp_solver).
"""

from __future__ import annotations

from opencall.optim.slots.calendar import (
    FULLY_BOOKED,
    PeriodIndex,
    Slot,
    booked_indices,
    changeover_clashes,
    date_ranges,
    owner,
    slot_grid,
)
from opencall.optim.slots.check import check, evaluate
from opencall.optim.slots.exact import solve_slots
from opencall.optim.slots.greedy import Taken, greedy
from opencall.optim.slots.problem import (
    BEGUN,
    MAX_SLOTS,
    UTC,
    Resource,
    SlotAward,
    SlotProblem,
)
from opencall.optim.slots.result import SlotSchedule, Unplaced

__all__ = [
    "BEGUN",
    "FULLY_BOOKED",
    "MAX_SLOTS",
    "PeriodIndex",
    "Resource",
    "Slot",
    "SlotAward",
    "SlotProblem",
    "SlotSchedule",
    "Taken",
    "UTC",
    "Unplaced",
    "booked_indices",
    "changeover_clashes",
    "check",
    "date_ranges",
    "evaluate",
    "greedy",
    "owner",
    "slot_grid",
    "solve_slots",
]
