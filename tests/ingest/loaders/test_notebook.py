from pathlib import Path

import nbformat
import pytest

from ingest.loaders import LoadError, loader_for


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Attention by hand\n\nWe compute attention."),
        nbformat.v4.new_markdown_cell("## Scores\n\nDot products of queries and keys."),
        nbformat.v4.new_code_cell("scores = q @ k.T / d ** 0.5"),
        nbformat.v4.new_code_cell(""),
        nbformat.v4.new_markdown_cell("## Softmax\n\n```python\n# not a heading\n```"),
    ]
    nbformat.write(nb, path)


def test_each_cell_is_a_section_with_number_kind_and_heading_path(tmp_path: Path):
    path = tmp_path / "attention.ipynb"
    write_notebook(path)
    doc = loader_for(path).load(path)
    assert doc.title == "Attention by hand"
    labels = [s.anchor.label for s in doc.sections]
    assert labels == ["cell 1 (markdown)", "cell 2 (markdown)", "cell 3 (code)", "cell 5 (markdown)"]
    code = doc.sections[2]
    assert code.anchor.kind == "cell" and code.anchor.ref == "3"
    assert code.heading_path == ("Attention by hand", "Scores")
    assert code.language == "python" and doc.sections[1].language is None
    assert doc.sections[3].heading_path == ("Attention by hand", "Softmax")
    assert "# not a heading" in doc.sections[3].text


def test_code_cells_carry_the_kernel_language(tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    nb.cells = [nbformat.v4.new_code_cell("x <- c(1, 2)")]
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    assert loader_for(path).load(path).sections[0].language == "r"
    nb.metadata["kernelspec"]["language"] = "not a language\n```"  # crafted: read as Python
    nbformat.write(nb, path)
    assert loader_for(path).load(path).sections[0].language == "python"


def test_invalid_notebook_json_is_refused(tmp_path: Path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [')
    with pytest.raises(LoadError, match="not a valid notebook"):
        loader_for(path).load(path)


def test_bundled_notebooks_load():
    folder = Path(__file__).resolve().parents[3] / "corpus" / "genai-basics" / "notebooks"
    notebooks = sorted(folder.glob("*.ipynb"))
    assert len(notebooks) >= 3
    for path in notebooks:
        doc = loader_for(path).load(path)
        assert any(s.anchor.label.endswith("(code)") for s in doc.sections), path.name
