import numpy as np
import pytest

from ingest.documents import Anchor, Chunk
from retriever.base import Hit
from retriever.mmr import mmr


class Index:
    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors.astype(np.float32)
        self.chunks = [
            Chunk(str(i), "c", "s", "t", ("t",), Anchor("section", "s", "s"), str(i), str(i))
            for i in range(len(vectors))
        ]
        self.row_of = {c.id: row for row, c in enumerate(self.chunks)}


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def setup():
    # 0 and 1 are near-duplicates close to the query; 2 is a little less relevant but different.
    vectors = np.stack([unit(1, 0.1, 0), unit(1, 0.12, 0), unit(0.8, 0, 0.6)])
    index = Index(vectors)
    hits = [Hit(c, 1.0, r) for r, c in enumerate(index.chunks, start=1)]
    return index, hits, unit(1, 0, 0.2)


def test_lambda_one_keeps_the_retrievers_own_order():
    index, hits, query = setup()
    scored = [Hit(h.chunk, s, h.rank) for h, s in zip(hits, (0.2, 0.9, 0.5), strict=True)]
    order = [h.chunk.id for h in mmr(query, scored, index, 3, lambda_=1.0)]
    assert order == ["1", "2", "0"]  # by score, not by cosine


def test_lambda_outside_zero_one_is_refused():
    index, hits, query = setup()
    with pytest.raises(ValueError, match=r"lambda_ must be in \[0, 1\], got 1.5"):
        mmr(query, hits, index, 3, lambda_=1.5)


def test_a_near_duplicate_is_pushed_below_a_different_passage():
    index, hits, query = setup()
    order = [h.chunk.id for h in mmr(query, hits, index, 3, lambda_=0.5)]
    assert order[0] in {"0", "1"}
    assert order[1] == "2"


def test_dense_score_is_the_cosine_to_the_query():
    index, hits, query = setup()
    for hit in mmr(query, hits, index, 3):
        row = int(hit.chunk.id)
        assert abs(hit.dense_score - float(index.vectors[row] @ query)) < 1e-6
