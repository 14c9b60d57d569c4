"""The scale bench's corpora: what it measures is only as good as what it builds."""

import numpy as np

from bench.scale import scaled, write_textbook
from ingest.store import CourseIndex


def test_the_textbook_has_the_asked_size_and_no_two_paragraphs_alike(tmp_path):
    chapters = write_textbook(tmp_path / "book", mb=0.1)
    text = "".join(p.read_text() for p in chapters)
    assert 100_000 <= len(text.encode()) < 130_000
    paragraphs = [p for p in text.split("\n\n") if len(p) > 200 and not p.startswith("```")]
    assert len(set(paragraphs)) > 0.95 * len(paragraphs)
    assert "```python" in text and chapters[0].read_text().startswith("# Chapter 1:")


def test_a_scaled_index_keeps_the_book_and_adds_unit_blends(ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    base = CourseIndex.open(catalog.require("tiny"))
    chunks, vectors = scaled(base, 50, np.random.default_rng(0))
    n = len(base.chunks)
    assert len(chunks) == len(vectors) == 50 and len({c.id for c in chunks}) == 50
    assert np.array_equal(vectors[:n], base.vectors)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert all(c.embed_text.endswith(c.text) for c in chunks[n:])
