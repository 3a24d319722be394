"""The FAST scheduling problem and its result: blocks, maintenance windows, the
reasons a block stays unscheduled, and the entries placed."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from opencall.optim import sky
from opencall.optim.messages import Message
from opencall.optim.sky import FAST_SITE, Site

REASON_NEVER_VISIBLE = "never_visible"
REASON_NO_WINDOW_LONG_ENOUGH = "no_window_long_enough"
REASON_CROWDED_OUT = "crowded_out"
REASON_FIXED_NOT_VISIBLE = "fixed_time_not_visible"
REASON_MAINTENANCE = "conflicts_with_maintenance"
#: the search's work limit was reached before the block's turn came
REASON_WORK_LIMIT = "work_limit_reached"
REASONS = (
    REASON_NEVER_VISIBLE,
    REASON_NO_WINDOW_LONG_ENOUGH,
    REASON_CROWDED_OUT,
    REASON_FIXED_NOT_VISIBLE,
    REASON_MAINTENANCE,
    REASON_WORK_LIMIT,
)

_EDGE_MARGIN_S = 1.0  # visibility windows are shrunk by this much at each end
_EPS = 1e-6
#: the shortest block: below a millisecond an entry's end rounds onto its start in unix
#: seconds (a 1e-9 s block was placed as an empty entry)
_MIN_DURATION_S = 1e-3
#: the window's earliest start and latest end, 1900-01-01 and 2200-01-01 UTC: the closed-form
#: sky model (``optim.sky``: IAU 1976 precession, a polynomial in centuries from J2000) is
#: not meant beyond; a window at 1e15 s (31.7 million years) was scheduled with blocks its
#: own check found 85 deg outside their zenith limits
_EARLIEST_UNIX = -2208988800.0
_LATEST_UNIX = 7258118400.0


_BLOCK_NUMBERS = (
    "ra_deg",
    "dec_deg",
    "duration_s",
    "max_zenith_deg",
    "min_zenith_deg",
    "min_chunk_s",
)


def _number(name: str, value: object) -> None:
    """Refuse a value that is not a real number (a bool, a string, None), naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")


@dataclass(frozen=True)
class FastBlock:
    """One observing block.  ``priority`` 1 is best, 5 worst.

    A splittable block may be observed in several chunks of at least ``min_chunk_s`` each
    (each chunk pays its own setup); it is scheduled in full or not at all.
    ``fixed_start_unix`` pins the block (pulsar timing, coordinated observations).
    """

    id: str
    ra_deg: float
    dec_deg: float
    duration_s: float
    priority: int = 3
    max_zenith_deg: float = sky.FAST_MAX_ZENITH_DEG
    min_zenith_deg: float = 0.0
    splittable: bool = False
    min_chunk_s: float = 1800.0
    fixed_start_unix: float | None = None


@dataclass(frozen=True)
class MaintenanceWindow:
    start_unix: float
    end_unix: float
    label: str = "maintenance"


@dataclass(frozen=True)
class FastScheduleProblem:
    window_start_unix: float
    window_end_unix: float
    blocks: tuple[FastBlock, ...]
    maintenance: tuple[MaintenanceWindow, ...] = ()
    site: Site = FAST_SITE
    setup_s: float = 120.0
    slew_deg_per_s: float = 0.2
    full_gain_zenith_deg: float = sky.FAST_FULL_GAIN_ZENITH_DEG
    #: How far inside its zenith limits every block is kept by the closed-form model.
    #: None (default): ``sky.apparent_place_margin_deg`` of the window, the bound on the
    #: model's difference from astropy's full AltAz chain, so that schedules stay inside
    #: the limits when judged by astropy; 0 trusts the closed-form model alone.
    zenith_margin_deg: float | None = None

    def margin_deg(self) -> float:
        """The zenith margin in effect (see ``zenith_margin_deg``)."""
        if self.zenith_margin_deg is not None:
            return self.zenith_margin_deg
        return sky.apparent_place_margin_deg(self.window_start_unix, self.window_end_unix)

    def validate(self) -> None:
        """Raise ValueError with a clear message on malformed input (NaN and infinite
        numbers included: they once passed as "never visible", or failed deep inside with
        "cannot convert float NaN to integer"); a string or None where a number belongs
        is refused naming the field, not with Python's "must be real number, not str")."""
        for name in ("window_start_unix", "window_end_unix", "setup_s", "slew_deg_per_s"):
            _number(name, getattr(self, name))
        _number("full_gain_zenith_deg", self.full_gain_zenith_deg)
        for b in self.blocks:
            for name in _BLOCK_NUMBERS:
                _number(f"block {b.id!r}: {name}", getattr(b, name))
            if b.fixed_start_unix is not None:
                _number(f"block {b.id!r}: fixed_start_unix", b.fixed_start_unix)
        for m in self.maintenance:
            _number(f"maintenance {m.label!r}: start_unix", m.start_unix)
            _number(f"maintenance {m.label!r}: end_unix", m.end_unix)
        if not (math.isfinite(self.window_start_unix) and math.isfinite(self.window_end_unix)):
            raise ValueError("window_start_unix and window_end_unix must be finite")
        if not self.window_end_unix > self.window_start_unix:
            raise ValueError("window_end_unix must be after window_start_unix")
        if not (_EARLIEST_UNIX <= self.window_start_unix and self.window_end_unix <= _LATEST_UNIX):
            raise ValueError(
                "the window must lie between 1900 and 2200: the sky model (IAU 1976 "
                "precession, sidereal time) holds within two centuries of J2000"
            )
        if self.zenith_margin_deg is not None and not 0.0 <= self.zenith_margin_deg < 1.0:
            raise ValueError("zenith_margin_deg must be in [0, 1) degrees")
        if not (
            math.isfinite(self.setup_s)
            and self.setup_s >= 0
            and math.isfinite(self.slew_deg_per_s)
            and self.slew_deg_per_s > 0
        ):
            raise ValueError("setup_s must be finite and >= 0, and slew_deg_per_s finite and > 0")
        if not (
            math.isfinite(self.full_gain_zenith_deg) and 0.0 <= self.full_gain_zenith_deg <= 180.0
        ):
            raise ValueError("full_gain_zenith_deg must be finite, in [0, 180] degrees")
        seen: set[str] = set()
        for b in self.blocks:
            if b.id in seen:
                raise ValueError(f"duplicate block id {b.id!r}")
            seen.add(b.id)
            if isinstance(b.priority, bool) or b.priority not in (1, 2, 3, 4, 5):
                raise ValueError(f"block {b.id!r}: priority must be an integer 1..5")
            if not (math.isfinite(b.duration_s) and b.duration_s >= _MIN_DURATION_S):
                raise ValueError(
                    f"block {b.id!r}: duration_s must be finite and at least "
                    f"{_MIN_DURATION_S} s, got {b.duration_s!r}"
                )
            if not (0 <= b.min_zenith_deg < b.max_zenith_deg <= 180):
                raise ValueError(f"block {b.id!r}: need 0 <= min_zenith < max_zenith <= 180")
            if not math.isfinite(b.ra_deg):
                raise ValueError(f"block {b.id!r}: ra_deg must be finite")
            if not (-90 <= b.dec_deg <= 90):
                raise ValueError(f"block {b.id!r}: dec_deg out of range")
            if b.splittable and not (math.isfinite(b.min_chunk_s) and b.min_chunk_s > 0):
                raise ValueError(f"block {b.id!r}: min_chunk_s must be finite and > 0")
            if b.fixed_start_unix is not None and not math.isfinite(b.fixed_start_unix):
                raise ValueError(f"block {b.id!r}: fixed_start_unix must be finite or None")
        for m in self.maintenance:
            if not (
                math.isfinite(m.start_unix)
                and math.isfinite(m.end_unix)
                and m.end_unix > m.start_unix
            ):
                raise ValueError(
                    f"maintenance {m.label!r}: start and end must be finite, end after start"
                )


@dataclass(frozen=True)
class ScheduledEntry:
    block_id: str
    start_unix: float
    end_unix: float
    chunk: int = 0


@dataclass(frozen=True)
class UnscheduledBlock:
    block_id: str
    reason: str
    detail: str = ""
    #: ``detail`` as a message id and parameters, for translation (``optim.messages``)
    message: Message | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SolverStats:
    method: str
    wall_s: float
    restarts: int
    heuristic_weighted_hours: float
    exact_status: str = "not_run"
    exact_wall_s: float = 0.0
    local_search_moves: int = 0
    #: the search's work in array cells evaluated (``schedule_fast``'s ``work_limit``)
    work_used: int = 0
    #: the limit it ran under (None: none)
    work_limit: int | None = None
    #: True when the limit stopped the search: the schedule is the best found by then
    work_limit_reached: bool = False


@dataclass(frozen=True)
class FastScheduleResult:
    entries: tuple[ScheduledEntry, ...]
    unscheduled: tuple[UnscheduledBlock, ...]
    priority_weighted_hours: float
    observed_hours: float
    observing_fraction: float
    full_gain_fraction: float
    stats: SolverStats = field(compare=False)

    def check(
        self, problem: FastScheduleProblem, tol_deg: float = 0.0, tol_s: float = 1e-3
    ) -> list[str]:
        """Feasibility check at one-second resolution; an empty list means feasible.

        Every whole second inside every entry and the entry's exact end are tested
        against the block's zenith limits (``tol_deg`` allows for a different pointing
        model, e.g. when checking another scheduler's output); ``tol_s`` likewise for
        the setup + slew gaps.
        """
        from opencall.optim.scheduling.check import check_schedule  # (it reads this class)

        return check_schedule(problem, self, tol_deg, tol_s)
