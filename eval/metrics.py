"""Ranking metrics for one question.

Definitions follow BEIR / TREC usage: hit@k is 1 if any of the top k is relevant;
MRR@k is the reciprocal rank of the first relevant result within the top k (0 if none).

A question's gold is a list of anchors (a section, page or chunk), each one passage the
answer needs; a two-passage question has two. Recall@k and nDCG@k count anchors, not
chunks, so a long section cut into five chunks is one passage found, not one fifth:
``matches`` gives, for each ranked result, the index of the gold anchor it falls in (or
None). recall@k = anchors found in the top k / anchors. nDCG@k uses binary gain, 1 for
the first result in each anchor and 0 for repeats, log2(rank + 1) discount, and the ideal
ranking puts one result per anchor first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int) -> float:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    for rank, is_relevant in enumerate(relevant[:k], start=1):
        if is_relevant:
            return 1.0 / rank
    return 0.0


def recall_at_k(matches: Sequence[int | None], n_gold: int, k: int) -> float:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    if n_gold <= 0:
        raise ValueError(f"a question needs at least one gold anchor, got {n_gold}")
    return len({m for m in matches[:k] if m is not None}) / n_gold


def ndcg_at_k(matches: Sequence[int | None], n_gold: int, k: int) -> float:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    if n_gold <= 0:
        raise ValueError(f"a question needs at least one gold anchor, got {n_gold}")
    seen: set[int] = set()
    dcg = 0.0
    for rank, match in enumerate(matches[:k], start=1):
        if match is not None and match not in seen:
            seen.add(match)
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, k) + 1))
    return dcg / ideal


def first_relevant_rank(relevant: Sequence[bool]) -> int | None:
    return next((rank for rank, r in enumerate(relevant, start=1) if r), None)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank q-quantile (q in [0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
