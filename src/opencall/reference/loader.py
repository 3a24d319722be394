"""Loader of the reference data shipped inside the package.

Countries (UN M49 region and sub-region, least-developed-country flag, World
Bank income group) and the science-and-technology divide indicators (World
Bank World Development Indicators). Attribution: "World Bank, World
Development Indicators"; "United Nations Statistics Division, M49". See
``data/SOURCES.md``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

ATTRIBUTION = (
    "World Bank, World Development Indicators (CC BY 4.0); United Nations Statistics Division, M49"
)

INCOME_GROUPS = ("low", "lower-middle", "upper-middle", "high")


@dataclass(frozen=True)
class CountryRef:
    iso3: str
    iso2: str
    name: str
    un_region: str
    un_subregion: str
    ldc: bool
    lldc: bool
    sids: bool
    income_group: str  # low / lower-middle / upper-middle / high / "" when unclassified
    wb_region: str


@dataclass(frozen=True)
class IndicatorMeta:
    code: str
    name: str
    unit: str
    source: str


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("opencall.reference").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def countries() -> dict[str, CountryRef]:
    out: dict[str, CountryRef] = {}
    for row in _read("countries.csv"):
        out[row["iso3"]] = CountryRef(
            iso3=row["iso3"],
            iso2=row["iso2"],
            name=row["name"],
            un_region=row["un_region"] or "Unknown",
            un_subregion=row["un_subregion"] or "",
            ldc=row["ldc"] == "true",
            lldc=row["lldc"] == "true",
            sids=row["sids"] == "true",
            income_group=row["wb_income_group"],
            wb_region=row["wb_region"],
        )
    return out


@cache
def income_classification_fy() -> int | None:
    """The World Bank fiscal year of the income groups shipped (``wb_income_fy`` of
    most countries: a few unclassified by the World Bank come from an older source, see
    ``data/SOURCES.md``); None when no country has one."""
    years = [int(r["wb_income_fy"]) for r in _read("countries.csv") if r["wb_income_fy"]]
    return max(set(years), key=years.count) if years else None


@cache
def indicator_meta() -> dict[str, IndicatorMeta]:
    return {
        r["indicator_code"]: IndicatorMeta(r["indicator_code"], r["name"], r["unit"], r["source"])
        for r in _read("indicator_meta.csv")
    }


def _series(name: str, key: str) -> dict[tuple[str, str], dict[int, float]]:
    """The file ``name``'s yearly values: (its ``key`` column, indicator code) -> {year: value}."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for r in _read(name):
        out.setdefault((r[key], r["indicator_code"]), {})[int(r["year"])] = float(r["value"])
    return out


@cache
def indicators() -> dict[tuple[str, str], dict[int, float]]:
    """(iso3, indicator code) -> {year: value}."""
    return _series("indicators.csv", "iso3")


def latest(iso3: str, code: str, *, since: int = 2010) -> tuple[int, float] | None:
    """The most recent value of an indicator for a country, not older than ``since``."""
    series = indicators().get((iso3, code))
    if not series:
        return None
    year = max(series)
    if year < since:
        return None
    return year, series[year]


@cache
def aggregates() -> dict[tuple[str, str], dict[int, float]]:
    """(World Bank aggregate code such as WLD or LIC, indicator code) -> {year: value}."""
    return _series("indicator_aggregates.csv", "wb_code")
