"""Small geometric helpers: unit vectors, setup + slew gaps between targets,
and the priority weight of a block."""

from __future__ import annotations

import numpy as np

from opencall.optim.arrays import FloatArray
from opencall.optim.scheduling.problem import FastScheduleProblem


def _unit_vectors(ra_deg: FloatArray, dec_deg: FloatArray) -> FloatArray:
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)


def _gaps(problem: FastScheduleProblem, xyz_a: FloatArray, xyz_b: FloatArray) -> FloatArray:
    """setup + great-circle slew time between unit vectors (broadcasting over rows)."""
    cross = np.linalg.norm(np.cross(xyz_a, xyz_b), axis=-1)
    dot = np.sum(xyz_a * xyz_b, axis=-1)
    sep = np.degrees(np.arctan2(cross, dot))
    return np.asarray(problem.setup_s + sep / problem.slew_deg_per_s, dtype=np.float64)


def _gap_row(problem: FastScheduleProblem, xyz_rows: FloatArray, xyz_one: FloatArray) -> FloatArray:
    """Fast path of ``_gaps`` for many rows against one vector (dot product + arccos;
    error ~1e-5 s, far inside the checker's 1e-3 s tolerance). Clipped with
    ``np.minimum(np.maximum(...))``, the same values as ``np.clip`` (NaN and -0.0 included)
    without its Python wrapper: the search calls this about 100,000 times a schedule."""
    dot = np.minimum(np.maximum(xyz_rows @ xyz_one, -1.0), 1.0)
    return np.asarray(
        problem.setup_s + np.degrees(np.arccos(dot)) / problem.slew_deg_per_s, dtype=np.float64
    )


def _weight(priority: int, duration_s: float) -> float:
    return (6 - priority) * duration_s / 3600.0
