import numpy as np
import pytest

from retriever.base import ranked
from retriever.bm25 import contenders


def full_sort(scores: np.ndarray, rows: np.ndarray, k: int) -> list[tuple[float, int]]:
    return ranked([(float(scores[r]), int(r)) for r in rows], k)


@pytest.mark.parametrize("seed", range(20))
def test_the_partition_keeps_exactly_the_top_k_of_a_full_sort(seed):
    rng = np.random.default_rng(seed)
    # few distinct values, so the k-th score is shared by many rows: ties decide the cut
    scores = rng.integers(0, 6, 5_000).astype(np.float32)
    rows = np.flatnonzero(scores > 0)
    k = int(rng.integers(1, 40))
    kept = contenders(scores, rows, k)
    assert len(kept) < len(rows)
    assert full_sort(scores, kept, k) == full_sort(scores, rows, k)


def test_fewer_rows_than_k_are_all_kept():
    scores = np.array([0.0, 2.0, 1.0], dtype=np.float32)
    rows = np.flatnonzero(scores > 0)
    assert contenders(scores, rows, 5).tolist() == [1, 2]
