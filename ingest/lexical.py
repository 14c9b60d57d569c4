"""BM25 over chunk texts with bm25s: English stop words removed, Snowball-stemmed."""

from __future__ import annotations

import logging
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

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (row order); all zeros when no query term is known."""
        terms = [t for t in tokenize([query])[0] if t in self._vocab]
        if not terms or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)
