import ast
from pathlib import Path

import pytest

from ingest.chunking import Chunker
from ingest.loaders import LoadError, loader_for
from ingest.loaders.source import signature
from ingest.store import CourseIndex

SOURCE = '''"""A perceptron, from scratch."""
import torch

LEARNING_RATE = 0.1


# one step of the perceptron rule
@torch.no_grad()
def step(w, x, y, lr=LEARNING_RATE):
    """Move w towards x when the sign is wrong."""
    if torch.sign(w @ x) != y:
        w += lr * y * x
    return w


class Perceptron(torch.nn.Module):
    """A single threshold unit."""

    bias = True

    def __init__(self, n):
        super().__init__()
        self.w = torch.zeros(n)

    def forward(self, x):
        return torch.sign(self.w @ x)


if __name__ == "__main__":
    print(step(torch.zeros(2), torch.ones(2), 1))
'''


def load(tmp_path: Path, text: str = SOURCE, name: str = "perceptron.py"):
    path = tmp_path / name
    path.write_text(text)
    return loader_for(path).load(path)


def test_each_definition_is_a_section_named_by_its_symbol_and_lines(tmp_path: Path):
    doc = load(tmp_path)
    assert doc.title == "A perceptron, from scratch"
    assert doc.loader == "source"
    got = [(s.anchor.ref, s.heading_path[1:]) for s in doc.sections]
    assert got == [
        ("1-4", ()),
        ("7-13", ("def step(w, x, y, lr=LEARNING_RATE)",)),
        ("16-19", ("class Perceptron(torch.nn.Module)",)),
        ("21-23", ("class Perceptron(torch.nn.Module)", "def __init__(self, n)")),
        ("25-26", ("class Perceptron(torch.nn.Module)", "def forward(self, x)")),
        ("29-30", ()),
    ]
    assert all(s.language == "python" and s.anchor.kind == "line" for s in doc.sections)


def test_a_definition_keeps_its_comment_and_decorator_and_methods_are_dedented(tmp_path):
    _, step, *_, forward, _ = load(tmp_path).sections
    assert step.text.startswith("# one step of the perceptron rule\n@torch.no_grad()\ndef step(")
    assert step.anchor.label == "lines 7–13, def step(w, x, y, lr=LEARNING_RATE)"
    assert forward.text == "def forward(self, x):\n    return torch.sign(self.w @ x)"


def test_signatures_read_as_written():
    tree = ast.parse("async def f(a, *b, c=1, **d): pass\nclass C(A, metaclass=M): pass\n")
    assert [signature(n) for n in tree.body] == ["async def f(a, *b, c=1, **d)", "class C(A)"]


def test_invalid_python_is_refused_with_the_line(tmp_path: Path):
    with pytest.raises(LoadError, match=r"not valid Python: .* at line 2"):
        load(tmp_path, "x = 1\nprint 'python 2'\n", "old.py")


@pytest.mark.parametrize("text", ["x = " + "(" * 5000 + ")" * 5000 + "\n",
                                  "x = 1\n" * 2000 + "y = '\x00'\n"])
def test_crafted_python_is_refused_with_a_reason(tmp_path: Path, text):
    with pytest.raises(LoadError, match="Python"):
        load(tmp_path, text, "crafted.py")


def test_an_empty_module_is_empty(tmp_path: Path):
    with pytest.raises(LoadError, match="empty"):
        load(tmp_path, "\n\n", "__init__.py")


def test_code_chunks_are_fenced_and_kept_whole_up_to_the_window(tmp_path: Path):
    body = "\n".join(f"    total = total + {n}" for n in range(20))
    doc = load(tmp_path, f"def add():\n    total = 0\n{body}\n    return total\n", "add.py")

    def count(text: str) -> int:
        return len(text.split())

    prose_size = Chunker(count, max_tokens=200, chunk_tokens=40, overlap_tokens=8)
    chunks = prose_size.chunk(doc, course_id="c", course_title="C", source="add.py")
    assert len(chunks) == 1  # 86 words: past the prose chunk size, inside the window
    assert chunks[0].text.startswith("```python\ndef add():") and chunks[0].text.endswith("\n```")
    assert chunks[0].location == "add.py#line=1-23"

    narrow = Chunker(count, max_tokens=48, chunk_tokens=40, overlap_tokens=8)
    pieces = narrow.chunk(doc, course_id="c", course_title="C", source="add.py")
    assert len(pieces) > 1
    assert all(p.text.startswith("```python\n") and p.text.endswith("\n```") for p in pieces)


def test_a_course_with_source_files_cites_them_by_line_range(tmp_path: Path, ingestor, catalog):
    course = tmp_path / "course"
    course.mkdir()
    (course / "perceptron.py").write_text(SOURCE)
    (course / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    report = ingestor.ingest(course, "code")
    assert report.added == ["perceptron.py"]  # setup.py is a build file, left out by default
    chunks = CourseIndex.open(catalog.require("code")).chunks
    assert {c.location for c in chunks} >= {"perceptron.py#line=7-13", "perceptron.py#line=25-26"}
