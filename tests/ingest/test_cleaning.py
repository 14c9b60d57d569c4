"""Only language is indexed: inline payloads leave a section's text (an image keeps its
alt text), and a chunk that is mostly payload is told from prose, code, formulas, tables
and link lists."""

from __future__ import annotations

import base64
import json
import os

import pytest

from ingest.cleaning import drop_payloads, is_language

PNG = base64.b64encode(os.urandom(3000)).decode()


@pytest.mark.parametrize(("text", "expected"), [
    (f"Before ![the training curve](data:image/png;base64,{PNG}) after.",
     "Before the training curve after."),
    (f'Look: <img alt="a GAN sample" src="data:image/png;base64,{PNG}" width=300> here',
     "Look: a GAN sample here"),
    (f"<img src='data:image/jpeg;base64,{PNG}'/>", ""),
    ("![plot](<data:image/svg+xml;utf8,<svg xmlns='x'><path d='M0 0'/></svg>>) ok",
     "plot ok"),
    (f"[logo]: data:image/png;base64,{PNG}\nText.", "\nText."),
    (f"raw data:application/octet-stream;base64,{PNG} and the words after stay",
     "raw  and the words after stay"),
    ("A data: URI is written data:text/plain;base64,SGk= in the notes.",
     "A data: URI is written data:text/plain;base64,SGk= in the notes."),  # short: an example
    ("No payload at all, only ![an image](figures/gan.png).",
     "No payload at all, only ![an image](figures/gan.png)."),
])
def test_inline_payloads_leave_and_alt_text_stays(text, expected):
    assert drop_payloads(text) == expected


LANGUAGE = [
    "The discriminator learns to tell real samples from generated ones.",
    "mha = torch.nn.MultiheadAttention(embed_dim=d_model, num_heads=h, bias=False)",
    "| x1 | x2 | AND |\n|----|----|-----|\n| 0  | 0  | 0   |\n| 1  | 1  | 1   |",
    r"$$ L = -\sum_i y_i \log \hat{y}_i, \quad \hat{y} = \mathrm{softmax}(Wx + b) $$",
    "- [Goals](#goals)\n- [Q1: k-Nearest Neighbor classifier](#q1-k-nearest-neighbor-classifier)",
    "[One pixel attack](https://arxiv.org/abs/1710.08864)  \n[A survey](https://arxiv.org/abs/1810.00069)",
    "print(f\"samples near -0.8: {(x - (-0.8)).abs().lt(0.2).float().mean().item():.2f}\")",
]
PAYLOAD = [
    PNG[:500],
    "\n".join(PNG[i:i + 76] for i in range(0, 1500, 76)),
    " ".join(os.urandom(16).hex() for _ in range(30)),
    f"see {PNG[:400]}",
]


@pytest.mark.parametrize("text", LANGUAGE)
def test_language_is_kept(text):
    assert is_language(text)


@pytest.mark.parametrize("text", PAYLOAD)
def test_payloads_are_told_apart(text):
    assert not is_language(text)


def test_a_notebook_cell_with_a_pasted_screenshot_gives_its_words_only(tmp_path):
    from ingest.chunking import Chunker
    from ingest.loaders.notebook import NotebookLoader

    cell = f"# Results\n\nThe loss falls fast.\n\n![loss curve](data:image/png;base64,{PNG * 20})"
    notebook = {"cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": cell}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "results.ipynb"
    path.write_text(json.dumps(notebook))
    chunker = Chunker(lambda t: len(t.split()), max_tokens=256, chunk_tokens=96,
                      overlap_tokens=16)
    chunks = chunker.chunk(NotebookLoader().load(path), course_id="c", course_title="C",
                           source="results.ipynb")
    assert [c.text for c in chunks] == ["The loss falls fast.\n\nloss curve"]
