"""Tests of opencall.optim.sky against astropy (offline) and brute force."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencall.optim import sky


@pytest.fixture(scope="module")
def astropy_offline() -> None:
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "ignore"


def _decade_times(n: int = 3000) -> np.ndarray:
    t0 = 1735689600.0  # 2025-01-01T00:00:00Z
    t1 = 2082758400.0  # 2036-01-01T00:00:00Z
    rng = np.random.default_rng(1)
    return np.sort(rng.uniform(t0, t1, n))


@pytest.mark.parametrize("kind", ["mean", "apparent"])
def test_lst_matches_astropy_over_a_decade(astropy_offline: None, kind: str) -> None:
    import astropy.units as u
    from astropy.time import Time

    t = _decade_times()
    mine = sky.lst_hours(t, sky.FAST_SITE.lon_deg, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = Time(t, format="unix", scale="utc")
        ref_iers = tm.sidereal_time(kind, longitude=sky.FAST_SITE.lon_deg * u.deg).hour
        tm.delta_ut1_utc = 0.0
        ref_utc = tm.sidereal_time(kind, longitude=sky.FAST_SITE.lon_deg * u.deg).hour
    d_iers = np.abs((mine - ref_iers + 12.0) % 24.0 - 12.0) * 3600.0
    d_utc = np.abs((mine - ref_utc + 12.0) % 24.0 - 12.0) * 3600.0
    # against astropy's own UT1 (bundled IERS tables, extrapolated): under one second
    assert d_iers.max() < 1.0
    # with UT1 = UTC on both sides the models agree to a few hundredths of a second
    assert d_utc.max() < (0.001 if kind == "mean" else 0.05)


def test_zenith_angle_matches_astropy_altaz(astropy_offline: None) -> None:
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time

    rng = np.random.default_rng(2)
    n = 300
    ra = rng.uniform(0, 360, n)
    dec = rng.uniform(-20, 80, n)
    t = 1893456000.0 + rng.uniform(0, 7 * 86400, n)  # a week of 2030
    loc = EarthLocation(
        lat=sky.FAST_SITE.lat_deg * u.deg,
        lon=sky.FAST_SITE.lon_deg * u.deg,
        height=sky.FAST_SITE.height_m * u.m,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aa = SkyCoord(ra * u.deg, dec * u.deg).transform_to(
            AltAz(obstime=Time(t, format="unix"), location=loc)
        )
    ref = 90.0 - aa.alt.deg
    mine = sky.zenith_angle_deg(ra, dec, t, epoch_unix=1893456000.0 + 3.5 * 86400)
    assert np.abs(mine - ref).max() < 0.02  # nutation + aberration, ignored by design


def test_fast_constants() -> None:
    assert sky.FAST_SITE == sky.Site(25.6529, 106.8567, 1110.0)
    with pytest.raises(AttributeError):
        sky.FAST_SITE.lat_deg = 0.0  # type: ignore[misc]
    assert sky.FAST_MAX_ZENITH_DEG == 40.0
    assert sky.FAST_FULL_GAIN_ZENITH_DEG == 26.4
    assert (sky.FAST_DEC_MIN_DEG, sky.FAST_DEC_MAX_DEG) == (-14.0, 66.0)


@settings(max_examples=60, deadline=None)
@given(
    dec=st.floats(-89.0, 89.0),
    lat=st.floats(-80.0, 80.0),
    zmax=st.floats(1.0, 89.0),
)
def test_hour_angle_limit_matches_brute_force(dec: float, lat: float, zmax: float) -> None:
    h = float(sky.hour_angle_limit_hours(dec, lat, zmax))
    ha = np.linspace(-12.0, 12.0, 200001)  # 0.00012 h steps
    phi, d = np.radians(lat), np.radians(dec)
    cosz = np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(np.radians(ha * 15))
    ok = np.degrees(np.arccos(np.clip(cosz, -1, 1))) <= zmax
    brute = 0.5 * (ok.sum() - 1) * (ha[1] - ha[0]) if ok.any() else 0.0
    assert abs(h - brute) < 0.01
    assert 0.0 <= h <= 12.0


def test_hour_angle_limit_extremes() -> None:
    h = sky.hour_angle_limit_hours(np.array([-30.0, 25.6529, 80.0]))
    assert h[0] == 0.0 and h[2] == 0.0
    phi = np.radians(25.6529)
    cos_h = (np.cos(np.radians(40.0)) - np.sin(phi) ** 2) / np.cos(phi) ** 2
    assert h[1] == pytest.approx(np.degrees(np.arccos(cos_h)) / 15.0)
    # circumpolar and always within a wide limit
    assert float(sky.hour_angle_limit_hours(85.0, 60.0, 60.0)) == 12.0


def test_lst_windows_and_bins() -> None:
    ra = np.array([0.0, 180.0, 10.0, 100.0])
    dec = np.array([25.6529, 25.6529, 70.0, 0.0])
    start, end = sky.lst_windows(ra, dec)
    h = float(sky.hour_angle_limit_hours(25.6529))
    assert start[0] == pytest.approx(24.0 - h) and end[0] == pytest.approx(h)  # wraps
    assert start[1] == pytest.approx(12.0 - h) and end[1] == pytest.approx(12.0 + h)
    assert np.isnan(start[2]) and np.isnan(end[2])
    frac = sky.lst_fraction_in_bins(ra, dec, n_bins=24)
    assert frac.shape == (4, 24)
    np.testing.assert_allclose(frac[[0, 1, 3]].sum(axis=1), 1.0)
    assert frac[2].sum() == 0.0
    # target 0 straddles LST 0 symmetrically
    np.testing.assert_allclose(frac[0, :12].sum(), 0.5)
    assert frac[0, 0] == pytest.approx(1.0 / (2 * h))


@settings(max_examples=40, deadline=None)
@given(
    ra=st.floats(0.0, 359.999),
    dec=st.floats(-20.0, 70.0),
    n_bins=st.integers(1, 48),
)
def test_lst_bins_match_sampling(ra: float, dec: float, n_bins: int) -> None:
    frac = sky.lst_fraction_in_bins(np.array([ra]), np.array([dec]), n_bins=n_bins)[0]
    h = float(sky.hour_angle_limit_hours(dec))
    if h == 0.0:
        assert frac.sum() == 0.0
        return
    samples = np.mod(ra / 15.0 + np.linspace(-h, h, 20001), 24.0)
    counts = np.bincount((samples * n_bins / 24.0).astype(int) % n_bins, minlength=n_bins)
    np.testing.assert_allclose(frac, counts / counts.sum(), atol=2e-3)
    assert frac.sum() == pytest.approx(1.0)


def test_visible_intervals_are_exact_to_a_second() -> None:
    rng = np.random.default_rng(3)
    n = 60
    ra = rng.uniform(0, 360, n)
    dec = rng.uniform(-20, 70, n)
    t0 = 1893456000.0
    t1 = t0 + 7 * 86400
    epoch = 0.5 * (t0 + t1)
    vi = sky.visible_intervals(ra, dec, t0, t1)
    # every second inside every interval is within the limit; one second outside is not
    for k in range(vi.start.size):
        ts = np.arange(np.ceil(vi.start[k]), np.floor(vi.end[k]) + 1.0)
        z = sky.zenith_angle_deg(ra[vi.target[k]], dec[vi.target[k]], ts, epoch_unix=epoch)
        assert z.max() <= 40.0 + 1e-6
        for edge, t_edge in ((vi.start[k], t0), (vi.end[k], t1)):
            if abs(edge - t_edge) > 2.0:
                z_edge = sky.zenith_angle_deg(
                    ra[vi.target[k]], dec[vi.target[k]], edge, epoch_unix=epoch
                )
                assert abs(float(z_edge) - 40.0) < 1e-3  # ~0.25 s of sidereal motion
    # brute force: total visible time at 60 s sampling agrees
    ts = np.arange(t0, t1, 60.0)
    z_all = sky.zenith_angle_deg(ra[:, None], dec[:, None], ts[None, :], epoch_unix=epoch)
    brute = (z_all <= 40.0).sum(axis=1) * 60.0
    total = np.bincount(vi.target, weights=vi.end - vi.start, minlength=n)
    assert np.abs(total - brute).max() <= 60.0 * 9
    never = (dec > 66.0) | (dec < -14.5)
    assert np.all(total[never] == 0.0)


def test_visible_intervals_min_zenith_splits_each_pass() -> None:
    t0 = 1893456000.0
    t1 = t0 + 86400.0 * 2
    vi = sky.visible_intervals(
        np.array([90.0]), np.array([25.0]), t0, t1, max_zenith_deg=40.0, min_zenith_deg=5.0
    )
    epoch = 0.5 * (t0 + t1)
    for s, e in zip(vi.start, vi.end, strict=True):
        ts = np.arange(np.ceil(s), np.floor(e) + 1.0)
        z = sky.zenith_angle_deg(90.0, 25.0, ts, epoch_unix=epoch)
        assert z.min() >= 5.0 - 1e-6 and z.max() <= 40.0 + 1e-6
    assert vi.start.size >= 3


def test_angular_separation() -> None:
    assert float(sky.angular_separation_deg(0.0, 0.0, 90.0, 0.0)) == pytest.approx(90.0)
    assert float(sky.angular_separation_deg(10.0, 89.0, 190.0, 89.0)) == pytest.approx(2.0)


def test_astropy_difference_is_within_the_derived_margin() -> None:
    """|closed form - astropy's full chain| <= apparent_place_margin_deg, over a decade
    and 30-day windows, with targets near FAST's 40 deg limit (the case that matters)."""
    rng = np.random.default_rng(5)
    worst = 0.0
    for start in (1735689600.0, 1796083200.0, 1893456000.0, 2050000000.0):
        t0, t1 = start, start + 30 * 86400.0
        epoch = 0.5 * (t0 + t1)
        n = 1500
        t = rng.uniform(t0, t1, n)
        ra = rng.uniform(0.0, 360.0, n)
        dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-16)), np.sin(np.radians(68)), n)))
        ref = sky.astropy_zenith_angle_deg(ra, dec, t)
        mine = sky.zenith_angle_deg(ra, dec, t, epoch_unix=epoch)
        diff = float(np.abs(mine - ref).max())
        assert diff <= sky.apparent_place_margin_deg(t0, t1)
        worst = max(worst, diff)
    # the bound is not vacuous: the model is really off by tens of arc seconds
    assert 15.0 / 3600 < worst < sky.apparent_place_margin_deg(0.0, 30 * 86400.0)


def test_astropy_interpolated_reference_matches_the_unmodified_chain() -> None:
    rng = np.random.default_rng(6)
    t = 1796083200.0 + np.arange(0.0, 3 * 86400.0, 37.0)
    ra = rng.uniform(0.0, 360.0, t.size)
    dec = rng.uniform(-14.0, 66.0, t.size)
    exact = sky.astropy_zenith_angle_deg(ra, dec, t)
    fast = sky.astropy_zenith_angle_deg(ra, dec, t, interpolate_s=300.0)
    assert np.abs(exact - fast).max() < 1e-6 / 3600  # a micro-arcsecond
    assert sky.astropy_zenith_angle_deg([], [], []).shape == (0,)


def test_zenith_of_targets_precessed_once_is_the_same_bit_for_bit() -> None:
    """The schedule check precesses each block once, then judges its many seconds
    (``precessed=True``): the same angles as precessing every sample."""
    rng = np.random.default_rng(7)
    ra, dec = rng.uniform(0, 360, 40), rng.uniform(-14, 66, 40)
    owner = rng.integers(0, 40, 100_003)
    t = 1893456000.0 + np.sort(rng.uniform(0, 7 * 86400, owner.size))
    epoch = 1893456000.0 + 3.5 * 86400
    each = sky.zenith_angle_deg(ra[owner], dec[owner], t, epoch_unix=epoch)
    ra_p, dec_p = sky.precess_from_j2000(ra, dec, epoch)
    once = sky.zenith_angle_deg(ra_p[owner], dec_p[owner], t, precessed=True)
    assert once.tobytes() == each.tobytes()
    # the J2000 coordinates taken as already precessed are not the same angles
    assert not np.array_equal(sky.zenith_angle_deg(ra[owner], dec[owner], t, precessed=True), each)
