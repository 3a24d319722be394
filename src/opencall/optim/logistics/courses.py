"""Courses: seats for awarded requests in training sessions (``solve_courses``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from opencall.optim.logistics._common import BinsProblem, CountedRequest, check_capacity
from opencall.optim.logistics.placement import Item, PlacementResult, solve_bins


@dataclass(frozen=True)
class CourseSession:
    id: str
    start: date
    end: date
    place: str
    seats: int
    technology: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"session {self.id!r}: end before start")
        check_capacity("session", self.id, "seats", self.seats)


@dataclass(frozen=True)
class SeatRequest(CountedRequest):
    """``count`` seats in one of ``preferred`` sessions (best first); at least ``min_count``
    (default ``count``: all or nothing)."""

    what: ClassVar[str] = "seat request"
    choices: ClassVar[str] = "preferred"
    id: str
    merit: float
    count: int
    preferred: tuple[str, ...]
    min_count: int | None = None


@dataclass(frozen=True)
class CourseProblem(BinsProblem):
    kind: ClassVar[str] = "course"
    ids = (("sessions", "session ids"), ("requests", "seat request ids"))
    sessions: tuple[CourseSession, ...]
    requests: tuple[SeatRequest, ...]

    def bins_items(self) -> tuple[list[tuple[str, int]], list[Item]]:
        """Sessions as bins of seats; each request's known preferred sessions, best first."""
        bins = [(s.id, s.seats) for s in self.sessions]
        known = {s.id for s in self.sessions}
        items: list[Item] = [
            (
                r.id,
                r.merit,
                r.count,
                r.least,
                tuple(s for s in r.preferred if s in known),
                True,
                "",
            )
            for r in self.requests
        ]
        return bins, items


def solve_courses(
    problem: CourseProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> PlacementResult:
    """Seats per session for awarded course requests.

    Each request gets at most one of its preferred sessions, between ``min_count`` and
    ``count`` seats, and no session is overfilled. The objective is the merit weight times
    the share of seats granted, less ``preference_penalty`` (scaled by rank) for a later
    choice; it is a small integer program solved with HiGHS (``solve_mip``).

    Parameters
    ----------
    problem : CourseProblem
        The sessions with their seats and the seat requests.
    seed : int, optional
        Seeds the tie-break between requests of equal merit and the solver.
    time_limit_s : float, optional
        The solver's time limit in seconds. A solve it stops (even before the solver's first
        solution) keeps the solver's placements and adds, best merit first, every request
        that still fits, in its first choice with room for its ``min_count``; the room left
        then tops placements up, best merit per seat first (status ``"time_limit"``).

    Returns
    -------
    PlacementResult
        The session and seat count per request (None when not placed) and an explanation
        per request (``code``, English ``detail`` and its translatable ``message``).
    """
    return solve_bins(problem, seed, time_limit_s)
