"""Site suitability for livelihood technologies (hybrid rice, tilapia aquaculture, juncao).

Thresholds are DATA: a frozen ``TechnologyThresholds`` is passed to ``assess``; nothing about a
technology is written into the logic. ``DEFAULT_THRESHOLDS`` holds placeholders taken from
``FACTS.md`` section 4; every value there is secondary or unverified (see the comments next to
each value) and must stay configurable: a provider replaces them with its own agronomists'
figures (or FAO EcoCrop rows, which FACTS.md section 6 lists as a gap to close).

A missing site measurement for a threshold that exists makes the site *not* suitable, with a
reason saying what is missing: a verdict must never claim more than the data shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Range:
    """A closed interval; ``None`` leaves that side open."""

    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        for v in (self.min, self.max):
            if v is not None and not math.isfinite(v):
                raise ValueError(f"range bounds must be finite, got {v!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range minimum {self.min} exceeds maximum {self.max}")


@dataclass(frozen=True)
class TechnologyThresholds:
    """What a site needs for one technology. ``None`` means no requirement of that kind.

    * ``mean_temp_c``: mean air temperature over the growing season (deg C).
    * ``annual_rain_mm``: annual rainfall (mm); its minimum is waived for an irrigated site
      when ``irrigation_substitutes_rain``.
    * ``altitude_max_m``: highest altitude (m above sea level).
    * ``water_temp_c``: mean water temperature over the growing season (deg C, aquaculture).
    * ``min_water_temp_c``: the coldest water temperature the stock survives (deg C).
    * ``air_temp_proxy_for_water``: when the site has no water temperature, use air
      temperature in its place (a rough rule of thumb, FACTS.md 4.2), saying so in the reason.
    """

    technology: str
    label: str
    mean_temp_c: Range | None = None
    annual_rain_mm: Range | None = None
    altitude_max_m: float | None = None
    water_temp_c: Range | None = None
    min_water_temp_c: float | None = None
    irrigation_substitutes_rain: bool = False
    air_temp_proxy_for_water: bool = False
    verified: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("altitude_max_m", "min_water_temp_c"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{self.technology}: {name} must be finite or None")


@dataclass(frozen=True)
class SiteConditions:
    """Measured (or modelled) conditions of a candidate site; ``None`` = unknown."""

    mean_temp_c: float | None = None
    annual_rain_mm: float | None = None
    altitude_m: float | None = None
    water_temp_c: float | None = None
    min_water_temp_c: float | None = None
    min_air_temp_c: float | None = None
    irrigated: bool = False

    def __post_init__(self) -> None:
        # NaN compares false with every bound, so it passed every requirement: a site with
        # no valid figure was found suitable
        for name in (
            "mean_temp_c",
            "annual_rain_mm",
            "altitude_m",
            "water_temp_c",
            "min_water_temp_c",
            "min_air_temp_c",
        ):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(
                    f"site condition {name} must be a finite number or None, got {v!r}"
                )


@dataclass(frozen=True)
class SuitabilityVerdict:
    """``suitable`` and human-readable ``reasons`` (every failed or waived requirement, and a
    note when the thresholds are unverified placeholders)."""

    technology: str
    suitable: bool
    reasons: tuple[str, ...]
    missing: tuple[str, ...] = ()


def _fmt(v: float, unit: str) -> str:
    return f"{v:.1f} {unit}" if unit == "°C" else f"{v:,.0f} {unit}"


def _check_range(
    what: str, value: float | None, rng: Range, unit: str, label: str, extra: str = ""
) -> tuple[list[str], bool]:
    """Return (reasons, missing) for one ranged requirement."""
    if value is None:
        need = " to ".join(
            _fmt(v, unit) for v in (rng.min, rng.max) if v is not None
        )  # e.g. "20.0 °C to 37.0 °C"
        return [f"{what} is unknown; {label} needs {need}{extra}"], True
    reasons: list[str] = []
    if rng.min is not None and value < rng.min:
        reasons.append(
            f"{what} {_fmt(value, unit)} is below the {_fmt(rng.min, unit)} minimum for "
            f"{label}{extra}"
        )
    if rng.max is not None and value > rng.max:
        reasons.append(
            f"{what} {_fmt(value, unit)} is above the {_fmt(rng.max, unit)} maximum for "
            f"{label}{extra}"
        )
    return reasons, False


def assess(site: SiteConditions, thresholds: TechnologyThresholds) -> SuitabilityVerdict:
    """Is ``site`` suitable for the technology described by ``thresholds``, and why not?"""
    t = thresholds
    failures: list[str] = []
    notes: list[str] = []
    missing: list[str] = []

    def add(reasons: list[str], was_missing: bool, key: str) -> None:
        failures.extend(reasons)
        if was_missing:
            missing.append(key)

    if t.mean_temp_c is not None:
        add(
            *_check_range("mean temperature", site.mean_temp_c, t.mean_temp_c, "°C", t.label),
            "mean_temp_c",
        )
    if t.annual_rain_mm is not None:
        rng = t.annual_rain_mm
        if site.irrigated and t.irrigation_substitutes_rain:
            rng = Range(None, rng.max)
            notes.append(f"the site is irrigated, so the rainfall minimum for {t.label} is waived")
        if rng.min is not None or rng.max is not None:
            add(
                *_check_range("annual rainfall", site.annual_rain_mm, rng, "mm", t.label),
                "annual_rain_mm",
            )
    if t.altitude_max_m is not None:
        if site.altitude_m is None:
            add(
                [f"altitude is unknown; {t.label} is grown up to {t.altitude_max_m:,.0f} m"],
                True,
                "altitude_m",
            )
        elif site.altitude_m > t.altitude_max_m:
            failures.append(
                f"altitude {site.altitude_m:,.0f} m is above the {t.altitude_max_m:,.0f} m "
                f"maximum for {t.label}"
            )
    if t.water_temp_c is not None:
        water, extra = site.water_temp_c, ""
        if water is None and t.air_temp_proxy_for_water and site.mean_temp_c is not None:
            water, extra = site.mean_temp_c, " (air temperature used as a proxy for water)"
        add(
            *_check_range("water temperature", water, t.water_temp_c, "°C", t.label, extra),
            "water_temp_c",
        )
    if t.min_water_temp_c is not None:
        coldest, extra = site.min_water_temp_c, ""
        if coldest is None and t.air_temp_proxy_for_water and site.min_air_temp_c is not None:
            coldest, extra = site.min_air_temp_c, " (air temperature used as a proxy for water)"
        if coldest is None:
            add(
                [
                    f"coldest water temperature is unknown; {t.label} needs at least "
                    f"{t.min_water_temp_c:.1f} °C to survive"
                ],
                True,
                "min_water_temp_c",
            )
        elif coldest < t.min_water_temp_c:
            failures.append(
                f"coldest water temperature {coldest:.1f} °C is below the "
                f"{t.min_water_temp_c:.1f} °C survival minimum for {t.label}{extra}"
            )
    if not t.verified:
        notes.append(
            f"thresholds for {t.label} are unverified placeholders"
            + (f" ({t.source})" if t.source else "")
        )
    suitable = not failures
    return SuitabilityVerdict(t.technology, suitable, tuple(failures + notes), tuple(missing))


# --------------------------------------------------------------------------------------------
# Defaults: UNVERIFIED PLACEHOLDERS from FACTS.md section 4 (configurable; replace them)
# --------------------------------------------------------------------------------------------

HYBRID_RICE = TechnologyThresholds(
    technology="hybrid_rice",
    label="hybrid rice",
    # FACTS 4.1 [secondary]: "growth range ~20-37 °C, tolerated 19-40 °C; mean <15 °C -> poor
    # vegetative growth, failure to flower" (bamis.gov.bd, agropedia.iitk.ac.in).
    mean_temp_c=Range(20.0, 37.0),
    # FACTS 4.1 [secondary]: "total water 800-1,800 mm ... or irrigation"; no upper limit is
    # given (the 1,800 mm is a need, not a ceiling), so the maximum is left open.
    annual_rain_mm=Range(800.0, None),
    irrigation_substitutes_rain=True,
    # FACTS 4.1 [secondary]: "grown from sea level to ~3,000 m (Nepal, India)".
    altitude_max_m=3000.0,
    source="FACTS.md 4.1, secondary sources; FAO EcoCrop row for Oryza sativa not retrieved",
)

TILAPIA = TechnologyThresholds(
    technology="tilapia",
    label="tilapia aquaculture",
    # FACTS 4.2 [verified, Kenya NAFIS / SRAC]: water "normal 20-30 °C (best ~28 °C); optimum
    # growth ~29-31 °C; ... no spawning <20 °C". No upper limit is stated, so it stays open.
    water_temp_c=Range(20.0, None),
    # FACTS 4.2 [verified]: "deaths from ~12 °C, few survive <10 °C"; site proxy: minimum >= 12.
    min_water_temp_c=12.0,
    # FACTS 4.2 [unverified rule of thumb]: "air temperature is a rough proxy for pond
    # temperature".
    air_temp_proxy_for_water=True,
    # FACTS 4.2 gives no rainfall or altitude limit for tilapia: left as no requirement.
    source="FACTS.md 4.2 (NAFIS/SRAC water temperatures; air-for-water proxy unverified)",
)

JUNCAO = TechnologyThresholds(
    technology="juncao",
    label="juncao",
    # FACTS 4.3 [unverified]: "growth stops below ~10-15 °C, optimum ~25-35 °C, frost-sensitive"
    # (napier-grass proxy). The upper end of the stop range (15 °C) and of the optimum (35 °C)
    # are used as the placeholder bounds.
    mean_temp_c=Range(15.0, 35.0),
    # FACTS 4.3 [unverified]: "rainfall >~800 mm or irrigation".
    annual_rain_mm=Range(800.0, None),
    irrigation_substitutes_rain=True,
    # FACTS 4.3 lists "altitude limits" without a value: no altitude requirement by default.
    source="FACTS.md 4.3, unverified (napier/elephant grass proxy)",
)

DEFAULT_THRESHOLDS: Mapping[str, TechnologyThresholds] = MappingProxyType(
    {t.technology: t for t in (HYBRID_RICE, TILAPIA, JUNCAO)}
)
"""Unverified placeholders from FACTS.md section 4, keyed by technology id. Configure, don't
trust: pass your own ``TechnologyThresholds`` to ``assess``."""
