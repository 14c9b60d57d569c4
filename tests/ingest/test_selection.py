"""What is course material: gitignore-style patterns, the defaults that leave out a
repository's paperwork and build output, and the report's grouping of what was left out."""

from __future__ import annotations

import pytest

from ingest.selection import Selection, group_skipped, matches


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("LICENSE*", "LICENSE", True),
    ("LICENSE*", "docs/LICENSE.md", True),  # a bare name matches in any folder
    ("license*", "LICENSE.txt", True),  # and without regard to case
    ("assignments/", "assignments/2020/a1.md", True),
    ("assignments/", "notes/assignments.md", False),
    ("assignments/**", "assignments/a1.md", True),
    ("notes/*.md", "notes/a.md", True),
    ("notes/*.md", "notes/deep/a.md", False),  # * stays within one folder
    ("notes/**/*.md", "notes/deep/a.md", True),
    ("notes/**/*.md", "notes/a.md", True),
    ("**/build/", "book/build/index.html", True),
    ("build/", "book/build/index.html", True),  # a bare folder name, anywhere
    ("poster*.md", "poster-2018.md", True),
    ("poster*.md", "talks/poster.md", True),
    ("*.md", "a.mdx", False),
])
def test_patterns_read_as_gitignore_reads_them(pattern, path, expected):
    assert matches(pattern, path) is expected


def test_the_defaults_leave_out_paperwork_and_build_output_and_keep_lessons():
    chosen = Selection()
    for path in ("LICENSE.md", "CONTRIBUTING.md", "requirements.txt", "docs/requirements-dev.txt",
                 "build/html/index.html", "site/index.html", "node_modules/x/README.md",
                 "setup.py", "Gemfile.lock", "static/jquery.min.js"):
        assert chosen.left_out(path) is not None, path
    for path in ("README.md", "lessons/01-intro.md", "notebooks/gan.ipynb", "slides/week1.pptx",
                 "chapter_builders/notes.md"):
        assert chosen.left_out(path) is None, path
    assert Selection(defaults=False).left_out("LICENSE.md") is None
    assert Selection().left_out(".github/workflows/ci.md").startswith("hidden")
    assert Selection().left_out("_build/index.html").startswith("hidden")


def test_include_narrows_exclude_always_wins():
    chosen = Selection(include=("lessons/", "*.ipynb"), exclude=("lessons/drafts/",))
    assert chosen.left_out("lessons/01.md") is None
    assert chosen.left_out("nb/gan.ipynb") is None
    assert chosen.left_out("lessons/drafts/02.md") == "excluded by 'lessons/drafts/'"
    assert chosen.left_out("README.md") == "not matched by the include patterns"
    wider = chosen.merged(exclude=("*.ipynb",))
    assert wider.left_out("nb/gan.ipynb") == "excluded by '*.ipynb'"


def test_skipped_files_are_grouped_by_kind_and_by_what_went_wrong():
    unsupported = "unsupported file type {!r}; supported: .md"
    skipped = {f"img/{n}.png": unsupported.format(".png") for n in range(5)}
    skipped |= {"img/logo.svg": unsupported.format(".svg"), "build.sh": unsupported.format(".sh"),
                "Makefile": unsupported.format("(no suffix)"),
                "scan1.pdf": "no extractable text in 3 page(s) (a scanned PDF needs OCR first)",
                "scan2.pdf": "no extractable text in 1 page(s) (a scanned PDF needs OCR first)",
                "locked.pdf": "encrypted PDF: it needs a password to open"}
    lines = [group.line(names=0 if group.by_suffix else 3) for group in group_skipped(skipped)]
    assert lines == ["6 images (.png, .svg)", "2 PDF files without text: scan1.pdf, scan2.pdf",
                     "1 PDF file encrypted: locked.pdf", "1 file of another type (no suffix)",
                     "1 script or code file (.sh)"]


def test_a_repository_ingests_its_material_and_reports_the_rest_in_groups(ingestor, tmp_path):
    import base64
    import json
    import os

    repo = tmp_path / "repo"
    (repo / "lessons").mkdir(parents=True)
    (repo / "lessons" / "gans.md").write_text("# GANs\n\nA generator and a discriminator.\n")
    (repo / "assignments").mkdir()
    (repo / "assignments" / "hw1.md").write_text("# Homework 1\n\nDue Friday.\n")
    (repo / "build" / "html").mkdir(parents=True)
    (repo / "build" / "html" / "gans.html").write_text("<h1>GANs</h1><p>copy</p>")
    (repo / "LICENSE.md").write_text("# MIT License\n\nPermission is hereby granted.\n")
    (repo / "img").mkdir()
    for n in range(3):
        (repo / "img" / f"fig{n}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (repo / "build.sh").write_text("make html\n")
    pasted = base64.b64encode(os.urandom(20000)).decode()
    cells = [{"cell_type": "markdown", "id": "a", "metadata": {},
              "source": f"# Lab\n\nTrain it.\n\n![curve](data:image/png;base64,{pasted})"},
             {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [],
              "execution_count": None, "source": f"blob = '{pasted}'"}]
    (repo / "lab.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                                "nbformat_minor": 5}))
    (repo / "course.yaml").write_text("id: repo\ntitle: Repo\nexclude: [assignments/]\n")

    report = ingestor.ingest(repo, "repo")
    assert sorted(report.added) == ["lab.ipynb", "lessons/gans.md"], report.skipped
    assert report.not_language >= 1  # the code cell's blob
    assert set(report.left_out) == {"assignments/hw1.md", "build/html/gans.html", "LICENSE.md"}
    assert report.skipped_lines() == [
        "skipped 4 files: 3 images (.png); 1 script or code file (.sh)",
        "left out 3 files: 2 not course material by default: LICENSE.md, build/html/gans.html; "
        "1 excluded by 'assignments/': assignments/hw1.md"]
    everything = ingestor.ingest(repo, "repo", exclude=("lab.ipynb",))
    assert "lab.ipynb" in everything.removed and "lab.ipynb" in everything.left_out

