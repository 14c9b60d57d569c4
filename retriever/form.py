"""Code or prose: what a question asks for, and what a passage is.

A question about code ("how do I define the model in PyTorch?", "what does
``np.max(f)`` do in the snippet?") should find code; any other question is left to the
retrievers as they rank. Both are pure decisions over text, used by hybrid fusion, where
for a code question the passages that hold code form a third ranked list (see
:mod:`retriever.hybrid`).
"""

from __future__ import annotations

import re

from ingest.documents import Chunk

# Words that name code or a coding library, and the shapes of code itself
_CODE_WORDS = re.compile(
    r"\b(?:code|coding|snippet|implement(?:s|ed|ing|ation)?|python|pytorch|torch|numpy|"
    r"tensorflow|keras|jax|notebook|syntax)\b", re.I)
_CODE_SHAPES = re.compile(
    r"`[^`]+`"                      # an inline code span
    r"|\b[A-Za-z_]\w*\.[A-Za-z_]\w*\("  # a call on a module or object: np.exp(
    r"|\b[A-Za-z_]\w*\(\)"           # a bare call: backward()
    r"|\w+\s*[-+*/]=\s*\w")          # an augmented assignment: f -= np.max(f)


def asks_for_code(question: str) -> bool:
    """Whether the question asks about code (names it, a coding library, or quotes code)."""
    return bool(_CODE_WORDS.search(question) or _CODE_SHAPES.search(question))


def is_code(chunk: Chunk) -> bool:
    """Whether the passage holds code: a fenced block, or a notebook code cell."""
    return "```" in chunk.text or "code)" in chunk.anchor.label
