"""`make bench`: speed of ingestion and search, as ratios against a baseline measured in
the same run on the same machine (these machines are shared and noisy; absolute numbers
are printed for context, the ratios are what to compare).

1. Ingest throughput of the bundled course (model already loaded) against a bare
   ``SentenceTransformer.encode`` of the very same chunk texts. Goal: ratio <= 1.25.
2. Search latency p50/p95 over the bundled question set (model loaded, every question
   new to the query cache), against the bare encode + FAISS call it is built on.
3. An unchanged re-ingest: in-process, and as a whole `studyhall ingest` command.

Writes bench/results/latest.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import COURSE, results_file
from eval.datasets import default_dataset, load_questions
from eval.metrics import percentile
from ingest.catalog import Catalog
from ingest.embedder import SentenceTransformerEmbedder
from ingest.pipeline import Ingestor
from ingest.store import CourseIndex
from ingest.vectors import search as faiss_search
from retriever.service import SearchService
from studyhall.core.settings import Settings

REPEATS = 2


def main() -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="studyhall-bench-")))
    embedder = SentenceTransformerEmbedder(settings.embedder).load()
    model = embedder.model
    embedder.embed(["warm up the model"] * 8)
    results: dict[str, float | int | str] = {}

    # 1. ingest vs bare encode, alternating, best of REPEATS each
    ingest_times, encode_times = [], []
    for n in range(REPEATS):
        data = settings.data_dir / f"run{n}"
        catalog = Catalog(data / "courses")
        started = time.perf_counter()
        report = Ingestor(catalog, embedder, settings.ingest).ingest(COURSE, "genai-basics")
        ingest_times.append(time.perf_counter() - started)
        texts = [c.embed_text for c in CourseIndex.open(catalog.require("genai-basics")).chunks]
        started = time.perf_counter()
        model.encode(texts, batch_size=settings.ingest.embed_batch_size)
        encode_times.append(time.perf_counter() - started)
    chunks = report.chunks
    results |= {
        "chunks": chunks,
        "ingest_s": min(ingest_times),
        "bare_encode_s": min(encode_times),
        "ingest_chunks_per_s": chunks / min(ingest_times),
        "bare_encode_chunks_per_s": chunks / min(encode_times),
        "ingest_vs_encode_time_ratio": min(ingest_times) / min(encode_times),
    }

    # 2. search latency, cold query cache, against bare encode + FAISS
    settings = settings.model_copy(update={"data_dir": settings.data_dir / "run0"})
    service = SearchService(settings, embedder=embedder)
    index = service.index("genai-basics")
    questions = [q.question for q in load_questions(default_dataset("genai-basics"))]
    service.search("warm up", "genai-basics")
    search_ms, bare_ms = [], []
    for question in questions:
        started = time.perf_counter()
        service.search(question, "genai-basics", k=5)
        search_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        vector = model.encode([question], normalize_embeddings=True)[0]
        faiss_search(index.dense, vector, 5)
        bare_ms.append((time.perf_counter() - started) * 1000)
    results |= {
        "queries": len(questions),
        "search_p50_ms": percentile(search_ms, 0.5),
        "search_p95_ms": percentile(search_ms, 0.95),
        "bare_encode_faiss_p50_ms": percentile(bare_ms, 0.5),
        "bare_encode_faiss_p95_ms": percentile(bare_ms, 0.95),
        "search_vs_bare_p50_ratio": percentile(search_ms, 0.5) / percentile(bare_ms, 0.5),
    }

    # 3. unchanged re-ingest
    catalog = Catalog(settings.courses_dir)
    started = time.perf_counter()
    again = Ingestor(catalog, embedder, settings.ingest).ingest(COURSE, "genai-basics")
    results["reingest_unchanged_s"] = time.perf_counter() - started
    assert again.up_to_date and again.embedded == 0
    env = os.environ | {"STUDYHALL_DATA_DIR": str(settings.data_dir)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "studyhall.cli", "ingest", str(COURSE), "--course", "genai-basics"],
        env=env, check=True, capture_output=True,
    )
    results["reingest_unchanged_cli_s"] = time.perf_counter() - started
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["threads"] = int(__import__("torch").get_num_threads())

    results_file("latest.json").write_text(json.dumps(results, indent=2))
    print(table(results))


def table(r: dict) -> str:
    rows = [
        ("ingest, bundled course", f"{r['ingest_s']:.1f} s for {r['chunks']} chunks "
         f"({r['ingest_chunks_per_s']:.1f} chunks/s)",
         f"bare encode {r['bare_encode_s']:.1f} s ({r['bare_encode_chunks_per_s']:.1f}/s)",
         f"{r['ingest_vs_encode_time_ratio']:.2f}× (goal ≤ 1.25)"),
        ("search latency (hybrid, k=5)", f"p50 {r['search_p50_ms']:.1f} ms, "
         f"p95 {r['search_p95_ms']:.1f} ms over {r['queries']} questions",
         f"encode + FAISS p50 {r['bare_encode_faiss_p50_ms']:.1f} ms, "
         f"p95 {r['bare_encode_faiss_p95_ms']:.1f} ms",
         f"{r['search_vs_bare_p50_ratio']:.2f}×"),
        ("unchanged re-ingest", f"{r['reingest_unchanged_s'] * 1000:.0f} ms in-process; "
         f"{r['reingest_unchanged_cli_s']:.1f} s as a command", "nothing re-embedded", ""),
        ("peak RSS", f"{r['peak_rss_mb']:.0f} MB", f"{r['threads']} torch threads", ""),
    ]
    lines = ["| measure | studyhall | baseline, same run | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
