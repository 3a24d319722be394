"""Instances of the twenty-fourth round (trialopt24), each a function of its seed, and
peers written from the docstrings of ``opencall.optim.logistics`` (not from its code).

``route``
    a cruise route of two to four waypoints whose arcs are long (90 to 179 degrees of the
    great circle, an ocean crossing in one arc) and a site anywhere on the sphere, a third
    of them near the far side of the arc's great circle (the half of it the arc does not
    cover). Peer (``route_peer``): the distance to each arc found by sampling the arc at
    4,001 points (spherical interpolation) and refining the best with
    ``scipy.optimize.minimize_scalar``.
"""

from __future__ import annotations

import math
import random

import numpy as np
from scipy.optimize import minimize_scalar

from opencall.optim.logistics.geometry import EARTH_RADIUS_KM


def _unit(lat: float, lon: float) -> np.ndarray:
    la, lo = math.radians(lat), math.radians(lon)
    return np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])


def _latlon(v: np.ndarray) -> tuple[float, float]:
    v = v / np.linalg.norm(v)
    return math.degrees(math.asin(max(-1.0, min(1.0, v[2])))), math.degrees(math.atan2(v[1], v[0]))


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    return math.atan2(float(np.linalg.norm(np.cross(u, v))), float(np.dot(u, v)))


def route(seed: int) -> tuple[tuple[float, float], tuple[tuple[float, float], ...]]:
    """(site, route): a route of long arcs and a site, the same for the same ``seed``."""
    rng = random.Random(seed * 7919 + 24)
    lat, lon = rng.uniform(-60, 60), rng.uniform(-180, 180)
    pts = [(lat, lon)]
    for _ in range(rng.randint(1, 3)):
        a = _unit(*pts[-1])
        # a direction perpendicular to a, turned by a random heading
        east = np.cross([0.0, 0.0, 1.0], a)
        east /= np.linalg.norm(east)
        north = np.cross(a, east)
        h = rng.uniform(0, 2 * math.pi)
        d = math.cos(h) * east + math.sin(h) * north
        step = math.radians(rng.uniform(90, 179))
        pts.append(_latlon(math.cos(step) * a + math.sin(step) * d))
    if rng.random() < 1 / 3:
        # near the far side of the first arc's great circle: the antipode of its middle
        a, b = _unit(*pts[0]), _unit(*pts[1])
        mid = a + b
        site = _latlon(
            -mid + rng.uniform(-0.05, 0.05) * np.cross(a, b) / np.linalg.norm(np.cross(a, b))
        )
    else:
        site = (math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180))
    return site, tuple(pts)


def route_peer(site: tuple[float, float], pts: tuple[tuple[float, float], ...]) -> float:
    """The distance (km) from ``site`` to the route of great-circle arcs ``pts``."""
    p = _unit(*site)
    best = math.inf
    for wa, wb in zip(pts[:-1], pts[1:], strict=True):
        a, b = _unit(*wa), _unit(*wb)
        omega = _angle(a, b)

        def at(t: float, a: np.ndarray = a, b: np.ndarray = b, omega: float = omega) -> float:
            v = (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)
            return _angle(p, v)

        ts = np.linspace(0.0, 1.0, 4001)
        v = (np.outer(np.sin((1 - ts) * omega), a) + np.outer(np.sin(ts * omega), b)) / math.sin(
            omega
        )
        vals = np.arctan2(np.linalg.norm(np.cross(v, p), axis=1), v @ p)
        j = int(np.argmin(vals))
        lo, hi = float(ts[max(j - 1, 0)]), float(ts[min(j + 1, len(ts) - 1)])
        res = minimize_scalar(at, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        best = min(best, float(vals[j]), float(res.fun), at(0.0), at(1.0))
    return best * EARTH_RADIUS_KM
