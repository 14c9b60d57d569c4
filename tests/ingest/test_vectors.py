import numpy as np
import pytest

from ingest.vectors import build_index, index_kind, search


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int, rows=None):
    scores = vectors @ query
    candidates = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    best = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
    return scores[best], best


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_matches_brute_force_cosine(kind):
    vectors, query = unit_rows(500, 32), unit_rows(1, 32, seed=1)[0]
    index = build_index(vectors, kind)
    scores, rows = search(index, query, 10)
    ref_scores, ref_rows = brute_force(vectors, query, 10)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5)
    assert list(rows) == list(ref_rows)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_restricted_to_allowed_rows(kind):
    vectors, query = unit_rows(300, 16), unit_rows(1, 16, seed=2)[0]
    allowed = np.arange(0, 300, 7)
    _, rows = search(build_index(vectors, kind), query, 5, allowed)
    _, ref_rows = brute_force(vectors, query, 5, allowed)
    assert list(rows) == list(ref_rows)


def test_auto_switches_to_hnsw_above_the_threshold():
    vectors = unit_rows(50, 8)
    assert index_kind(build_index(vectors, "auto", hnsw_above=100)) == "flat"
    assert index_kind(build_index(vectors, "auto", hnsw_above=10)) == "hnsw"


def test_k_larger_than_the_index_returns_everything():
    _, rows = search(build_index(unit_rows(3, 8)), unit_rows(1, 8)[0], 10)
    assert sorted(rows) == [0, 1, 2]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="index kind must be"):
        build_index(unit_rows(2, 4), "ivf")
