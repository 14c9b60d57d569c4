"""Ingestion end to end with the fake embedder: incremental, atomic, honest."""

from pathlib import Path

import pytest

from ingest import pipeline
from ingest.catalog import CourseBusy
from ingest.pipeline import IngestError, Ingestor
from ingest.store import CourseIndex, IndexMismatch
from tests.conftest import FakeEmbedder


def sources(catalog, course="tiny") -> set[str]:
    return {c.source for c in CourseIndex.open(catalog.require(course)).chunks}


def test_first_ingest_publishes_every_file_in_course_order(ingestor, catalog, course_dir):
    report = ingestor.ingest(course_dir, "tiny")
    assert sorted(report.added) == ["gans.md", "notes.txt", "vaes.md"]
    assert not report.up_to_date
    index = CourseIndex.open(catalog.require("tiny"))
    assert index.manifest.title == "Tiny Course"
    assert index.manifest.description == "A test course."
    assert list(index.manifest.files) == ["vaes.md", "gans.md", "notes.txt"]  # course.yaml order
    assert index.manifest.embedder == "fake/hashing"
    assert index.manifest.dimension == 128
    assert len(index.chunks) == index.vectors.shape[0] == index.dense.ntotal
    assert index.chunks[0].embed_text.startswith("Tiny Course › Variational autoencoders")


def test_unchanged_reingest_embeds_nothing_and_writes_nothing(
    ingestor, catalog, course_dir, fake_embedder
):
    first = ingestor.ingest(course_dir, "tiny")
    fake_embedder.embedded.clear()
    again = ingestor.ingest(course_dir, "tiny")
    assert again.up_to_date
    assert fake_embedder.embedded == []
    assert sorted(again.unchanged) == ["gans.md", "notes.txt", "vaes.md"]
    assert catalog.require("tiny").name == first.version


def test_changed_file_replaces_its_chunks_and_only_new_text_is_embedded(
    ingestor, catalog, course_dir, fake_embedder
):
    ingestor.ingest(course_dir, "tiny")
    fake_embedder.embedded.clear()
    gans = course_dir / "gans.md"
    gans.write_text(gans.read_text().replace("mode collapse", "oscillation"))
    report = ingestor.ingest(course_dir, "tiny")
    assert report.changed == ["gans.md"]
    assert len(fake_embedder.embedded) == 1  # the one edited section
    assert "oscillation" in fake_embedder.embedded[0]
    texts = " ".join(c.text for c in CourseIndex.open(catalog.require("tiny")).chunks)
    assert "oscillation" in texts and "mode collapse" not in texts


def test_deleted_file_disappears(ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    (course_dir / "notes.txt").unlink()
    report = ingestor.ingest(course_dir, "tiny")
    assert report.removed == ["notes.txt"]
    assert sources(catalog) == {"gans.md", "vaes.md"}


def test_single_file_is_added_and_the_rest_of_the_course_stays(
    ingestor, catalog, course_dir, tmp_path
):
    ingestor.ingest(course_dir, "tiny")
    extra = tmp_path / "extra.md"
    extra.write_text("# Extra\n\nTransformers use attention.\n")
    report = ingestor.ingest(extra, "tiny")
    assert report.added == ["extra.md"]
    assert sources(catalog) == {"gans.md", "vaes.md", "notes.txt", "extra.md"}


def test_bad_files_are_skipped_with_reasons_and_the_rest_ingested(ingestor, catalog, course_dir):
    (course_dir / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (course_dir / "empty.md").write_text("")
    (course_dir / "data.xyz").write_text("what is this")
    report = ingestor.ingest(course_dir, "tiny")
    assert set(report.skipped) == {"broken.pdf", "empty.md", "data.xyz"}
    assert "unsupported file type '.xyz'" in report.skipped["data.xyz"]
    assert "PDF" in report.skipped["broken.pdf"]
    assert sources(catalog) == {"gans.md", "vaes.md", "notes.txt"}


def test_a_file_that_breaks_keeps_its_previously_ingested_version(ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    (course_dir / "gans.md").write_bytes(b"\xff\xfe not utf-8 \x00")
    report = ingestor.ingest(course_dir, "tiny")
    assert report.kept_previous == ["gans.md"]
    assert "gans.md" in report.skipped
    texts = " ".join(c.text for c in CourseIndex.open(catalog.require("tiny")).chunks)
    assert "mode collapse" in texts


def test_nothing_ingestible_fails_and_leaves_the_published_version(ingestor, catalog, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.md").write_text("# A\n\nAlpha text.\n")
    ingestor.ingest(good, "tiny")
    before = catalog.require("tiny")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.pdf").write_bytes(b"not a pdf")
    with pytest.raises(IngestError, match=r"nothing could be ingested.*x\.pdf"):
        ingestor.ingest(bad, "tiny")
    assert catalog.require("tiny") == before


def test_a_crash_while_writing_leaves_the_previous_version_serving(
    ingestor, catalog, course_dir, monkeypatch
):
    ingestor.ingest(course_dir, "tiny")
    before = catalog.require("tiny")
    (course_dir / "vaes.md").write_text("# Changed\n\nNew text.\n")

    def crash(directory: Path, *args, **kwargs):
        directory.mkdir(parents=True)
        (directory / "chunks.sqlite").write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "write_version", crash)
    with pytest.raises(OSError, match="disk full"):
        ingestor.ingest(course_dir, "tiny")
    assert catalog.require("tiny") == before
    assert "Changed" not in " ".join(c.title for c in CourseIndex.open(before).chunks)
    monkeypatch.undo()
    report = ingestor.ingest(course_dir, "tiny")  # the next run cleans up and succeeds
    assert report.changed == ["vaes.md"]
    assert not list((catalog.course_dir("tiny") / "versions").glob(".staging-*"))


def test_another_embedder_is_refused_until_rebuild(catalog, course_dir, settings):
    Ingestor(catalog, FakeEmbedder(name="fake/a"), settings.ingest).ingest(course_dir, "tiny")
    other = Ingestor(catalog, FakeEmbedder(dim=64, name="fake/b"), settings.ingest)
    with pytest.raises(IndexMismatch, match=r"'fake/a'.*'fake/b'.*--rebuild"):
        other.ingest(course_dir, "tiny")
    report = other.ingest(course_dir, "tiny", rebuild=True)
    assert report.embedded == report.chunks
    assert CourseIndex.open(catalog.require("tiny")).manifest.dimension == 64


def test_changing_chunk_size_rechunks_everything(catalog, course_dir, settings, fake_embedder):
    Ingestor(catalog, fake_embedder, settings.ingest).ingest(course_dir, "tiny")
    smaller = settings.ingest.model_copy(update={"chunk_tokens": 12, "overlap_tokens": 2})
    report = Ingestor(catalog, fake_embedder, smaller).ingest(course_dir, "tiny")
    assert sorted(report.changed) == ["gans.md", "notes.txt", "vaes.md"]
    assert CourseIndex.open(catalog.require("tiny")).manifest.chunk_tokens == 12


def test_courses_live_side_by_side(ingestor, catalog, course_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.md").write_text("# X\n\nSomething else entirely.\n")
    ingestor.ingest(course_dir, "tiny")
    ingestor.ingest(other, "other")
    assert catalog.course_ids() == ["other", "tiny"]
    assert sources(catalog, "other") == {"x.md"}
    assert "x.md" not in sources(catalog, "tiny")


def test_a_second_concurrent_ingest_is_refused(ingestor, catalog, course_dir):
    with catalog.lock("tiny"), pytest.raises(CourseBusy, match="another ingest"):
        ingestor.ingest(course_dir, "tiny")


@pytest.mark.parametrize("bad", ["", "Has Space", "../escape", "UPPER", "-lead"])
def test_bad_course_ids_are_refused(ingestor, course_dir, bad):
    with pytest.raises(ValueError, match="course id must be"):
        ingestor.ingest(course_dir, bad)


def test_missing_path_is_a_clear_error(ingestor, tmp_path):
    with pytest.raises(IngestError, match="no such file or folder"):
        ingestor.ingest(tmp_path / "nope", "tiny")


def test_hidden_and_underscore_files_are_not_ingested(ingestor, catalog, course_dir):
    (course_dir / ".ipynb_checkpoints").mkdir()
    (course_dir / ".ipynb_checkpoints" / "a.md").write_text("# Hidden\n\nDo not index.\n")
    (course_dir / "_draft.md").write_text("# Draft\n\nDo not index.\n")
    ingestor.ingest(course_dir, "tiny")
    assert sources(catalog) == {"gans.md", "vaes.md", "notes.txt"}
