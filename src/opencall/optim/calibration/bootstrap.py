"""The stratified bootstrap: each proposal's reviews resampled as integer weights, the
model refitted from the point estimate."""

from __future__ import annotations

from typing import Any

import numpy as np

from opencall.optim.arrays import FloatArray, IntArray
from opencall.optim.calibration.fit import _fit
from opencall.optim.calibration.linear import _State, _Structure
from opencall.optim.calibration.ranks import _tied_places


def _bootstrap(
    st: _Structure,
    y: FloatArray,
    w: FloatArray,
    point: _State,
    n_bootstrap: int,
    seed: int,
    opts: dict[str, Any],
) -> tuple[FloatArray, IntArray, IntArray]:
    """Stratified bootstrap: resample each proposal's reviews with replacement, as integer
    weights on the reviews (the structure and its index arrays are reused), and refit from the
    point estimate.  Returns the replicates' standardised merits and, per replicate, each
    proposal's best and worst place among those tied with it (``_tied_places``): a tie is
    decided by no grade, so it counts as every place it spans."""
    p, n_p, n_g = st.p, st.n_p, st.p.shape[0]
    n_reviews = np.bincount(p, minlength=n_p).astype(np.int64)
    rng = np.random.default_rng(seed)
    order = np.argsort(p, kind="stable")
    starts = np.concatenate([[0], np.cumsum(n_reviews)[:-1]])
    slot_p = p[order]
    reps_merit = np.empty((n_bootstrap, n_p))
    reps_best = np.empty((n_bootstrap, n_p), dtype=np.int64)
    reps_worst = np.empty((n_bootstrap, n_p), dtype=np.int64)
    for bi in range(n_bootstrap):
        u = rng.random(n_g)
        draws = starts[slot_p] + np.minimum(
            (u * n_reviews[slot_p]).astype(np.int64), n_reviews[slot_p] - 1
        )
        counts = np.bincount(order[draws], minlength=n_g).astype(np.float64)
        rep, _, _ = _fit(st, y, w * counts, point, **opts)
        reps_merit[bi] = rep.mu + rep.q
        reps_best[bi], reps_worst[bi] = _tied_places(reps_merit[bi])
    return reps_merit, reps_best, reps_worst
