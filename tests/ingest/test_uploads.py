"""File names from an upload: only the name, only safe characters, only supported types."""

import io

import pytest

from ingest.uploads import (
    UnsupportedUpload,
    UploadRejected,
    UploadTooLarge,
    clean_name,
    clean_names,
    save_files,
)


@pytest.mark.parametrize(("raw", "clean"), [
    ("notes.md", "notes.md"),
    ("week1/notes.md", "notes.md"),
    ("week1\\day 2\\slides.PPTX", "slides.PPTX"),
    ("week 1: intro?.pdf", "week 1_ intro_.pdf"),
    (".hidden.md", "hidden.md"),
    ("__init__.txt", "init__.txt"),
    ("Übung\x00 2.md", "Übung_ 2.md"),
    ("a\n\tb.md", "a b.md"),
])
def test_a_name_keeps_only_its_last_component_and_safe_characters(raw, clean):
    assert clean_name(raw) == clean


def test_a_long_name_is_cut_but_keeps_its_suffix():
    name = clean_name("x" * 500 + ".md")
    assert len(name) <= 120 and name.endswith(".md")


@pytest.mark.parametrize("raw", ["", "...."])
def test_a_name_with_nothing_left_is_refused(raw):
    with pytest.raises(UploadRejected, match="not a usable file name"):
        clean_name(raw)


@pytest.mark.parametrize("raw", ["../x.md", "../../etc/notes.md", "..\\..\\Windows\\notes.md",
                                 "/abs/path/slides.pptx", "C:\\Users\\me\\notes.md", "..",
                                 "/", "a/../../b.md"])
def test_a_name_whose_path_leaves_its_folder_is_refused_naming_it(raw):
    with pytest.raises(UploadRejected, match="may not contain a path that leaves its folder"):
        clean_name(raw)


@pytest.mark.parametrize("raw", ["run.exe", "README", "course.yaml", ".md", "x.md.zip"])
def test_an_unsupported_type_is_refused_naming_the_allowed_ones(raw):
    with pytest.raises(UnsupportedUpload, match=r"allowed: .*\.md.*\.pdf") as refused:
        clean_name(raw)
    assert refused.value.kind == "unsupported"


def test_two_files_with_the_same_name_in_one_upload_are_refused():
    with pytest.raises(UploadRejected, match="two files"):
        clean_names(["a/notes.md", "b/Notes.md"])


def test_saving_stops_at_the_limit_for_the_files_together(tmp_path):
    files = [("a.txt", io.BytesIO(b"x" * 600)), ("b.txt", io.BytesIO(b"y" * 600))]
    with pytest.raises(UploadTooLarge, match="'b.txt'") as refused:
        save_files(files, tmp_path / "in", max_bytes=1000)
    assert refused.value.kind == "too_large"
