"""Demonstrations: packages of a technology per season for suitable sites
(``solve_packages``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from opencall.optim.logistics._common import BinsProblem, CountedRequest, check_capacity
from opencall.optim.logistics.placement import Item, PlacementResult, solve_bins


@dataclass(frozen=True)
class PackageSeason:
    """Demonstration packages of one technology available in one season."""

    id: str
    technology: str
    packages: int

    def __post_init__(self) -> None:
        check_capacity("season", self.id, "packages", self.packages)


@dataclass(frozen=True)
class PackageRequest(CountedRequest):
    """``count`` packages of ``technology`` for a site, in one of ``seasons`` (best first;
    empty: any season of that technology). ``suitable`` comes from
    ``opencall.optim.suitability.assess``."""

    what: ClassVar[str] = "package request"
    choices: ClassVar[str] = "seasons"
    id: str
    merit: float
    technology: str
    site_id: str
    count: int = 1
    seasons: tuple[str, ...] = ()
    suitable: bool = True
    unsuitable_reason: str = ""
    min_count: int | None = None


@dataclass(frozen=True)
class PackageProblem(BinsProblem):
    kind: ClassVar[str] = "package"
    ids = (("seasons", "season ids"), ("requests", "package request ids"))
    seasons: tuple[PackageSeason, ...]
    requests: tuple[PackageRequest, ...]

    def bins_items(self) -> tuple[list[tuple[str, int]], list[Item]]:
        """Seasons as bins of packages; each request's seasons of its technology."""
        bins = [(s.id, s.packages) for s in self.seasons]
        tech = {s.id: s.technology for s in self.seasons}
        items: list[Item] = []
        for p in self.requests:
            wanted = p.seasons or tuple(s.id for s in self.seasons)
            allowed = tuple(s for s in wanted if tech.get(s) == p.technology)
            reason = "" if p.suitable else p.unsuitable_reason
            items.append((p.id, p.merit, p.count, p.least, allowed, p.suitable, reason))
        return bins, items


def solve_packages(
    problem: PackageProblem, *, seed: int = 0, time_limit_s: float = 30.0
) -> PlacementResult:
    """Demonstration packages per season for awarded requests.

    A request gets packages of its technology in one of its seasons (between ``min_count``
    and ``count``), only if its site is suitable, and no season is over-committed; the same
    integer program as :func:`opencall.optim.logistics.courses.solve_courses`.

    Parameters
    ----------
    problem : PackageProblem
        The seasons with their packages and the package requests.
    seed : int, optional
        Seeds the tie-break between requests of equal merit and the solver.
    time_limit_s : float, optional
        The solver's time limit in seconds; a solve it stops keeps the solver's placements
        and adds every request that still fits, as ``solve_courses`` does.

    Returns
    -------
    PlacementResult
        The season and package count per request (None when not placed) and an
        explanation per request.
    """
    return solve_bins(problem, seed, time_limit_s)
