"""Distances on the Earth for cruise planning: great-circle distance and the distance from a
point to a route of great-circle arcs (hand-written: the allowed libraries offer no
point-to-great-circle-arc distance; astropy only gives point-to-point separations)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from opencall.optim.arrays import FloatArray

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius
#: consecutive waypoints farther apart than this (within 1 m of antipodal) make no arc
_ANTIPODAL_KM = math.pi * EARTH_RADIUS_KM - 1e-3


def _unit(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> FloatArray:
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _angle(u: FloatArray, v: FloatArray) -> FloatArray:
    # atan2 of |u x v| and u.v: accurate for small and large angles alike
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    return np.asarray(np.arctan2(cross, np.sum(u * v, axis=-1)), dtype=np.float64)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius.

    The angle between the two unit vectors is taken as ``atan2(|u x v|, u . v)``, which is
    accurate for small and nearly antipodal separations alike (unlike the arccosine of the
    dot product).

    Parameters
    ----------
    lat1, lon1 : float
        The first point, degrees.
    lat2, lon2 : float
        The second point, degrees.

    Returns
    -------
    float
        The distance in km (``EARTH_RADIUS_KM``, the IUGG mean radius).

    References
    ----------
    .. [1] H. Moritz, "Geodetic Reference System 1980", Journal of Geodesy 74 (2000) 128-133
       (the mean Earth radius R1 = 6371.0088 km).
    """
    return float(_angle(_unit(lat1, lon1), _unit(lat2, lon2)) * EARTH_RADIUS_KM)


def route_distance_km(
    lat: float, lon: float, route: Sequence[tuple[float, float]]
) -> tuple[float, float]:
    """Distance from a point to a route of great-circle arcs, and where along it.

    For each arc the nearest point is the foot of the perpendicular great circle when it
    falls inside the arc (the cross-track distance, ``asin(p . n)`` with ``n`` the arc's
    unit normal), else the nearer end point.

    Parameters
    ----------
    lat, lon : float
        The point, degrees.
    route : sequence of (float, float)
        The route's waypoints (lat, lon) in degrees, joined by great-circle arcs; one
        waypoint is a single point.

    Returns
    -------
    distance_km : float
        The distance from the point to the nearest point of the route.
    position_km : float
        How far along the route (from the first waypoint) that nearest point lies.

    References
    ----------
    .. [1] E. Williams, "Aviation Formulary", section "Cross track error"
       (https://edwilliams.org/avform147.htm).
    """
    p = _unit(lat, lon)
    pts = _unit([w[0] for w in route], [w[1] for w in route])
    if len(route) == 1:
        return float(_angle(p, pts[0]) * EARTH_RADIUS_KM), 0.0
    best, best_pos, along = math.inf, 0.0, 0.0
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        seg = float(_angle(a, b))
        d_a, d_b = float(_angle(p, a)), float(_angle(p, b))
        cand, pos = (d_a, 0.0) if d_a <= d_b else (d_b, seg)
        normal = np.cross(a, b)
        norm = float(np.linalg.norm(normal))
        if norm > 1e-12:
            normal = normal / norm
            foot = p - float(np.dot(p, normal)) * normal
            foot_norm = float(np.linalg.norm(foot))
            if foot_norm > 1e-12:
                foot = foot / foot_norm
                t = float(_angle(a, foot))
                # the foot lies on the arc when it is as far from the two ends together as
                # they are apart: each distance at most the arc's took a foot on the far
                # side of the great circle, which an arc of 120 degrees or more leaves
                # within that of both ends (a site 11,675 km from an arc of 150 degrees
                # along the equator read 0 km from it)
                if t + float(_angle(foot, b)) <= seg + 1e-12:
                    cross_track = abs(math.asin(max(-1.0, min(1.0, float(np.dot(p, normal))))))
                    if cross_track < cand:
                        cand, pos = cross_track, t
        if cand < best:
            best, best_pos = cand, along + pos
        along += seg
    return best * EARTH_RADIUS_KM, best_pos * EARTH_RADIUS_KM


def antipodal(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two waypoints (lat, lon in degrees) lie within 1 m of antipodal, where no one
    great circle joins them: a route may not go from one to the other in one arc.

    Parameters
    ----------
    a, b : tuple of float
        The waypoints, (lat, lon) in degrees.

    Returns
    -------
    bool
        True when their great-circle distance is within 1 m of half the Earth's
        circumference.
    """
    return great_circle_km(a[0], a[1], b[0], b[1]) > _ANTIPODAL_KM
