from pathlib import Path

import pytest

from ingest.loaders import LoadError, loader_for
from ingest.loaders.markdown import split_headings


def test_sections_follow_headings_with_their_path():
    title, sections = split_headings(
        "# Lesson\n\nIntro.\n\n## Part A\n\nText A.\n\n### Detail\n\nDeep.\n\n## Part B\n\nText B.\n",
        "fallback",
    )
    assert title == "Lesson"
    assert [s.heading_path for s in sections] == [
        ("Lesson",), ("Lesson", "Part A"), ("Lesson", "Part A", "Detail"), ("Lesson", "Part B"),
    ]
    assert [s.text for s in sections] == ["Intro.", "Text A.", "Deep.", "Text B."]


def test_heading_text_is_not_repeated_in_the_section_text():
    _, sections = split_headings("# T\n\n## Why it works\n\nBecause.\n", "x")
    assert "Why it works" not in sections[0].text


def test_anchor_is_the_heading_slug_and_repeats_are_numbered():
    _, sections = split_headings("# T\n\n## Key idea\n\nOne.\n\n## Key idea\n\nTwo.\n", "x")
    assert [s.anchor.ref for s in sections] == ["key-idea", "key-idea-1"]
    assert sections[0].anchor.kind == "section"
    assert sections[0].anchor.label == "Key idea"


def test_hash_lines_inside_code_fences_are_not_headings():
    text = "# T\n\n## Code\n\n```python\n# a comment\nx = 1\n```\n"
    _, sections = split_headings(text, "x")
    assert len(sections) == 1
    assert "# a comment" in sections[0].text


def test_without_h1_the_fallback_title_heads_the_path():
    title, sections = split_headings("## Only\n\nBody.\n", "My file")
    assert title == "My file"
    assert sections[0].heading_path == ("My file", "Only")


def test_front_matter_title_is_used_and_not_indexed(tmp_path: Path):
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: From front matter\n---\nSome body text.\n")
    doc = loader_for(path).load(path)
    assert doc.title == "From front matter"
    assert "title:" not in doc.sections[0].text


def test_empty_markdown_is_refused(tmp_path: Path):
    path = tmp_path / "empty.md"
    path.write_text("# Just a title\n")
    with pytest.raises(LoadError, match="empty"):
        loader_for(path).load(path)


def test_binary_content_is_refused(tmp_path: Path):
    path = tmp_path / "bin.md"
    path.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(LoadError, match="binary"):
        loader_for(path).load(path)
