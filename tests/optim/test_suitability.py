from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencall.optim.suitability import (
    DEFAULT_THRESHOLDS,
    Range,
    SiteConditions,
    TechnologyThresholds,
    assess,
)

RICE = DEFAULT_THRESHOLDS["hybrid_rice"]
TILAPIA = DEFAULT_THRESHOLDS["tilapia"]
JUNCAO = DEFAULT_THRESHOLDS["juncao"]


def test_defaults_cover_the_three_technologies_and_are_marked_unverified() -> None:
    assert set(DEFAULT_THRESHOLDS) == {"hybrid_rice", "tilapia", "juncao"}
    for t in DEFAULT_THRESHOLDS.values():
        assert not t.verified
        assert "FACTS.md" in t.source


def test_cold_site_reason_reads_well() -> None:
    v = assess(SiteConditions(mean_temp_c=12.0, annual_rain_mm=1200, altitude_m=500), RICE)
    assert not v.suitable
    assert v.reasons[0] == "mean temperature 12.0 °C is below the 20.0 °C minimum for hybrid rice"
    assert any("unverified placeholders" in r for r in v.reasons)


def test_rice_suitable_site() -> None:
    v = assess(SiteConditions(mean_temp_c=26.0, annual_rain_mm=1300, altitude_m=200), RICE)
    assert v.suitable and v.missing == ()


def test_every_failure_is_reported() -> None:
    v = assess(SiteConditions(mean_temp_c=40.0, annual_rain_mm=300, altitude_m=3600), RICE)
    assert not v.suitable
    text = " | ".join(v.reasons)
    assert "above the 37.0 °C maximum" in text
    assert "annual rainfall 300 mm is below the 800 mm minimum" in text
    assert "altitude 3,600 m is above the 3,000 m maximum" in text


def test_irrigation_waives_rainfall_minimum() -> None:
    dry = SiteConditions(mean_temp_c=25.0, annual_rain_mm=300, altitude_m=100)
    assert not assess(dry, JUNCAO).suitable
    v = assess(dataclasses.replace(dry, irrigated=True), JUNCAO)
    assert v.suitable
    assert any("irrigated" in r for r in v.reasons)


def test_missing_data_is_not_suitable() -> None:
    v = assess(SiteConditions(mean_temp_c=25.0), RICE)
    assert not v.suitable
    assert set(v.missing) == {"annual_rain_mm", "altitude_m"}
    assert any("annual rainfall is unknown" in r for r in v.reasons)


def test_tilapia_water_and_air_proxy() -> None:
    warm = SiteConditions(water_temp_c=28.0, min_water_temp_c=18.0)
    assert assess(warm, TILAPIA).suitable
    cold_winter = SiteConditions(water_temp_c=24.0, min_water_temp_c=9.0)
    v = assess(cold_winter, TILAPIA)
    assert not v.suitable
    assert "9.0 °C is below the 12.0 °C survival minimum" in v.reasons[0]
    proxy = assess(SiteConditions(mean_temp_c=17.0, min_air_temp_c=13.0), TILAPIA)
    assert not proxy.suitable
    assert "air temperature used as a proxy" in proxy.reasons[0]


def test_thresholds_are_data() -> None:
    cool_rice = dataclasses.replace(RICE, mean_temp_c=Range(10.0, 37.0), verified=True)
    site = SiteConditions(mean_temp_c=12.0, annual_rain_mm=1200, altitude_m=500)
    assert not assess(site, RICE).suitable
    v = assess(site, cool_rice)
    assert v.suitable and v.reasons == ()


def test_range_validation() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        Range(30.0, 20.0)
    with pytest.raises(ValueError, match="finite"):
        Range(float("nan"), None)
    with pytest.raises(ValueError, match="finite"):
        TechnologyThresholds("x", "x", altitude_max_m=float("inf"))


def _inside(v: float | None, lo: float | None, hi: float | None) -> bool:
    return v is not None and (lo is None or v >= lo) and (hi is None or v <= hi)


@settings(max_examples=200, deadline=None)
@given(
    temp=st.one_of(st.none(), st.floats(-10, 45)),
    rain=st.one_of(st.none(), st.floats(0, 4000)),
    alt=st.one_of(st.none(), st.floats(0, 5000)),
    irrigated=st.booleans(),
    tech=st.sampled_from(["hybrid_rice", "juncao"]),
)
def test_verdict_matches_thresholds(
    temp: float | None, rain: float | None, alt: float | None, irrigated: bool, tech: str
) -> None:
    t = DEFAULT_THRESHOLDS[tech]
    site = SiteConditions(
        mean_temp_c=temp, annual_rain_mm=rain, altitude_m=alt, irrigated=irrigated
    )
    v = assess(site, t)
    assert t.mean_temp_c is not None and t.annual_rain_mm is not None
    expected = _inside(temp, t.mean_temp_c.min, t.mean_temp_c.max)
    rain_lo = None if irrigated and t.irrigation_substitutes_rain else t.annual_rain_mm.min
    if rain_lo is not None or t.annual_rain_mm.max is not None:
        expected = expected and _inside(rain, rain_lo, t.annual_rain_mm.max)
    if t.altitude_max_m is not None:
        expected = expected and _inside(alt, None, t.altitude_max_m)
    assert v.suitable == expected
    assert v.reasons  # always at least the placeholder note
