"""Sky geometry for the FAST telescope: sidereal time, zenith angles, visibility windows.

Everything here is closed form and vectorised over targets (and times), so that allocation
and scheduling can handle thousands of targets in microseconds each.  astropy is the
reference (the tests compare against it, offline) but is not used at run time: a full
astropy ICRS -> AltAz transformation costs milliseconds per call, and the scheduler
evaluates millions of (target, time) pairs.

Model (documented accuracy, checked in tests/optim/test_sky.py):

* Sidereal time: IAU 2006 GMST from the Earth Rotation Angle, with UT1 taken as UTC
  (|UT1 - UTC| < 0.9 s by definition of leap seconds); apparent sidereal time adds the
  equation of the equinoxes from the four largest nutation terms (error ~0.03 s).
* Coordinates: targets are given as J2000/ICRS RA/Dec and precessed (IAU 1976 angles) to
  the mean equator of a chosen epoch; the hour angle uses mean sidereal time.  Nutation
  and aberration (< ~40 arcsec together) and refraction (radio: negligible above 50 deg
  altitude for this purpose) are ignored.
* Zenith angle: spherical triangle, cos z = sin(phi) sin(dec) + cos(phi) cos(dec) cos(H).

Against astropy's full ICRS -> AltAz chain (IAU 2006/2000A precession-nutation, annual
and diurnal aberration, light deflection, polar motion, UT1 from the IERS tables;
refraction off) the model differs by at most ``apparent_place_margin_deg``, a bound
derived term by term there (about 47 arcsec; measured maximum about 30 arcsec).  The
scheduler shrinks its visibility windows by that bound, so a block it places stays
inside the limit when judged by astropy too (``astropy_zenith_angle_deg``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opencall.optim.arrays import FloatArray, IntArray

ArrayLike = FloatArray | float


@dataclass(frozen=True)
class Site:
    """An observatory site (geodetic latitude/longitude in degrees, east positive)."""

    lat_deg: float
    lon_deg: float
    height_m: float

    def __post_init__(self) -> None:
        # a NaN latitude passed every zenith comparison (blocks scheduled, their check
        # passed); a latitude past the pole put them 30 deg outside their limits; a
        # longitude of inf or NaN made every target "never visible"
        wrong = [
            what
            for what, bad in (
                ("latitude must lie in [-90, 90] degrees", not -90.0 <= self.lat_deg <= 90.0),
                ("longitude must be a finite number", not math.isfinite(self.lon_deg)),
                ("height must be a finite number", not math.isfinite(self.height_m)),
            )
            if bad
        ]
        if wrong:
            raise ValueError("site: " + "; ".join(wrong))


FAST_SITE = Site(lat_deg=25.6529, lon_deg=106.8567, height_m=1110.0)
FAST_MAX_ZENITH_DEG = 40.0
FAST_FULL_GAIN_ZENITH_DEG = 26.4
FAST_DEC_MIN_DEG = -14.0
FAST_DEC_MAX_DEG = 66.0

UNIX_EPOCH_JD = 2440587.5
J2000_JD = 2451545.0
J2000_UNIX = (J2000_JD - UNIX_EPOCH_JD) * 86400.0  # 946728000.0
TT_MINUS_UTC_S = 69.184  # 37 leap seconds (since 2017) + 32.184 s; only enters tiny terms
ERA_RATE = 1.00273781191135448  # turns of the Earth per UT1 day, minus one day
# d(GMST)/d(UT1): ERA rate plus general precession in RA (4612.157"/century).
SIDEREAL_RATE = ERA_RATE + 4612.156534 / 1296000.0 / 36525.0
SIDEREAL_DAY_S = 86400.0 / SIDEREAL_RATE


def _as_float_array(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def gmst_hours(unix_seconds: npt.ArrayLike) -> FloatArray:
    """Greenwich mean sidereal time (IAU 2006, UT1 ~ UTC) in hours [0, 24)."""
    t = _as_float_array(unix_seconds)
    du = (t - J2000_UNIX) / 86400.0  # UT1 days since J2000.0
    du_int = np.floor(du)
    du_frac = du - du_int
    # ERA in turns; integer part of du dropped first to keep float64 precision.
    era_turns = 0.7790572732640 + du_frac + (ERA_RATE - 1.0) * du
    tt = (t + TT_MINUS_UTC_S - J2000_UNIX) / 86400.0 / 36525.0  # TT Julian centuries
    poly_arcsec = 0.014506 + tt * (
        4612.156534 + tt * (1.3915817 + tt * (-0.00000044 + tt * (-0.000029956)))
    )
    turns = era_turns + poly_arcsec / 1296000.0
    return np.asarray(np.mod(turns, 1.0) * 24.0, dtype=np.float64)


def equation_of_equinoxes_hours(unix_seconds: npt.ArrayLike) -> FloatArray:
    """Equation of the equinoxes (apparent minus mean sidereal time) in hours.

    Four largest nutation terms (Meeus, Astronomical Algorithms ch. 22): error < 0.5".
    """
    t = _as_float_array(unix_seconds)
    tc = (t + TT_MINUS_UTC_S - J2000_UNIX) / 86400.0 / 36525.0
    omega = np.radians(125.04452 - 1934.136261 * tc)
    l_sun = np.radians(280.4665 + 36000.7698 * tc)
    l_moon = np.radians(218.3165 + 481267.8813 * tc)
    dpsi = (
        -17.20 * np.sin(omega)
        - 1.32 * np.sin(2 * l_sun)
        - 0.23 * np.sin(2 * l_moon)
        + 0.21 * np.sin(2 * omega)
    )
    eps = np.radians(23.4392911 - 0.0130042 * tc)
    return np.asarray(dpsi * np.cos(eps) / 15.0 / 3600.0, dtype=np.float64)


def lst_hours(
    unix_seconds: npt.ArrayLike, lon_deg: float = FAST_SITE.lon_deg, kind: str = "mean"
) -> FloatArray:
    """Local sidereal time in hours [0, 24) at east longitude ``lon_deg``.

    ``kind`` is ``"mean"`` or ``"apparent"`` (as astropy's ``Time.sidereal_time``).
    """
    if kind not in ("mean", "apparent"):
        raise ValueError(f"kind must be 'mean' or 'apparent', got {kind!r}")
    lst = gmst_hours(unix_seconds) + lon_deg / 15.0
    if kind == "apparent":
        lst = lst + equation_of_equinoxes_hours(unix_seconds)
    return np.asarray(np.mod(lst, 24.0), dtype=np.float64)


def precess_from_j2000(
    ra_deg: npt.ArrayLike, dec_deg: npt.ArrayLike, epoch_unix: float
) -> tuple[FloatArray, FloatArray]:
    """Precess J2000 RA/Dec (deg) to the mean equator and equinox of ``epoch_unix``.

    IAU 1976 precession angles (Lieske 1977; Meeus eq. 21.4): good to well under an
    arcsecond over the decades that matter here.
    """
    ra = np.radians(_as_float_array(ra_deg))
    dec = np.radians(_as_float_array(dec_deg))
    t = (epoch_unix + TT_MINUS_UTC_S - J2000_UNIX) / 86400.0 / 36525.0
    asec = np.pi / 180.0 / 3600.0
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * asec
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * asec
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * asec
    cd = np.cos(dec)
    sd = np.sin(dec)
    a = cd * np.sin(ra + zeta)
    b = np.cos(theta) * cd * np.cos(ra + zeta) - np.sin(theta) * sd
    c = np.sin(theta) * cd * np.cos(ra + zeta) + np.cos(theta) * sd
    ra_out = np.mod(np.degrees(np.arctan2(a, b) + z), 360.0)
    dec_out = np.degrees(np.arcsin(np.clip(c, -1.0, 1.0)))
    return np.asarray(ra_out, dtype=np.float64), np.asarray(dec_out, dtype=np.float64)


def hour_angle_limit_hours(
    dec_deg: npt.ArrayLike,
    lat_deg: float = FAST_SITE.lat_deg,
    max_zenith_deg: npt.ArrayLike = FAST_MAX_ZENITH_DEG,
) -> FloatArray:
    """Half-width in (sidereal) hours of the hour-angle window with zenith <= max_zenith.

    Closed form: cos z = sin(phi) sin(dec) + cos(phi) cos(dec) cos(H) >= cos(zmax), so
    H_lim = arccos((cos zmax - sin phi sin dec) / (cos phi cos dec)); 0 where the target
    never comes within the limit, 12 where it always is.
    """
    dec = np.radians(_as_float_array(dec_deg))
    phi = np.radians(lat_deg)
    denom = np.cos(phi) * np.cos(dec)
    zmax = np.radians(_as_float_array(max_zenith_deg))
    num = np.cos(zmax) - np.sin(phi) * np.sin(dec)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(denom) > 1e-15, num / np.where(denom == 0, 1.0, denom), 0.0)
    # at the pole (denom ~ 0) the zenith angle is constant: all or nothing
    pole_ok = np.abs(np.radians(90.0 - lat_deg) - np.abs(np.pi / 2 - dec)) <= zmax
    h = np.degrees(np.arccos(np.clip(ratio, -1.0, 1.0))) / 15.0
    h = np.where(ratio > 1.0, 0.0, h)
    h = np.where(ratio < -1.0, 12.0, h)
    h = np.where(np.abs(denom) <= 1e-15, np.where(pole_ok, 12.0, 0.0), h)
    return np.asarray(h, dtype=np.float64)


def lst_windows(
    ra_deg: npt.ArrayLike,
    dec_deg: npt.ArrayLike,
    lat_deg: float = FAST_SITE.lat_deg,
    max_zenith_deg: float = FAST_MAX_ZENITH_DEG,
    epoch_unix: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Per-target LST window (start, end) in hours within [0, 24).

    The window wraps when ``end < start``.  Never-visible targets get NaN for both;
    always-visible ones get (0, 24).  With ``epoch_unix`` the J2000 coordinates are first
    precessed to that epoch.
    """
    ra = _as_float_array(ra_deg)
    dec = _as_float_array(dec_deg)
    if epoch_unix is not None:
        ra, dec = precess_from_j2000(ra, dec, epoch_unix)
    h = hour_angle_limit_hours(dec, lat_deg, max_zenith_deg)
    centre = ra / 15.0
    start = np.mod(centre - h, 24.0)
    end = np.mod(centre + h, 24.0)
    start = np.where(h >= 12.0, 0.0, start)
    end = np.where(h >= 12.0, 24.0, end)
    start = np.where(h <= 0.0, np.nan, start)
    end = np.where(h <= 0.0, np.nan, end)
    return np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)


def lst_fraction_in_bins(
    ra_deg: npt.ArrayLike,
    dec_deg: npt.ArrayLike,
    n_bins: int = 24,
    max_zenith_deg: float = FAST_MAX_ZENITH_DEG,
    lat_deg: float = FAST_SITE.lat_deg,
) -> FloatArray:
    """Fraction of each target's visible LST window falling in each of ``n_bins`` LST bins.

    Returns an (n_targets, n_bins) array; rows sum to 1 for visible targets and are all
    zero for never-visible ones.  Bin k covers LST [24 k / n, 24 (k + 1) / n) hours.
    """
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    ra = np.atleast_1d(_as_float_array(ra_deg))
    dec = np.atleast_1d(_as_float_array(dec_deg))
    h = hour_angle_limit_hours(dec, lat_deg, max_zenith_deg)
    centre = np.mod(ra / 15.0, 24.0)
    lo = (centre - h)[:, None]
    hi = (centre + h)[:, None]
    edges = np.linspace(0.0, 24.0, n_bins + 1)
    out = np.zeros((ra.size, n_bins), dtype=np.float64)
    # The window [lo, hi] lies within [-12, 36]; add the overlaps with the bins shifted by
    # -24, 0 and +24 hours to account for wrapping.
    for shift in (-24.0, 0.0, 24.0):
        b_lo = edges[None, :-1] + shift
        b_hi = edges[None, 1:] + shift
        out += np.clip(np.minimum(hi, b_hi) - np.maximum(lo, b_lo), 0.0, None)
    total = 2.0 * h[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(total > 0, out / np.where(total > 0, total, 1.0), 0.0)
    return np.asarray(frac, dtype=np.float64)


def zenith_angle_deg(
    ra_deg: npt.ArrayLike,
    dec_deg: npt.ArrayLike,
    unix_seconds: npt.ArrayLike,
    site: Site = FAST_SITE,
    epoch_unix: float | None = None,
    *,
    precessed: bool = False,
) -> FloatArray:
    """Zenith angle in degrees of J2000 targets at the given UTC times (broadcasting).

    Coordinates are precessed to ``epoch_unix`` (default: the mean of ``unix_seconds``);
    precession moves a target by ~0.014 deg per year, so one epoch per week-long
    schedule is exact to far better than the one-second checks need.  With
    ``precessed`` the coordinates are already of that epoch (from
    :func:`precess_from_j2000`: a caller judging many times of few targets precesses
    each target once, with the same result).
    """
    t = _as_float_array(unix_seconds)
    if precessed:
        ra, dec = _as_float_array(ra_deg), _as_float_array(dec_deg)
    else:
        if epoch_unix is None:
            epoch_unix = float(np.mean(t)) if t.size else J2000_UNIX
        ra, dec = precess_from_j2000(ra_deg, dec_deg, epoch_unix)
    ha = np.radians(lst_hours(t, site.lon_deg) * 15.0 - ra)
    phi = np.radians(site.lat_deg)
    d = np.radians(dec)
    cosz = np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(ha)
    return np.asarray(np.degrees(np.arccos(np.clip(cosz, -1.0, 1.0))), dtype=np.float64)


def angular_separation_deg(
    ra1_deg: npt.ArrayLike, dec1_deg: npt.ArrayLike, ra2_deg: npt.ArrayLike, dec2_deg: npt.ArrayLike
) -> FloatArray:
    """Great-circle separation in degrees (Vincenty formula, broadcasting)."""
    ra1 = np.radians(_as_float_array(ra1_deg))
    ra2 = np.radians(_as_float_array(ra2_deg))
    d1 = np.radians(_as_float_array(dec1_deg))
    d2 = np.radians(_as_float_array(dec2_deg))
    dra = ra2 - ra1
    num1 = np.cos(d2) * np.sin(dra)
    num2 = np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(dra)
    den = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(dra)
    return np.asarray(np.degrees(np.arctan2(np.hypot(num1, num2), den)), dtype=np.float64)


@dataclass(frozen=True)
class VisibleIntervals:
    """UTC visibility intervals of many targets, flat and sorted by (target, start).

    ``target[k]`` is the index of the target that is visible over
    ``[start[k], end[k]]`` (unix seconds).
    """

    target: IntArray
    start: FloatArray
    end: FloatArray


def _wrap_hours(x: FloatArray) -> FloatArray:
    return np.asarray(np.mod(x + 12.0, 24.0) - 12.0, dtype=np.float64)


def _transits_from_precessed_ra(
    ra_deg_p: FloatArray, t0_unix: float, t1_unix: float, site: Site
) -> tuple[IntArray, FloatArray]:
    """Upper transits (hour angle 0) of each target from about t0 - 1 to t1 + 1 sidereal
    days: flat arrays (target index, unix time), sorted by target then time, refined by
    Newton steps on the sidereal-time model to ~1e-6 s."""
    n = ra_deg_p.size
    centre = ra_deg_p / 15.0
    lst0 = float(lst_hours(np.array([t0_unix]), site.lon_deg)[0])
    first = t0_unix + np.mod(centre - lst0, 24.0) * 3600.0 / SIDEREAL_RATE - SIDEREAL_DAY_S
    n_days = int(np.ceil((t1_unix - t0_unix) / SIDEREAL_DAY_S)) + 2
    k = np.arange(n_days, dtype=np.float64)
    times = first[:, None] + k[None, :] * SIDEREAL_DAY_S
    for _ in range(2):  # Newton refinement against the full sidereal-time model
        err = _wrap_hours(lst_hours(times, site.lon_deg) - centre[:, None])
        times = times - err * 3600.0 / SIDEREAL_RATE
    target = np.repeat(np.arange(n, dtype=np.int64), n_days)
    return target, times.reshape(-1)


def visible_intervals(
    ra_deg: npt.ArrayLike,
    dec_deg: npt.ArrayLike,
    t0_unix: float,
    t1_unix: float,
    site: Site = FAST_SITE,
    max_zenith_deg: npt.ArrayLike = FAST_MAX_ZENITH_DEG,
    min_zenith_deg: npt.ArrayLike = 0.0,
    epoch_unix: float | None = None,
) -> VisibleIntervals:
    """UTC intervals within [t0, t1] in which each target has min_zenith <= z <= max_zenith.

    Computed by finding each upper transit (Newton-refined on the sidereal-time model) and
    converting the closed-form hour-angle half-widths to solar seconds with the sidereal
    rate, so interval ends are exact to well under a second against ``zenith_angle_deg``.
    ``max_zenith_deg``/``min_zenith_deg`` may be per-target arrays.  Coordinates are
    precessed to ``epoch_unix`` (default: the middle of the window).
    """
    ra = np.atleast_1d(_as_float_array(ra_deg))
    dec = np.atleast_1d(_as_float_array(dec_deg))
    n = ra.size
    zmax = np.broadcast_to(_as_float_array(max_zenith_deg), (n,))
    zmin = np.broadcast_to(_as_float_array(min_zenith_deg), (n,))
    if epoch_unix is None:
        epoch_unix = 0.5 * (t0_unix + t1_unix)
    ra_p, dec_p = precess_from_j2000(ra, dec, epoch_unix)
    h_max = hour_angle_limit_hours(dec_p, site.lat_deg, zmax) if n else np.zeros(0)
    h_min = np.where(
        zmin > 0, hour_angle_limit_hours(dec_p, site.lat_deg, np.maximum(zmin, 0.0)), 0.0
    )
    # h_min = 0: never closer to the zenith than zmin (one arc per transit); h_min >= h_max:
    # always too close, so the arcs below come out empty and are dropped.
    empty: tuple[IntArray, FloatArray, FloatArray] = (
        np.zeros(0, dtype=np.int64),
        np.zeros(0),
        np.zeros(0),
    )
    if n == 0 or t1_unix <= t0_unix:
        return VisibleIntervals(*empty)
    tgt, tr = _transits_from_precessed_ra(ra_p, t0_unix, t1_unix, site)
    sec_per_hour = 3600.0 / SIDEREAL_RATE
    hmax_s = h_max[tgt] * sec_per_hour
    hmin_s = h_min[tgt] * sec_per_hour
    always = h_max[tgt] >= 12.0
    # Two arcs per transit: rising side [-hmax, -hmin] and setting side [hmin, hmax];
    # when hmin = 0 they touch at transit and are merged.
    split = hmin_s > 0
    s_list = [tr - hmax_s, np.where(split, tr + hmin_s, np.nan)]
    e_list = [np.where(split, tr - hmin_s, tr + hmax_s), np.where(split, tr + hmax_s, np.nan)]
    tg = np.concatenate([tgt, tgt])
    s = np.concatenate(s_list)
    e = np.concatenate(e_list)
    alw = np.concatenate([always & ~split, np.zeros_like(always)])
    s = np.where(alw, t0_unix, s)
    e = np.where(alw, t1_unix, e)
    s = np.clip(s, t0_unix, t1_unix)
    e = np.clip(e, t0_unix, t1_unix)
    valid = np.isfinite(s) & (e > s) & (np.concatenate([h_max[tgt], h_max[tgt]]) > 0)
    tg, s, e = tg[valid], s[valid], e[valid]
    order = np.lexsort((s, tg))
    tg, s, e = tg[order], s[order], e[order]
    # merge overlapping or touching intervals of the same target (always-visible duplicates)
    if s.size:
        same = tg[1:] == tg[:-1]
        touch = same & (s[1:] <= e[:-1])
        if touch.any():
            out_t: list[int] = []
            out_s: list[float] = []
            out_e: list[float] = []
            for i in range(s.size):
                if out_t and out_t[-1] == tg[i] and s[i] <= out_e[-1]:
                    out_e[-1] = max(out_e[-1], float(e[i]))
                else:
                    out_t.append(int(tg[i]))
                    out_s.append(float(s[i]))
                    out_e.append(float(e[i]))
            return VisibleIntervals(
                np.asarray(out_t, dtype=np.int64), np.asarray(out_s), np.asarray(out_e)
            )
    return VisibleIntervals(tg.astype(np.int64), s, e)


# --------------------------------------------------------------------------- margin

# Upper bounds, in arc seconds, on how far the apparent position that astropy's full
# ICRS -> AltAz chain computes can lie from this module's model (a rotation by at most
# theta moves every direction, and so its zenith angle, by at most theta):
#: annual aberration: kappa = 20.4955" times (1 + e) at perihelion (e = 0.0167)
ABERRATION_ANNUAL_ARCSEC = 20.84
#: diurnal aberration: 0.3200" cos(latitude), bounded by its value at the equator
ABERRATION_DIURNAL_ARCSEC = 0.32
#: nutation left over by using mean sidereal time with mean places: the rotation about the
#: pole (dpsi cos eps) cancels against the equation of the equinoxes that mean sidereal
#: time omits, leaving a rotation of sqrt(deps^2 + (dpsi sin eps)^2) <= 9.21" (18.6-year
#: term: deps 9.20" cos, dpsi sin eps 6.85" sin) plus the short-period terms (< 0.9")
NUTATION_RESIDUAL_ARCSEC = 10.2
#: UT1 - UTC is kept within 0.9 s by leap seconds; the model takes UT1 = UTC.  0.9 s of
#: Earth rotation (15.04"/s) moves the zenith angle by at most that times cos(latitude)
#: (the bound used here drops the cos(latitude) factor)
UT1_ARCSEC = 0.9 * 15.041
#: gravitational light deflection by the Sun, at most 1.75" (at the solar limb)
DEFLECTION_ARCSEC = 1.75
#: polar motion (< 0.6"), frame bias (0.023"), IAU 1976 against IAU 2006 precession and
#: the sidereal-time series (< 0.1" before 2050), floating point (< 0.01")
SMALL_TERMS_ARCSEC = 0.75
#: a single precession epoch per window: general precession moves a place by at most
#: 50.29" per year away from the epoch
PRECESSION_ARCSEC_PER_YEAR = 50.29


def apparent_place_margin_deg(
    t0_unix: float, t1_unix: float, epoch_unix: float | None = None
) -> float:
    """Bound (deg) on |closed-form zenith angle - astropy's| over [t0, t1].

    The sum of the terms above (47.4") plus the precession accumulated between
    the precession epoch (default: the middle of the window, as ``visible_intervals``
    uses) and the farther end of the window.  Refraction is off in the reference; with
    refraction on, a target only rises, so the limit is never crossed because of it.
    tests/optim/test_sky.py measures the actual difference (about 30" at most).
    """
    if epoch_unix is None:
        epoch_unix = 0.5 * (t0_unix + t1_unix)
    years = max(abs(t1_unix - epoch_unix), abs(epoch_unix - t0_unix)) / (365.25 * 86400.0)
    arcsec = (
        ABERRATION_ANNUAL_ARCSEC
        + ABERRATION_DIURNAL_ARCSEC
        + NUTATION_RESIDUAL_ARCSEC
        + UT1_ARCSEC
        + DEFLECTION_ARCSEC
        + SMALL_TERMS_ARCSEC
        + PRECESSION_ARCSEC_PER_YEAR * years
    )
    return arcsec / 3600.0


def astropy_zenith_angle_deg(
    ra_deg: npt.ArrayLike,
    dec_deg: npt.ArrayLike,
    unix_seconds: npt.ArrayLike,
    site: Site = FAST_SITE,
    interpolate_s: float | None = None,
) -> FloatArray:
    """Reference zenith angle (deg) by astropy's full ICRS -> AltAz chain, offline.

    Not used by the optimisers (milliseconds per call); it judges them in tests and
    benchmarks.  No download: astropy's bundled IERS tables, extrapolated past their end
    (``iers_degraded_accuracy = "ignore"``); refraction off (pressure 0, astropy's
    default).  ``interpolate_s`` uses astropy's ``ErfaAstromInterpolator`` at that time
    step (the per-time astrometry context interpolated; at 300 s it changes altitudes
    by < 1e-7 arc seconds and is about 50x faster).  Arrays broadcast to one shape.
    """
    import warnings

    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.coordinates.erfa_astrom import ErfaAstromInterpolator, erfa_astrom
    from astropy.time import Time
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "ignore"
    ra, dec, t = np.broadcast_arrays(
        _as_float_array(ra_deg), _as_float_array(dec_deg), _as_float_array(unix_seconds)
    )
    if t.size == 0:
        return np.zeros(t.shape)
    loc = EarthLocation(
        lat=site.lat_deg * u.deg, lon=site.lon_deg * u.deg, height=site.height_m * u.m
    )
    coords = SkyCoord(ra.ravel() * u.deg, dec.ravel() * u.deg, frame="icrs")
    frame = AltAz(obstime=Time(t.ravel(), format="unix", scale="utc"), location=loc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if interpolate_s is None:
            alt = coords.transform_to(frame).alt.deg
        else:
            with erfa_astrom.set(ErfaAstromInterpolator(interpolate_s * u.s)):
                alt = coords.transform_to(frame).alt.deg
    return np.asarray(90.0 - np.asarray(alt, dtype=np.float64), dtype=np.float64).reshape(t.shape)
