import pytest

from ingest.catalog import Catalog, UnknownCourse


def test_unknown_course_lists_the_known_ones(ingestor, catalog, course_dir):
    ingestor.ingest(course_dir, "tiny")
    with pytest.raises(UnknownCourse, match=r"unknown course 'nope'; known courses: tiny"):
        catalog.require("nope")


def test_unknown_course_in_an_empty_catalog_says_how_to_add_one(tmp_path):
    with pytest.raises(UnknownCourse, match="studyhall ingest"):
        Catalog(tmp_path).require("anything")


def test_publishing_swaps_the_pointer_and_prunes_old_versions(ingestor, catalog, course_dir):
    versions = []
    for n in range(4):
        (course_dir / "notes.txt").write_text(f"Revision {n} of the notes.\n")
        versions.append(ingestor.ingest(course_dir, "tiny").version)
    assert catalog.require("tiny").name == versions[-1]
    kept = sorted(p.name for p in (catalog.course_dir("tiny") / "versions").iterdir())
    assert kept == sorted(versions[-2:])  # keep_versions = 2: current and previous


def test_a_version_without_manifest_is_not_current(ingestor, catalog, course_dir):
    report = ingestor.ingest(course_dir, "tiny")
    (catalog.require("tiny") / "manifest.json").unlink()
    assert catalog.current_version("tiny") is None
    assert report.version is not None
