"""Memory and disk per course at a size (issue 17's capacity model): what serving a course
of N chunks costs a replica, measured, and the cost per million chunks fitted from it.

The bundled course is ingested for real, then grown to ``--sizes`` chunks the way
:mod:`bench.scale` grows it (blends of two real passages, vectors the normalised sum plus
noise), and published as a flat and an HNSW index. For each, a fresh process loads the
embedder, notes its resident set, opens the course and serves one hybrid search (which
builds the BM25 index and maps the vectors), and notes it again: the difference is what
the course costs that replica. The baseline is the same process before the course, in the
same run. Disk is the version folder's size.

``.venv/bin/python -m bench.memory [--sizes 20000,100000,200000]``; writes
bench/results/memory.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from bench import COURSE, in_own_process, memory_mb, results_file
from bench.scale import publish, scaled
from ingest.catalog import Catalog
from ingest.embedder import SentenceTransformerEmbedder
from ingest.pipeline import Ingestor
from ingest.store import CourseIndex
from studyhall.core.settings import Settings


def measure(course_id: str) -> dict[str, float]:
    """(In a fresh process) the resident set before and after serving ``course_id``."""
    from retriever.service import SearchService

    service = SearchService(Settings())
    service.encode("warm up the embedder")
    before = memory_mb()
    service.search("what does the discriminator of a GAN do", course_id, k=5)
    return {"before_mb": before, "after_mb": memory_mb()}


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000,200000", help="course sizes, chunks")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]

    work = Path(tempfile.mkdtemp(prefix="studyhall-memory-"))
    settings = Settings(data_dir=work / "data")
    embedder = SentenceTransformerEmbedder(settings.embedder).load()
    catalog = Catalog(settings.courses_dir)
    Ingestor(catalog, embedder, settings.ingest).ingest(COURSE, "base")
    base = CourseIndex.open(catalog.require("base"))
    rng = np.random.default_rng(0)
    rows = [{"size": len(base.chunks), "kind": "flat", "course": "base",
             "disk_mb": folder_mb(catalog.require("base"))}]
    for size in sizes:
        chunks, vectors = scaled(base, size, rng)
        for kind in ("flat", "hnsw"):
            course_id = f"memory-{size}-{kind}"
            version = publish(catalog, course_id, base, chunks, vectors, kind)
            rows.append({"size": size, "kind": kind, "course": course_id,
                         "disk_mb": folder_mb(version)})
    for row in rows:
        rss = in_own_process("bench.memory", "--measure", row["course"],
                             STUDYHALL_DATA_DIR=str(settings.data_dir))
        row |= rss | {"course_mb": rss["after_mb"] - rss["before_mb"]}
    fits = {}
    for kind in ("flat", "hnsw"):
        points = [r for r in rows if r["kind"] == kind and r["size"] >= min(sizes)]
        if len(points) >= 2:  # least squares: MB = fixed + per_chunk × chunks
            per_chunk, fixed = np.polyfit([p["size"] for p in points],
                                          [p["course_mb"] for p in points], 1)
            disk_per_chunk, _ = np.polyfit([p["size"] for p in points],
                                           [p["disk_mb"] for p in points], 1)
            fits[kind] = {"memory_gb_per_million": per_chunk * 1e6 / 1024,
                          "disk_gb_per_million": disk_per_chunk * 1e6 / 1024,
                          "fixed_mb": fixed}
    results = {"rows": rows, "per_million": fits, "embedder": settings.embedder}
    results_file("memory.json").write_text(json.dumps(results, indent=2))
    print(table(results))


def table(r: dict) -> str:
    lines = ["| chunks | index | replica before | after serving it | the course | disk |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {row['size']:,} | {row['kind']} | {row['before_mb']:.0f} MB | "
              f"{row['after_mb']:.0f} MB | {row['course_mb']:.0f} MB | {row['disk_mb']:.0f} MB |"
              for row in r["rows"]]
    for kind, fit in r["per_million"].items():
        lines.append(f"\n{kind}: {fit['memory_gb_per_million']:.2f} GB resident and "
                     f"{fit['disk_gb_per_million']:.2f} GB on disk per million chunks "
                     f"(least squares over the sizes above)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
