"""The placement (``SlotSchedule``) and why an award is left out (``Unplaced``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from opencall.optim.messages import Message, render
from opencall.optim.slots.check import check
from opencall.optim.slots.problem import SlotProblem


@dataclass(frozen=True)
class Unplaced:
    award: str
    # "no_usable_slots" | "bundle" | "unknown_resource" | "capacity" | "time_limit"
    reason: str
    detail: str
    #: ``detail`` as a message id and parameters, for translation (``optim.messages``)
    message: Message | None = field(default=None, compare=False)

    @classmethod
    def saying(cls, award: str, reason: str, msg: Message) -> Unplaced:
        """An unplaced award whose ``detail`` is ``msg`` (written with ``M_`` at the call,
        where Babel finds it) in English."""
        return cls(award, reason, render(msg), msg)


@dataclass
class SlotSchedule:
    """The placement: slot start times per placed award, and why the others are not placed."""

    starts: dict[str, tuple[dt.datetime, ...]]
    unplaced: dict[str, Unplaced]
    value: float
    span_hours: float
    runs: int
    #: "milp" (proved optimal), "milp_time_limit" (stopped at the time limit, in the greedy
    #: or a level), "greedy", "greedy_time_limit" (``exact=False``, stopped at the limit)
    method: str
    wall_s: float = 0.0
    stages: list[str] = field(default_factory=list)

    @property
    def objective(self) -> tuple[float, float, int]:
        return (self.value, self.span_hours, self.runs)

    def check(self, problem: SlotProblem) -> list[str]:
        """Violated constraints, as messages (empty when the placement is feasible)."""
        return check(problem, self.starts)
