"""FAST observing-block scheduler.

Problem: place observing blocks (target, duration, priority 1-5) in a UTC window so that
every instant of every block is within the block's zenith-angle limits, blocks do not
overlap, consecutive blocks are separated by a setup time plus a slew time, maintenance
windows are respected and blocks with a fixed start (pulsar timing, coordinated
campaigns) are at their times.  Objective: priority-weighted hours, sum (6 - p) * hours.

Slew model (documented choice): FAST is not a mechanical alt-az mount; its feed cabin is
moved by cables over the focal surface and the active reflector re-forms the paraboloid
under the new pointing, so the move is proportional to the angle between the two
pointings.  We therefore use the great-circle distance between the targets (which, for
two pointings at the same instant, is the same in alt-az and in RA/Dec, so it is
time-independent), at ``slew_deg_per_s``.  astroplan's ``Transitioner`` uses the same
great-circle separation in alt-az, so the benchmark compares like with like.  A gap of
``setup_s + separation / slew_deg_per_s`` is required between consecutive blocks; the first
block of the window needs none (the telescope may be set up before the window opens) and
the first block after a maintenance window needs ``setup_s`` after it ends.

Approach (measured, see bench/results/scheduling.md): visibility windows are computed in
closed form (``optim.sky``), and the schedule is kept as a *sequence* of blocks whose
start times float between an earliest (ES) and latest (LS) start, as in insertion
heuristics for vehicle routing with time windows.  That makes "can block u go between
blocks i and j" an O(1) test (vectorised over all positions and visibility windows), so
we can afford:

1. priority-ordered best insertion from several orderings (restarts, seeded);
2. local search: replace a run of up to three lower-weight blocks by a heavier unscheduled
   one, re-inserting what was removed, and fill passes;
2b. ruin and recreate (a large-neighbourhood search): remove a random run of blocks,
   refill the freed time from every block that could use it, and keep the change if
   observed time does not fall and priority-weighted hours stay at or above what step 2
   reached -- this is what lifts observed time past astroplan's SequentialScheduler;
3. for small instances, an exact CP-SAT model (circuit over optional blocks with
   sequence-dependent transition times) warm-started from the heuristic, with a
   deterministic time limit, single worker, so results are reproducible for a seed;
   identical blocks (a survey cut into equal blocks of one source) are ordered in it, so
   that it proves optimality without refuting every permutation of them;
4. a final forward pass that places each block as close to its transit (lowest zenith
   angle, FAST full gain within 26.4 deg) as the slack allows.

Steps 1-3 share one bounded effort: a count of the array cells their insertion tests,
recomputes and copies evaluate (``work_limit``, default ``DEFAULT_WORK_LIMIT``), not a
clock, so a schedule cut short is the same for a seed on any machine. Once it is spent
the search stops and returns the best schedule found, with
``SolverStats.work_limit_reached`` set and the blocks whose turn never came unscheduled
as ``work_limit_reached`` (at ten times the demo's call the unlimited search ran for
many minutes: bench/README.md, fifteenth round).

Every block is kept ``FastScheduleProblem.margin_deg()`` (about 47 arcsec) inside its
zenith limits by the closed-form model: that is the bound on the model's difference from
astropy's full AltAz chain (``sky.apparent_place_margin_deg``), so every second of every
block is also inside the limits when judged by astropy (tests/optim/test_scheduling.py and
bench/bench_scheduling.py judge at one-second resolution).

A hand-written core is used because no library fits: astroplan's schedulers are two orders
of magnitude slower and violate their own constraints at block ends (see the benchmark),
and a generic CP-SAT model alone does not scale to thousands of blocks over a week.

The package has one part a module: the problem (``problem``), geometric helpers
(``geometry``), the independent check (``check``), the preparation (``prepare``),
the floating sequence (``sequence``), construction and local search (``search``),
the exact improvement (``exact``), the result (``result``) and the driver
(``solver``). Everything is importable from ``opencall.optim.scheduling``.
"""

from __future__ import annotations

from opencall.optim.scheduling.check import check_schedule, check_zenith_with_astropy
from opencall.optim.scheduling.prepare import _Prep, _prepare
from opencall.optim.scheduling.problem import (
    REASON_CROWDED_OUT,
    REASON_FIXED_NOT_VISIBLE,
    REASON_MAINTENANCE,
    REASON_NEVER_VISIBLE,
    REASON_NO_WINDOW_LONG_ENOUGH,
    REASON_WORK_LIMIT,
    REASONS,
    FastBlock,
    FastScheduleProblem,
    FastScheduleResult,
    MaintenanceWindow,
    ScheduledEntry,
    SolverStats,
    UnscheduledBlock,
)
from opencall.optim.scheduling.result import result_from_entries
from opencall.optim.scheduling.search import _place_fixed
from opencall.optim.scheduling.sequence import _Seq
from opencall.optim.scheduling.solver import DEFAULT_WORK_LIMIT, schedule_fast

__all__ = [
    "DEFAULT_WORK_LIMIT",
    "REASONS",
    "REASON_CROWDED_OUT",
    "REASON_FIXED_NOT_VISIBLE",
    "REASON_MAINTENANCE",
    "REASON_NEVER_VISIBLE",
    "REASON_NO_WINDOW_LONG_ENOUGH",
    "REASON_WORK_LIMIT",
    "FastBlock",
    "FastScheduleProblem",
    "FastScheduleResult",
    "MaintenanceWindow",
    "ScheduledEntry",
    "SolverStats",
    "UnscheduledBlock",
    "_Prep",
    "_Seq",
    "_place_fixed",
    "_prepare",
    "check_schedule",
    "check_zenith_with_astropy",
    "result_from_entries",
    "schedule_fast",
]
