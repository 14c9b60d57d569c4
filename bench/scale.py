"""Ingestion and search at a textbook's size (issue 15's size goals), as ratios against
baselines measured in the same run.

1. A textbook: ``--mb`` (default 3) of Markdown chapters assembled from the bundled
   course's lessons, each paragraph three to six of its sentences drawn with a seeded
   generator (so no two passages repeat), with a code block every few sections. Ingest it (model
   loaded) against a bare ``SentenceTransformer.encode`` of its final chunks.
   Goal: ratio ≤ 1.2.
2. One chapter changed: the re-ingest embeds that chapter's chunks and no other, and
   takes a fraction of the first ingest's time.
3. Search at ``--sizes`` chunks (default 15,000 and 100,000), flat against HNSW. The
   indexes are the textbook's chunks followed by blends of two of them (half the text of
   each, the normalised sum of their vectors plus noise), so they grow over the space
   the real passages span.
   Per index: the hybrid search's p50/p95 with the question already embedded (the index
   work a request adds to one encode), the encode's own p95, the bare FAISS call's p95,
   and HNSW's recall@5 against flat. Goal: hybrid p95 ≤ 30 ms at each size.

``.venv/bin/python -m bench.scale [--mb 3] [--sizes 15000,100000]``; writes
bench/results/scale.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import COURSE, results_file
from eval.datasets import default_dataset, load_questions
from eval.metrics import percentile
from ingest.catalog import Catalog
from ingest.documents import Anchor, Chunk
from ingest.embedder import SentenceTransformerEmbedder
from ingest.pipeline import Ingestor
from ingest.store import CourseIndex, Manifest, write_version
from ingest.vectors import search as faiss_search
from retriever.service import SearchService
from studyhall.core.settings import Settings

NOISE = 0.02  # per dimension, added to a blend of two real vectors
SECTIONS_PER_CHAPTER = 6
CODE_EVERY = 3  # sections


# --- 1. a textbook ------------------------------------------------------------------

def course_material() -> tuple[list[str], list[str], list[str]]:
    """Paragraphs and section headings of the bundled course's lessons, and the code of
    its lessons and notebooks."""
    paragraphs, code, headings = [], [], []
    for path in sorted((COURSE / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code += ["".join(c["source"]) + "\n" for c in cells
                 if c["cell_type"] == "code" and len("".join(c["source"])) > 80]
    for path in sorted((COURSE / "lessons").glob("*.md")):
        text = path.read_text()
        code += re.findall(r"```python\n(.*?)```", text, flags=re.S)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        headings += re.findall(r"^#{2,3} (.+)$", prose, flags=re.M)
        paragraphs += [p.strip() for p in prose.split("\n\n")
                       if len(p.split()) > 25 and not p.lstrip().startswith(("#", "|", "-", ">"))]
    return paragraphs, code, headings


def sentences_of(paragraphs: list[str]) -> list[str]:
    return [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p.replace("\n", " "))
            if len(s.split()) > 4]


def write_textbook(folder: Path, mb: float, seed: int = 0) -> list[Path]:
    """Chapters of about 15 KB each until the book weighs ``mb`` megabytes."""
    rng = random.Random(seed)
    paragraphs, code, headings = course_material()
    sentences = sentences_of(paragraphs)
    folder.mkdir(parents=True)
    chapters, size, n = [], 0, 0
    while size < mb * 1_000_000:
        n += 1
        parts = [f"# Chapter {n}: {rng.choice(headings)}\n"]
        for s in range(SECTIONS_PER_CHAPTER):
            parts.append(f"## {n}.{s + 1} {rng.choice(headings)}\n")
            parts += [" ".join(rng.sample(sentences, rng.randint(3, 6))) + "\n"
                      for _ in range(4)]
            if code and s % CODE_EVERY == 0:
                parts.append(f"```python\n{rng.choice(code)}```\n")
        path = folder / f"chapter-{n:03d}.md"
        path.write_text("\n".join(parts))
        chapters.append(path)
        size += path.stat().st_size
    return chapters


# --- 3. indexes at a size -----------------------------------------------------------

def scaled(base: CourseIndex, size: int,
           rng: np.random.Generator) -> tuple[list[Chunk], np.ndarray]:
    """``size`` chunks: the book's own, then blends of two of its passages.

    A blend's text is the first half of one passage and the second half of another, and
    its vector the normalised sum of theirs plus a little noise: new points spread over
    the space the real ones span, with words BM25 has seen, not tight clusters of copies.
    """
    n_base, dim = base.vectors.shape
    if size < n_base:
        raise ValueError(f"an index of {size:,} chunks is smaller than the book ({n_base:,})")
    first = np.arange(size) % n_base
    second = rng.integers(0, n_base, size)
    vectors = base.vectors[first] + base.vectors[second] + rng.normal(0, NOISE, (size, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    vectors[:n_base] = base.vectors
    chunks = list(base.chunks)
    for n in range(n_base, size):
        a, b = base.chunks[first[n]], base.chunks[second[n]]
        text = a.text[: len(a.text) // 2] + b.text[len(b.text) // 2:]
        chunks.append(Chunk(
            id=f"{a.id}-{n}", course=a.course, source=a.source, title=a.title,
            heading_path=a.heading_path, anchor=Anchor(a.anchor.kind, a.anchor.ref, a.anchor.label),
            text=text, embed_text=a.embed_text.split("\n\n", 1)[0] + "\n\n" + text, lesson=a.lesson,
        ))
    return chunks, vectors


def publish(catalog: Catalog, course_id: str, base: CourseIndex, chunks: list[Chunk],
            vectors: np.ndarray, kind: str) -> Path:
    size = len(chunks)
    manifest = base.manifest.model_copy(update={"course_id": course_id, "chunk_count": size})
    name, staged = catalog.new_staging_dir(course_id)
    write_version(staged, Manifest.model_validate(manifest.model_dump()), chunks, vectors,
                  index_kind_setting=kind)
    return catalog.publish(course_id, name, staged)


def search_timings(settings: Settings, embedder, course_id: str,
                   questions: list[str]) -> dict[str, float]:
    service = SearchService(settings, embedder=embedder)
    index = service.index(course_id)
    encode_ms, vectors = [], []
    for question in questions:  # embed first: the search timings below are the index work
        started = time.perf_counter()
        vectors.append(service.encode(question))
        encode_ms.append((time.perf_counter() - started) * 1000)
    service.search(questions[0], course_id, k=5)
    hybrid_ms, faiss_ms, found = [], [], []
    for question, vector in zip(questions, vectors, strict=True):
        started = time.perf_counter()
        service.search(question, course_id, k=5)
        hybrid_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        _, rows = faiss_search(index.dense, vector, 5)
        faiss_ms.append((time.perf_counter() - started) * 1000)
        found.append(set(rows.tolist()))
    return {
        "hybrid_p50_ms": percentile(hybrid_ms, 0.5),
        "hybrid_p95_ms": percentile(hybrid_ms, 0.95),
        "encode_p95_ms": percentile(encode_ms, 0.95),
        "faiss_p95_ms": percentile(faiss_ms, 0.95),
        "found": found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=3.0, help="size of the textbook")
    parser.add_argument("--sizes", default="15000,100000", help="index sizes to search")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    work = Path(tempfile.mkdtemp(prefix="studyhall-scale-"))
    settings = Settings(data_dir=work / "data")
    embedder = SentenceTransformerEmbedder(settings.embedder).load()
    embedder.embed(["warm up the model"] * 8)
    catalog = Catalog(settings.courses_dir)
    ingestor = Ingestor(catalog, embedder, settings.ingest)
    results: dict = {}

    # 1. the textbook, ingested, against a bare encode of its chunks
    book = work / "book"
    chapters = write_textbook(book, args.mb)
    started = time.perf_counter()
    report = ingestor.ingest(book, "textbook")
    ingest_s = time.perf_counter() - started
    index = CourseIndex.open(catalog.require("textbook"))
    texts = [c.embed_text for c in index.chunks]
    started = time.perf_counter()
    embedder.model.encode(texts, batch_size=settings.ingest.embed_batch_size)
    encode_s = time.perf_counter() - started
    results |= {
        "book_mb": sum(p.stat().st_size for p in chapters) / 1e6, "chapters": len(chapters),
        "chunks": report.chunks, "ingest_s": ingest_s, "bare_encode_s": encode_s,
        "ingest_vs_encode": ingest_s / encode_s,
    }

    # 2. one chapter changed
    changed = chapters[len(chapters) // 2]
    changed.write_text(changed.read_text() + "\n## One more section\n\nA paragraph the "
                       "instructor added after the first ingest, about sampling temperature.\n")
    started = time.perf_counter()
    again = ingestor.ingest(book, "textbook")
    reingest_s = time.perf_counter() - started
    after = CourseIndex.open(catalog.require("textbook")).manifest
    chapter_chunks = after.files[changed.name].chunks
    results |= {
        "reingest_changed": again.changed, "reingest_embedded": again.embedded,
        "changed_chapter_chunks": chapter_chunks, "reingest_s": reingest_s,
        "reingest_vs_ingest": reingest_s / ingest_s,
    }

    # 3. search at size, flat against HNSW
    questions = [q.question for q in load_questions(default_dataset("genai-basics"))]
    rng = np.random.default_rng(0)
    base = CourseIndex.open(catalog.require("textbook"))
    results["search"] = []
    for size in sizes:
        found: dict[str, list[set[int]]] = {}
        chunks, vectors = scaled(base, size, rng)
        for kind in ("flat", "hnsw"):  # the same chunks and vectors, two indexes
            course_id = f"scale-{size}-{kind}"
            publish(catalog, course_id, base, chunks, vectors, kind)
            timings = search_timings(settings, embedder, course_id, questions)
            found[kind] = timings.pop("found")
            results["search"].append({"size": size, "kind": kind} | timings)
        pairs = zip(found["hnsw"], found["flat"], strict=True)
        recall = np.mean([len(h & f) / max(1, len(f)) for h, f in pairs])
        results["search"][-1]["recall_at_5_vs_flat"] = float(recall)
    results["queries"] = len(questions)

    results_file("scale.json").write_text(json.dumps(results, indent=2))
    print(table(results))


def table(r: dict) -> str:
    lines = [
        f"Textbook: {r['book_mb']:.1f} MB, {r['chapters']} chapters, {r['chunks']:,} chunks.",
        "",
        "| measure | studyhall | baseline, same run | ratio |",
        "|---|---|---|---|",
        f"| ingest | {r['ingest_s']:.1f} s | bare encode of its chunks {r['bare_encode_s']:.1f} s "
        f"| {r['ingest_vs_encode']:.2f}× (goal ≤ 1.2) |",
        f"| one chapter changed | {r['reingest_s']:.1f} s, embedded {r['reingest_embedded']} "
        f"chunks ({r['changed_chapter_chunks']} in the chapter) | first ingest | "
        f"{r['reingest_vs_ingest']:.2f}× |",
        "",
        "| chunks | index | hybrid p50 / p95, question embedded | encode p95 | FAISS p95 "
        "| recall@5 vs flat |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for s in r["search"]:
        recall = f"{s['recall_at_5_vs_flat']:.3f}" if "recall_at_5_vs_flat" in s else "1 (exact)"
        lines.append(
            f"| {s['size']:,} | {s['kind']} "
            f"| {s['hybrid_p50_ms']:.1f} / {s['hybrid_p95_ms']:.1f} ms "
            f"| {s['encode_p95_ms']:.1f} ms | {s['faiss_p95_ms']:.2f} ms | {recall} |")
    lines.append(f"\n{r['queries']} questions per index (goal: hybrid p95 ≤ 30 ms).")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
