"""The two-way fixed-effects weighted least squares (proposal and reviewer effects
differenced out), one sparse factorisation of the reviewer graph shared by every cell."""

from __future__ import annotations

import numpy as np

from opencall.optim.arrays import FloatArray, IntArray

# --------------------------------------------------------------------------- fixed effects


class FixedEffects:
    """Projection off proposal and reviewer effects (two-way within transformation).

    ``residualize(V)`` returns ``V - a_{p(i)} - b_{r(i)}`` with ``(a, b)`` the (weighted)
    least-squares fit of every column of ``V``.  The proposals are eliminated exactly (their block is diagonal);
    the reviewers' Schur complement, with one reviewer per connected component of the
    review graph held at zero, is factorised once with SuperLU.
    """

    def __init__(
        self,
        proposal_idx: IntArray,
        reviewer_idx: IntArray,
        n_p: int,
        n_r: int,
        weight: FloatArray | None = None,
    ):
        import scipy.sparse as sp
        from scipy.sparse import csgraph
        from scipy.sparse.linalg import splu

        self.p = np.asarray(proposal_idx, dtype=np.int64)
        self.r = np.asarray(reviewer_idx, dtype=np.int64)
        self.n_p, self.n_r = int(n_p), int(n_r)
        n = self.p.shape[0]
        self.n = n
        if np.any(np.bincount(self.p, minlength=self.n_p) == 0) or np.any(
            np.bincount(self.r, minlength=self.n_r) == 0
        ):
            raise ValueError("every proposal and every reviewer needs at least one review")
        self.w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
        if self.w.shape != (n,) or not np.all(self.w > 0) or not np.all(np.isfinite(self.w)):
            raise ValueError("weights must be finite and positive, one per review")
        self.count_p = np.bincount(self.p, weights=self.w, minlength=self.n_p)
        self.count_r = np.bincount(self.r, weights=self.w, minlength=self.n_r)
        ones = np.ones(n)
        self.P = sp.csr_matrix((ones, (np.arange(n), self.p)), shape=(n, self.n_p))
        self.R = sp.csr_matrix((ones, (np.arange(n), self.r)), shape=(n, self.n_r))
        bip = sp.bmat([[None, self.P.T @ self.R], [self.R.T @ self.P, None]]).tocsr()
        self.n_components, labels = csgraph.connected_components(bip, directed=False)
        # one grounded reviewer per component (components without reviewers cannot exist)
        rl = labels[self.n_p :]
        grounded = np.zeros(self.n_r, dtype=bool)
        for c in range(self.n_components):
            members = np.flatnonzero(rl == c)
            if members.size:
                grounded[members[0]] = True
        self.free = np.flatnonzero(~grounded)
        N = (self.P.T @ sp.diags(self.w) @ self.R).tocsr()  # n_p x n_r weighted counts
        S = sp.diags(self.count_r) - N.T @ sp.diags(1.0 / self.count_p) @ N
        S = S.tocsc()[self.free][:, self.free].tocsc()
        self._N = N
        self._lu = splu(S) if self.free.size else None
        #: parameters absorbed by the two effects
        self.k = self.n_p + self.n_r - self.n_components

    def residualize(self, V: FloatArray) -> FloatArray:
        V = np.asarray(V, dtype=np.float64)
        one = V.ndim == 1
        V2 = V[:, None] if one else V
        WV = V2 * self.w[:, None]
        sum_p = np.asarray(self.P.T @ WV)
        sum_r = np.asarray(self.R.T @ WV)
        mean_p = sum_p / self.count_p[:, None]
        rhs = sum_r - np.asarray(self._N.T @ mean_p)
        b = np.zeros((self.n_r, V2.shape[1]))
        if self._lu is not None:
            b[self.free] = self._lu.solve(np.ascontiguousarray(rhs[self.free]))
        a = mean_p - np.asarray(self._N @ b) / self.count_p[:, None]
        out = V2 - a[self.p] - b[self.r]
        return out[:, 0] if one else out
