from ingest.documents import Anchor, Chunk
from retriever.base import Hit
from retriever.hybrid import HybridRetriever


def chunk(name: str) -> Chunk:
    return Chunk(name, "c", f"{name}.md", name, (name,), Anchor("section", name, name), name, name)


class Fixed:
    """A retriever that returns a fixed ranking."""

    def __init__(self, names: list[str], field: str) -> None:
        self.names, self.field = names, field

    def search(self, query, k, filters=None):
        return [
            Hit(chunk(n), 1.0 / r, r, **{self.field: 1.0 / r})
            for r, n in enumerate(self.names[:k], start=1)
        ]


def reference_rrf(lists: list[list[str]], weights: list[float], c: int) -> dict[str, float]:
    scores: dict[str, float] = {}
    for names, weight in zip(lists, weights, strict=True):
        for rank, name in enumerate(names, start=1):
            scores[name] = scores.get(name, 0.0) + weight / (c + rank)
    return scores


def test_fusion_matches_the_rrf_formula():
    dense, lexical = ["a", "b", "c", "d"], ["c", "a", "e"]
    hybrid = HybridRetriever(Fixed(dense, "dense_score"), Fixed(lexical, "bm25_score"),
                             rrf_k=60, lexical_weight=0.7)
    hits = hybrid.search("q", 5)
    expected = reference_rrf([dense, lexical], [1.0, 0.7], 60)
    assert [h.chunk.id for h in hits] == sorted(expected, key=lambda n: -expected[n])[:5]
    for hit in hits:
        assert abs(hit.score - expected[hit.chunk.id]) < 1e-12
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]


def test_hits_keep_both_component_scores():
    hybrid = HybridRetriever(Fixed(["a", "b"], "dense_score"), Fixed(["b"], "bm25_score"))
    by_id = {h.chunk.id: h for h in hybrid.search("q", 2)}
    assert by_id["b"].dense_score == 0.5 and by_id["b"].bm25_score == 1.0
    assert by_id["a"].bm25_score is None


def test_ties_break_by_first_appearance_every_time():
    # a is dense #1, x is lexical #1: equal RRF scores with equal weights.
    hybrid = HybridRetriever(Fixed(["a"], "dense_score"), Fixed(["x"], "bm25_score"))
    for _ in range(3):
        assert [h.chunk.id for h in hybrid.search("q", 2)] == ["a", "x"]


def test_a_passage_both_lists_like_beats_a_single_first_place():
    hybrid = HybridRetriever(Fixed(["a", "both"], "dense_score"), Fixed(["x", "both"], "bm25_score"))
    assert hybrid.search("q", 1)[0].chunk.id == "both"
