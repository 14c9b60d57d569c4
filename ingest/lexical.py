"""BM25 over chunk texts with bm25s: English stop words removed, Snowball-stemmed."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import bm25s
import numpy as np

# bm25s sets its own logger to DEBUG and prints "Building index from tokens".
logging.getLogger("bm25s").setLevel(logging.WARNING)


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, stopwords="english", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


_BETWEEN = r"\w*[\s-]+(?:(?:of|from|the|a|an|and|for|to|in|on|with|over|by)[\s-]+)*"


def spelled_out(acronym: str) -> re.Pattern[str]:
    """Words whose initials spell ``acronym``, small words between them allowed:
    GRU → "gated recurrent unit", RLHF → "reinforcement learning from human feedback"."""
    return re.compile(r"\b" + _BETWEEN.join(map(re.escape, acronym)) + r"\w*", re.IGNORECASE)


class Bm25Index:
    """Scores every chunk for a query; the caller ranks, filters and cuts."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size
        self._vocab = model.vocab_dict

    @classmethod
    def build(cls, texts: list[str]) -> Bm25Index:
        model = bm25s.BM25()
        model.index(tokenize(texts), show_progress=False)
        return cls(model, len(texts))

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> Bm25Index:
        return cls(bm25s.BM25.load(str(directory), show_progress=False, verbosity=0), size)

    def knows(self, word: str) -> bool:
        """Whether the chunks use ``word``: each of its terms (Grad-CAM: grad, cam), or the
        word written as one (GradCAM where the text has Grad-CAM). A word of stop words
        only (AND, OR) is known: it names nothing."""
        terms = tokenize([word])[0]
        joined = tokenize([word.replace("-", "").replace(".", "")])[0]
        return (not terms or all(t in self._vocab for t in terms)
                or bool(joined) and all(t in self._vocab for t in joined))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (row order); all zeros when no query term is known."""
        terms = [t for t in tokenize([query])[0] if t in self._vocab]
        if not terms or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)
