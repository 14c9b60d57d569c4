from pathlib import Path

import pytest

from ingest.loaders import LoadError, UnsupportedFormat, loader_for


def test_text_is_one_section_anchored_at_line_one(tmp_path: Path):
    path = tmp_path / "notes_on-things.txt"
    path.write_text("First paragraph.\n\nSecond paragraph.\n")
    doc = loader_for(path).load(path)
    assert doc.title == "notes on things"
    assert len(doc.sections) == 1
    assert doc.sections[0].anchor.kind == "line"
    assert doc.sections[0].start_line == 1


def test_non_utf8_text_is_refused_with_the_offending_byte(tmp_path: Path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(LoadError, match="not valid UTF-8"):
        loader_for(path).load(path)


def test_whitespace_only_text_is_empty(tmp_path: Path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n ")
    with pytest.raises(LoadError, match="empty"):
        loader_for(path).load(path)


def test_unknown_suffix_names_the_supported_ones(tmp_path: Path):
    with pytest.raises(UnsupportedFormat, match=r"'\.xyz'.*\.md"):
        loader_for(tmp_path / "file.xyz")
