"""Run a retrieval mode over a question set: hit@1, hit@5, recall@5, recall@10, MRR@10,
nDCG@10 (definitions in :mod:`eval.metrics`) and the misses.

Latency is recorded per run but not tabled: the query-embedding cache makes every mode
after the first look faster than it is. ``make bench`` measures search latency properly.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eval.datasets import Question
from eval.metrics import (
    first_relevant_rank,
    hit_at_k,
    mean,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)
from ingest.catalog import Catalog
from ingest.embedder import Embedder
from ingest.pipeline import Ingestor
from retriever.service import RetrievalConfig, SearchService
from studyhall.core.errors import InvalidRequest
from studyhall.core.settings import IngestSettings, Settings

# The configurations an eval compares when none are named.
COMPARED: tuple[str, ...] = ("bm25", "dense", "hybrid", "hybrid+mmr")


@dataclass
class RetrievalResult:
    mode: str
    questions: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    recall_at_5: float
    recall_at_10: float
    ndcg_at_10: float
    latency_ms_p50: float
    misses: list[dict] = field(default_factory=list)  # not found in the top 5
    latencies_ms: list[float] = field(default_factory=list)  # one per question

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_retrieval(service: SearchService, questions: list[Question], course: str,
                       config: RetrievalConfig, *, depth: int = 10) -> RetrievalResult:
    """Search every answerable question and score the ranking against its gold anchors.

    Follow-ups (questions with ``turns``) are left out: retrieval sees them only after the
    model has rewritten them, which the answer eval measures."""
    answerable = [q for q in questions if q.answerable and not q.turns]
    hits1, hits5, rrs, latencies, misses = [], [], [], [], []
    recalls5, recalls10, ndcgs = [], [], []
    for question in answerable:
        started = time.perf_counter()
        hits = service.search(question.question, course, k=depth, mode=config.mode,
                              mmr=config.mmr)
        latencies.append((time.perf_counter() - started) * 1000)
        matches = [question.matching_anchor(hit.chunk) for hit in hits]
        relevant = [m is not None for m in matches]
        recalls5.append(recall_at_k(matches, len(question.gold), 5))
        recalls10.append(recall_at_k(matches, len(question.gold), 10))
        ndcgs.append(ndcg_at_k(matches, len(question.gold), 10))
        hits1.append(hit_at_k(relevant, 1))
        hits5.append(hit_at_k(relevant, 5))
        rrs.append(reciprocal_rank(relevant, 10))
        if not hits5[-1]:
            misses.append({
                "id": question.id,
                "question": question.question,
                "gold": [f"{g.source} › {g.section}" for g in question.gold],
                "first_relevant_rank": first_relevant_rank(relevant),
                "top": [f"{h.chunk.source} › {h.chunk.heading_path[-1]}" for h in hits[:3]],
            })
    latencies.sort()
    return RetrievalResult(
        mode=str(config),
        questions=len(answerable),
        hit_at_1=mean(hits1),
        hit_at_5=mean(hits5),
        mrr_at_10=mean(rrs),
        recall_at_5=mean(recalls5),
        recall_at_10=mean(recalls10),
        ndcg_at_10=mean(ndcgs),
        latency_ms_p50=latencies[len(latencies) // 2] if latencies else 0.0,
        misses=misses,
        latencies_ms=[round(x, 3) for x in latencies],
    )


def format_table(results: list[RetrievalResult]) -> str:
    lines = [
        "| mode | questions | hit@1 | hit@5 | recall@5 | recall@10 | MRR@10 | nDCG@10 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.questions} | {r.hit_at_1:.3f} | {r.hit_at_5:.3f} | "
            f"{r.recall_at_5:.3f} | {r.recall_at_10:.3f} | {r.mrr_at_10:.3f} | "
            f"{r.ndcg_at_10:.3f} |"
        )
    return "\n".join(lines)


def parse_chunk_size(spec: str) -> tuple[int, int]:
    """"128/24" → (128, 24): chunk size and overlap in word-pieces."""
    size, _, overlap = spec.partition("/")
    try:
        return int(size), int(overlap or 0)
    except ValueError:
        raise InvalidRequest(
            "chunks", f"a chunk size is SIZE/OVERLAP, like 128/24; got {spec!r}") from None


def sweep_chunk_sizes(settings: Settings, embedder: Embedder, source: Path, course: str,
                      questions: list[Question], sizes: list[tuple[int, int]],
                      configs: list[RetrievalConfig]) -> list[RetrievalResult]:
    """Ingest the course folder ``source`` once per chunk size (into a temporary data
    directory, with the same embedder) and evaluate each mode on it. The configuration
    names read ``hybrid@128/24``."""
    results = []
    for size, overlap in sizes:
        with tempfile.TemporaryDirectory(prefix="studyhall-sweep-") as scratch:
            trial = settings.model_copy(update={
                "data_dir": Path(scratch),
                "ingest": IngestSettings(**{**settings.ingest.model_dump(),
                                            "chunk_tokens": size, "overlap_tokens": overlap})})
            catalog = Catalog(trial.courses_dir)
            Ingestor(catalog, embedder, trial.ingest).ingest(source, course)
            service = SearchService(trial, embedder=embedder, catalog=catalog)
            for config in configs:
                result = evaluate_retrieval(service, questions, course, config)
                result.mode = f"{config}@{size}/{overlap}"
                results.append(result)
    return results
