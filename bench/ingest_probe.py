"""What ingesting a folder as it is published would index, without embedding it: files
read and skipped, chunks, how many of them are code, and how many still carry book-tool
markup or payloads, with this code's selection, cleaning and markup reduction and, for
comparison in the same run, without them (every file a loader reads, sections as loaded).

    .venv/bin/python -m bench.ingest_probe FOLDER [--frameworks pytorch]

Prints a Markdown table; sizes the issue-15 changes on material nobody here wrote.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MARKERS = {
    "tab markers": re.compile(r":begin_tab:|:end_tab:|%%tab\b"),
    "labels and roles": re.compile(r":(?:label|numref|eqref|cite|eqlabel|width):`"
                                   r"|\{(?:ref|numref|cite)\}`"),
    "highlight brackets": re.compile(r"\[\*\*|\(\*\*"),
    "HTML tags": re.compile(r"</?(?:div|span|a|img|p|br|sup|sub)\b[^>]*>", re.I),
    "base64 runs": re.compile(r"[A-Za-z0-9+/]{80,}"),
}
CODE = re.compile(r"^\s*(?:import |from \w+ import |def |class |[\w.]+\s*=\s*[\w.]+\(|%%|```)",
                  re.M)


def chunks_of(folder: Path, *, reduced: bool, frameworks: tuple[str, ...]) -> dict:
    from ingest.chunking import Chunker
    from ingest.embedder import SentenceTransformerEmbedder
    from ingest.loaders import LoadError, UnsupportedFormat, loader_for
    from ingest.markup import labels_of_files, reduce_document
    from ingest.pipeline import scan
    from ingest.selection import Selection

    embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    chunker = Chunker(embedder.count_tokens, max_tokens=embedder.max_tokens, chunk_tokens=96,
                      overlap_tokens=16, clean=reduced)
    if reduced:
        found = scan(folder)
        files, skipped, left_out = found.files, found.unsupported, found.left_out
    else:  # as before: every file not hidden, offered to a loader
        everything = scan(folder, Selection(defaults=False))
        files = {**everything.files}
        skipped, left_out = dict(everything.unsupported), {}
    labels = labels_of_files(files.values(), 200 << 20) if reduced else {}
    chunks, failed = [], 0
    for source, path in files.items():
        try:
            document = loader_for(path).load(path)
        except (LoadError, UnsupportedFormat):
            failed += 1
            continue
        if reduced and document.loader in ("markdown", "notebook"):
            document = reduce_document(document, labels, frameworks)
        chunks += chunker.chunk(document, course_id="probe", course_title="Probe",
                                source=source)
    texts = [c.text for c in chunks]
    return {"files read": len(files) - failed, "files skipped": len(skipped) + failed,
            "files left out": len(left_out), "chunks": len(texts),
            "code chunks": sum(bool(CODE.search(t)) for t in texts),
            "left out as not language": chunker.not_language if reduced else 0,
            **{f"chunks with {name}": sum(bool(p.search(t)) for t in texts)
               for name, p in MARKERS.items()}}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_probe")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--frameworks", nargs="*", default=[])
    args = parser.parse_args(argv)
    before = chunks_of(args.folder, reduced=False, frameworks=())
    after = chunks_of(args.folder, reduced=True, frameworks=tuple(args.frameworks))
    print(f"\n{args.folder} (frameworks kept: {', '.join(args.frameworks) or 'all'})\n")
    print("| measure | every file, as loaded | selected, cleaned, reduced |\n|---|---:|---:|")
    for key in before:
        print(f"| {key} | {before[key]:,} | {after[key]:,} |")


if __name__ == "__main__":
    main(sys.argv[1:])
