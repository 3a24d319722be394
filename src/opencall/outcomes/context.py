"""The world's research capacity by country group, from the shipped World Bank
indicators: pure functions of plain series (the queries layer reads the files).

For one indicator (researchers = researchers per million x population; R&D
spending = R&D % of GDP x GDP in current US$; scientific articles) and a
report year Y, every country gets one figure:

- "in window": its latest value in [Y - ``WINDOW_YEARS``, Y];
- "older": no value in the window, its latest older value is used and the
  country is listed with that year (e.g. Australia's researchers, 2010);
- "missing": no value at all; imputed as its population times the median per
  head of the in-window countries of its own group (0 when none has data).

A group's share of the world is the sum of its figures over the sum of all.
Its interval brackets what the older and missing figures could be: each such
country's value lies between its population times the lowest and the highest
per-head value of the in-window countries of its group (and includes its old
figure); the low end puts the group's uncertain countries at their lowest and
everyone else's at their highest, the high end the reverse. Shares are bounded
(0-1), unlike the ratios they replace. The World Bank's own world aggregate is
reported beside the sum, with its year, as a check on coverage.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from opencall.outcomes.domain import latest_in_window

#: A figure counts as current when it is at most this many years older than the report.
WINDOW_YEARS = 10

FigureStatus = Literal["in window", "older", "missing"]


@dataclass(frozen=True)
class CountryFigure:
    iso3: str
    value: float
    low: float
    high: float
    year: int | None
    status: FigureStatus


@dataclass(frozen=True)
class GroupShare:
    """A group's share of the world's total of one indicator, with coverage.

    ``coverage`` is the share of the group's population whose figure is in the
    window; ``years`` the oldest and newest year of the figures used."""

    group: str
    value: float
    share: float
    low: float
    high: float
    countries: int
    in_window: int
    older: list[tuple[str, int]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    coverage: float = 0.0
    years: tuple[int, int] | None = None


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def country_figures(
    values: Mapping[str, Mapping[int, float]],
    population: Mapping[str, Mapping[int, float]],
    group_of_iso3: Mapping[str, str],
    year: int,
    window: int = WINDOW_YEARS,
) -> dict[str, CountryFigure]:
    """One figure per country of ``group_of_iso3`` (see the module docstring)."""
    pop_now = {
        iso: (latest_in_window(population.get(iso, {}), (None, year)) or (0, 0.0))[1]
        for iso in group_of_iso3
    }
    found: dict[str, tuple[int, float]] = {}
    for iso in group_of_iso3:
        got = latest_in_window(values.get(iso, {}), (None, year))
        if got is not None:
            found[iso] = got
    per_head: dict[str, list[float]] = {}
    for iso, (y, v) in found.items():
        if y >= year - window and pop_now[iso] > 0:
            per_head.setdefault(group_of_iso3[iso], []).append(v / pop_now[iso])
    out: dict[str, CountryFigure] = {}
    for iso, grp in group_of_iso3.items():
        heads = per_head.get(grp, [])
        lo_h, hi_h = (min(heads), max(heads)) if heads else (0.0, 0.0)
        med = statistics.median(heads) if heads else 0.0
        pop = pop_now[iso]
        got = found.get(iso)
        if got is not None and got[0] >= year - window:
            out[iso] = CountryFigure(iso, got[1], got[1], got[1], got[0], "in window")
        elif got is not None:
            v = got[1]
            out[iso] = CountryFigure(
                iso, v, min(v, pop * lo_h), max(v, pop * hi_h), got[0], "older"
            )
        else:
            out[iso] = CountryFigure(iso, pop * med, pop * lo_h, pop * hi_h, None, "missing")
    return out


def group_shares(
    figures: Mapping[str, CountryFigure],
    group_of_iso3: Mapping[str, str],
    population: Mapping[str, float],
) -> list[GroupShare]:
    """Each group's share of the world total, with its interval and coverage (sorted by share)."""
    groups = sorted(set(group_of_iso3.values()))
    total = sum(f.value for f in figures.values())
    lows = {g: 0.0 for g in groups}
    highs = {g: 0.0 for g in groups}
    points = {g: 0.0 for g in groups}
    for iso, f in figures.items():
        g = group_of_iso3[iso]
        lows[g] += f.low
        highs[g] += f.high
        points[g] += f.value
    all_low, all_high = sum(lows.values()), sum(highs.values())
    out: list[GroupShare] = []
    for g in groups:
        members = [f for iso, f in figures.items() if group_of_iso3[iso] == g]
        pop_all = sum(population.get(f.iso3, 0.0) for f in members)
        pop_in = sum(population.get(f.iso3, 0.0) for f in members if f.status == "in window")
        years = [f.year for f in members if f.year is not None]
        lo_den = lows[g] + (all_high - highs[g])
        hi_den = highs[g] + (all_low - lows[g])
        out.append(
            GroupShare(
                group=g,
                value=points[g],
                share=points[g] / total if total > 0 else 0.0,
                low=lows[g] / lo_den if lo_den > 0 else 0.0,
                high=highs[g] / hi_den if hi_den > 0 else 0.0,
                countries=len(members),
                in_window=sum(1 for f in members if f.status == "in window"),
                older=sorted((f.iso3, f.year or 0) for f in members if f.status == "older"),
                missing=sorted(f.iso3 for f in members if f.status == "missing"),
                coverage=pop_in / pop_all if pop_all > 0 else 0.0,
                years=(min(years), max(years)) if years else None,
            )
        )
    out.sort(key=lambda s: -s.share)
    return out


def product_series(
    a: Mapping[int, float], b: Mapping[int, float], factor: float = 1.0
) -> dict[int, float]:
    """Year-wise a x b x factor over the years both have (e.g. per million x population / 1e6)."""
    return {y: a[y] * b[y] * factor for y in a if y in b and _finite(a[y]) and _finite(b[y])}
