"""Hybrid retrieval: dense and BM25 lists fused by reciprocal rank fusion.

RRF (Cormack, Clarke & Büttcher, 2009) scores a passage by its ranks alone,
``score(d) = Σ_lists w_list / (rrf_k + rank(d))``, so a cosine of 0.6 and a BM25 score of
14 never have to be put on one scale. A passage both retrievers like beats one that only
one of them ranks first. The weights (1 for dense, ``lexical_weight`` for BM25) let the
stronger retriever count for more.

For a question about code (:func:`retriever.form.asks_for_code`) the candidates that hold
code, in their fused order, are a third list weighted ``code_weight``: a code passage
either retriever found moves up among the prose around it. Other questions are ranked as
the two retrievers rank them.
"""

from __future__ import annotations

from ingest.documents import Chunk
from retriever.base import Filters, Hit, Retriever, ranked
from retriever.form import asks_for_code, is_code


class HybridRetriever:
    def __init__(self, dense: Retriever, lexical: Retriever, *, rrf_k: int = 60,
                 candidates: int = 50, lexical_weight: float = 1.0,
                 code_weight: float = 0.0) -> None:
        if rrf_k <= 0:
            raise ValueError(f"rrf_k must be > 0, got {rrf_k}")
        if lexical_weight < 0:
            raise ValueError(f"lexical_weight must be >= 0, got {lexical_weight}")
        if code_weight < 0:
            raise ValueError(f"code_weight must be >= 0, got {code_weight}")
        self.lexical_weight = lexical_weight
        self.code_weight = code_weight
        self.dense = dense
        self.lexical = lexical
        self.rrf_k = rrf_k
        self.candidates = candidates

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        depth = max(k, self.candidates)
        fused: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}  # in order of first appearance: the tie-breaker
        dense_scores: dict[str, float] = {}
        bm25_scores: dict[str, float] = {}
        for weight, hits in ((1.0, self.dense.search(query, depth, filters)),
                             (self.lexical_weight, self.lexical.search(query, depth, filters))):
            for hit in hits:
                cid = hit.chunk.id
                chunks.setdefault(cid, hit.chunk)
                fused[cid] = fused.get(cid, 0.0) + weight / (self.rrf_k + hit.rank)
                if hit.dense_score is not None:
                    dense_scores[cid] = hit.dense_score
                if hit.bm25_score is not None:
                    bm25_scores[cid] = hit.bm25_score
        order = list(chunks)
        if self.code_weight and asks_for_code(query):
            fused_order = ranked([(fused[c], n) for n, c in enumerate(order)], len(order))
            code = [order[n] for _, n in fused_order if is_code(chunks[order[n]])]
            for rank, cid in enumerate(code, start=1):
                fused[cid] += self.code_weight / (self.rrf_k + rank)
        hits = []
        for rank, (score, n) in enumerate(ranked([(fused[c], n) for n, c in enumerate(order)], k),
                                          start=1):
            cid = order[n]
            hits.append(Hit(chunks[cid], score, rank, dense_scores.get(cid), bm25_scores.get(cid)))
        return hits
