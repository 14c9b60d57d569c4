"""The search service over a real (small) index built with the fake embedder."""

import pytest

from ingest.catalog import UnknownCourse
from retriever.service import SearchService
from studyhall.core.errors import InvalidRequest, QueryTooLong


@pytest.fixture
def service(settings, catalog, fake_embedder, ingestor, course_dir) -> SearchService:
    ingestor.ingest(course_dir, "tiny")
    return SearchService(settings, embedder=fake_embedder, catalog=catalog)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_mode_finds_the_section_that_answers(service, mode):
    hits = service.search("what is mode collapse in a generator", "tiny", k=3, mode=mode)
    assert hits[0].chunk.heading_path[-1] == "Why training is unstable"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_hybrid_hits_carry_a_cosine_even_when_only_bm25_found_them(service):
    for hit in service.search("generator noise", "tiny", k=5, mode="hybrid"):
        assert hit.dense_score is not None


def test_filters_keep_only_the_asked_document_or_lesson(service):
    for mode in ("hybrid", "dense", "bm25"):
        hits = service.search("noise encoder", "tiny", k=5, mode=mode, documents=["vaes.md"])
        assert hits and {h.chunk.source for h in hits} == {"vaes.md"}
    hits = service.search("noise", "tiny", k=5, lessons=["Generative adversarial networks"])
    assert {h.chunk.source for h in hits} == {"gans.md"}
    hits = service.search("noise", "tiny", k=5, lessons=["notes"])
    assert {h.chunk.source for h in hits} == {"notes.txt"}


def test_mmr_returns_k_distinct_hits(service):
    hits = service.search("latent", "tiny", k=3, mmr=True)
    assert len(hits) == 3 and len({h.chunk.id for h in hits}) == 3


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"query": "   "}, "query", "query must not be empty"),
        ({"k": 0}, "k", "k must be between 1 and 50, got 0"),
        ({"k": 51}, "k", "k must be between 1 and 50, got 51"),
        ({"mode": "fuzzy"}, "mode", "mode must be one of hybrid, dense, bm25"),
        ({"documents": ["missing.md"]}, "documents", "no document 'missing.md'"),
        ({"lessons": ["missing"]}, "lessons", "no lesson 'missing'"),
    ],
)
def test_bad_requests_name_the_field_and_the_range(service, kwargs, field, message):
    args = {"query": "gan", "course": "tiny"} | kwargs
    with pytest.raises(InvalidRequest, match=message) as err:
        service.search(**args)
    assert err.value.field == field


def test_a_huge_question_is_refused_before_any_work(service, fake_embedder):
    fake_embedder.embedded.clear()
    with pytest.raises(QueryTooLong, match="5,000,000 characters; the limit is 2,000"):
        service.search("x" * 5_000_000, "tiny")
    assert fake_embedder.embedded == []


def test_unknown_course_lists_known_courses(service):
    with pytest.raises(UnknownCourse, match="known courses: tiny"):
        service.search("gan", "nope")


def test_a_new_published_version_is_picked_up_without_restart(service, ingestor, course_dir):
    assert not service.search("transformers attention", "tiny", k=5, mode="bm25")
    (course_dir / "attention.md").write_text("# Attention\n\nTransformers use attention.\n")
    ingestor.ingest(course_dir, "tiny")
    hits = service.search("transformers attention", "tiny", k=5, mode="bm25")
    assert hits[0].chunk.source == "attention.md"


def test_a_course_built_with_another_embedder_is_refused(settings, catalog, ingestor, course_dir):
    from ingest.store import IndexMismatch
    from tests.conftest import FakeEmbedder

    ingestor.ingest(course_dir, "tiny")
    other = SearchService(settings, embedder=FakeEmbedder(name="other"), catalog=catalog)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        other.search("gan", "tiny")
