"""Ranks with ties read on a grid of 1e-9 of the largest merit, and the places a tie
spans."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from opencall.optim.arrays import FloatArray, IntArray


def _tie_key(v: FloatArray) -> FloatArray:
    """``v`` on a grid of 1e-9 of its largest magnitude: values that differ by round-off
    alone (the same reviews summed in another order) are read as the tie they are."""
    v = np.asarray(v, dtype=np.float64)
    size = float(np.max(np.abs(v))) if v.size else 0.0
    if not (size > 0 and math.isfinite(size)):
        return v
    return np.asarray(np.round(v / (1e-9 * size)), dtype=np.float64)


def _ranks(merit: FloatArray, tiebreak: FloatArray | None = None) -> IntArray:
    """1-based ranks, higher merit first; ties (to 1e-9 of the largest merit, so round-off
    never decides) by ``tiebreak`` (higher first, to the same grid), then index."""
    n = merit.shape[0]
    keys: tuple[Any, ...] = (np.arange(n), -_tie_key(merit))
    if tiebreak is not None:
        keys = (np.arange(n), -_tie_key(tiebreak), -_tie_key(merit))
    order = np.lexsort(keys)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return rank


def _tied_places(
    merit: FloatArray, tiebreak: FloatArray | None = None
) -> tuple[IntArray, IntArray]:
    """Per proposal, the best and the worst rank among those it is tied with (on the grid of
    ``_ranks``; with ``tiebreak``, tied on both): the places an index, not a grade, decides
    between. Untied proposals get their rank twice."""
    if tiebreak is None:  # one key (every bootstrap replicate): two binary searches
        k = -_tie_key(merit)
        ordered = np.sort(k)
        best1 = np.searchsorted(ordered, k, side="left").astype(np.int64) + 1
        return best1, np.searchsorted(ordered, k, side="right").astype(np.int64)
    keys = [_tie_key(merit), _tie_key(tiebreak)]
    # proposals tied on every key share one label: the index of their first distinct row
    _, label = np.unique(np.stack(keys, axis=1), axis=0, return_inverse=True)
    label = np.asarray(label).ravel()
    rank = _ranks(merit, tiebreak)
    n_lab = int(label.max()) + 1 if label.size else 0
    best = np.full(n_lab, np.iinfo(np.int64).max, np.int64)
    worst = np.zeros(n_lab, np.int64)
    np.minimum.at(best, label, rank)
    np.maximum.at(worst, label, rank)
    return best[label], worst[label]
