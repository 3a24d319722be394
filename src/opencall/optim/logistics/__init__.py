"""Scheduling for the facilities that are not telescopes, one problem per module.

* :mod:`~opencall.optim.logistics.cruise`: berths and submersible dives on legs and days
  (``solve_cruise``), with :mod:`~opencall.optim.logistics.geometry` for distances to routes.
* :mod:`~opencall.optim.logistics.courses`: seats in training sessions (``solve_courses``).
* :mod:`~opencall.optim.logistics.packages`: demonstration packages per season
  (``solve_packages``); courses and packages share :mod:`~opencall.optim.logistics.placement`.
* :mod:`~opencall.optim.logistics.samples`: shipments of lunar-sample mass per sample type
  from inventory (``plan_shipments``).

Each problem is a small integer program solved with HiGHS through
``opencall.optim.allocation.solve_mip``; each result carries a per-request explanation (an
English ``detail`` and, for translation, a ``message``: see ``opencall.optim.messages``) and
a ``check(problem)`` feasibility checker. Merit is oriented higher-is-better and rescaled to
``[0.1, 1.1]`` over the requests (as in allocation), and the seeded order of the request ids
(``opencall.optim.ties``: the seed and each id, never the position in the input) adds a
tiny relative perturbation (<= 1e-7) that breaks ties deterministically. That perturbation
lies below the solver's gap past some thousand tied requests, so after the solve the
requests of equal merit and the same shape hand their decisions out again in the seeded
order, the best to the first (``_common.seeded_ties``): a swap between them keeps every
row.

Everything is re-exported here, so ``from opencall.optim.logistics import solve_cruise``
keeps working.
"""

from __future__ import annotations

from opencall.optim.logistics._common import (
    AWARDED,
    AWARDED_PARTIALLY,
    NOT_ASSIGNED_SOLVER_GAP,
)
from opencall.optim.logistics.courses import (
    CourseProblem,
    CourseSession,
    SeatRequest,
    solve_courses,
)
from opencall.optim.logistics.cruise import (
    DIVE_SLOTS_EXHAUSTED,
    NO_BERTH,
    ON_OTHER_LEG,
    SCHEDULED,
    SITE_OFF_ROUTE,
    TOO_DEEP,
    CruiseProblem,
    CruiseRequest,
    CruiseResult,
    DiveAssignment,
    DiveSite,
    Leg,
    solve_cruise,
)
from opencall.optim.logistics.geometry import (
    EARTH_RADIUS_KM,
    great_circle_km,
    route_distance_km,
)
from opencall.optim.logistics.packages import (
    PackageProblem,
    PackageRequest,
    PackageSeason,
    solve_packages,
)
from opencall.optim.logistics.placement import (
    NO_PACKAGES,
    NO_SEATS,
    NOT_FEASIBLE,
    Placement,
    PlacementResult,
)
from opencall.optim.logistics.samples import (
    INVENTORY_EXHAUSTED,
    SampleLoan,
    SampleProblem,
    SampleType,
    Shipment,
    ShipmentPlan,
    plan_shipments,
)

__all__ = [
    "AWARDED",
    "AWARDED_PARTIALLY",
    "DIVE_SLOTS_EXHAUSTED",
    "EARTH_RADIUS_KM",
    "INVENTORY_EXHAUSTED",
    "NOT_ASSIGNED_SOLVER_GAP",
    "NOT_FEASIBLE",
    "NO_BERTH",
    "NO_PACKAGES",
    "NO_SEATS",
    "ON_OTHER_LEG",
    "SCHEDULED",
    "SITE_OFF_ROUTE",
    "TOO_DEEP",
    "CourseProblem",
    "CourseSession",
    "CruiseProblem",
    "CruiseRequest",
    "CruiseResult",
    "DiveAssignment",
    "DiveSite",
    "Leg",
    "PackageProblem",
    "PackageRequest",
    "PackageSeason",
    "Placement",
    "PlacementResult",
    "SampleLoan",
    "SampleProblem",
    "SampleType",
    "SeatRequest",
    "Shipment",
    "ShipmentPlan",
    "great_circle_km",
    "plan_shipments",
    "route_distance_km",
    "solve_courses",
    "solve_cruise",
    "solve_packages",
]
