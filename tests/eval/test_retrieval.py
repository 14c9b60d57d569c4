"""Retrieval eval across chunk sizes."""

import pytest


def test_a_chunk_size_sweep_ingests_once_per_size_and_names_each_configuration(
        settings, fake_embedder, course_dir):
    from eval.datasets import GoldAnchor, Question
    from eval.retrieval import parse_chunk_size, sweep_chunk_sizes
    from retriever.service import RetrievalConfig

    questions = [Question("q1", "what is mode collapse", "tiny", True, (GoldAnchor("gans.md"),))]
    results = sweep_chunk_sizes(settings, fake_embedder, course_dir, "tiny", questions,
                                [parse_chunk_size("40/8"), parse_chunk_size("64/0")],
                                [RetrievalConfig("bm25"), RetrievalConfig("hybrid")])
    assert [r.mode for r in results] == ["bm25@40/8", "hybrid@40/8", "bm25@64/0", "hybrid@64/0"]
    assert all(r.hit_at_5 == 1.0 for r in results)
    assert not settings.courses_dir.exists()  # scratch indexes only


def test_a_malformed_chunk_size_names_the_expected_form():
    from eval.retrieval import parse_chunk_size

    with pytest.raises(ValueError, match="SIZE/OVERLAP"):
        parse_chunk_size("big")
