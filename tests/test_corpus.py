"""The bundled course is complete, original and free of invented policies."""

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.conftest import BUNDLED_COURSE, ROOT

SLIDES = ROOT.parent / "shared" / "course" / "genai-basics-slides.txt"


def course_files() -> list[Path]:
    return sorted(p for p in BUNDLED_COURSE.rglob("*") if p.suffix in {".md", ".ipynb"})


def text_of(path: Path, kinds: tuple[str, ...] = ("markdown", "code")) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] in kinds)
    return path.read_text()


def test_course_yaml_lists_every_lesson_and_notebook_in_order():
    meta = yaml.safe_load((BUNDLED_COURSE / "course.yaml").read_text())
    assert meta["id"] == "genai-basics" and meta["title"] and meta["licence"]
    listed = meta["lessons"]
    assert sorted(listed) == sorted(p.relative_to(BUNDLED_COURSE).as_posix() for p in course_files())
    assert sum(p.endswith(".md") for p in listed) >= 15
    assert sum(p.endswith(".ipynb") for p in listed) >= 3


@pytest.mark.parametrize("path", course_files(), ids=lambda p: p.name)
def test_each_lesson_has_one_title_and_sections(path):
    text = text_of(path, kinds=("markdown",))
    assert len(re.findall(r"^# ", text, flags=re.M)) == 1
    assert len(re.findall(r"^## ", text, flags=re.M)) >= 4


@pytest.mark.parametrize("path", sorted(BUNDLED_COURSE.glob("notebooks/*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_valid_and_their_code_compiles(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code
    compile("\n\n".join(code), str(path), "exec")


def test_the_course_invents_no_policies():
    pattern = re.compile(
        r"\b(late penalt|passing grade|pass mark|credit hour|office hours|final exam|"
        r"grading scheme|tuition)",
        re.IGNORECASE,
    )
    found = {p.name: pattern.findall(text_of(p)) for p in course_files()}
    assert {name: hits for name, hits in found.items() if hits} == {}


@pytest.mark.skipif(not SLIDES.exists(), reason="the course's slide text is not beside the repo")
def test_no_sentence_is_copied_from_the_slides():
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    n = 8
    slide_words = words(SLIDES.read_text())
    slide_grams = {tuple(slide_words[i:i + n]) for i in range(len(slide_words) - n + 1)}
    copied = {}
    for path in course_files():
        w = words(text_of(path))
        runs = [" ".join(w[i:i + n]) for i in range(len(w) - n + 1) if tuple(w[i:i + n]) in slide_grams]
        if runs:
            copied[path.name] = runs
    assert copied == {}
