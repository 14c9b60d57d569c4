import numpy as np
import pytest

from ingest.store import CourseIndex, IndexMismatch


def test_round_trip_keeps_chunks_vectors_and_anchors(ingestor, catalog, course_dir, fake_embedder):
    ingestor.ingest(course_dir, "tiny")
    index = CourseIndex.open(catalog.require("tiny"), embedder="fake/hashing", dimension=128)
    expected = fake_embedder.embed([c.embed_text for c in index.chunks])
    np.testing.assert_allclose(index.vectors, expected, atol=1e-6)
    kinds = {c.anchor.kind for c in index.chunks}
    assert kinds == {"section", "line"}
    assert all(c.course == "tiny" and c.lesson for c in index.chunks)


def test_opening_with_another_embedder_names_both_and_the_fix(ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    with pytest.raises(IndexMismatch, match=r"'fake/hashing'.*'other/model'.*--rebuild"):
        CourseIndex.open(catalog.require("tiny"), embedder="other/model")
    with pytest.raises(IndexMismatch, match="128-d.*384-d"):
        CourseIndex.open(catalog.require("tiny"), dimension=384)


def test_an_inconsistent_version_is_refused(ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    version = catalog.require("tiny")
    vectors = np.load(version / "vectors.npy")
    np.save(version / "vectors.npy", vectors[:-1])
    with pytest.raises(IndexMismatch, match="inconsistent"):
        CourseIndex.open(version)


def test_the_course_mentions_the_words_of_its_text_and_the_acronyms_it_spells_out(
        ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    index = CourseIndex.open(catalog.require("tiny"))
    assert index.mentions("GAN") and index.mentions("GANs")  # stemmed, either case
    assert index.mentions("KL-divergence")  # each of its terms
    assert index.mentions("VAE") and index.mentions("AND")  # a stop word names nothing
    # spelled out, in a heading: "Generative adversarial networks", "Variational autoencoders"
    assert index.mentions("GAN") and index.mentions("VA") and index.mentions("GANN") is False
    assert not index.mentions("MobileNet") and not index.mentions("Grad-CAM")
    assert not index.mentions("RLHF")  # no "reinforcement learning from human feedback"
    assert index.mentions("VAEs") and not index.mentions("RLHFs")  # an acronym's plural


def test_an_acronym_is_spelled_out_over_small_words_and_hyphens():
    from ingest.lexical import spelled_out

    assert spelled_out("RLHF").search("reinforcement learning from human feedback")
    assert spelled_out("MLP").search("a multi-layer perceptron")
    assert not spelled_out("MLP").search("a multi perceptron")
    assert not spelled_out("GRU").search("gated recurrence")


def test_an_acronym_spelled_out_only_in_a_heading_is_mentioned(catalog, ingestor, tmp_path):
    course = tmp_path / "gan-course"
    course.mkdir()
    (course / "gans.md").write_text(
        "# Generative adversarial networks\n\n## The discriminator\n\nThe discriminator is a "
        "classifier that learns to tell real training samples from the generator's fakes.\n")
    ingestor.ingest(course, "gan-only")
    index = CourseIndex.open(catalog.require("gan-only"))
    assert index.mentions("GAN") and index.mentions("GANs")
    assert not index.mentions("VAE")
