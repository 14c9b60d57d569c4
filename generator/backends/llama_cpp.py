"""GGUF models through llama-cpp-python.

One ``Llama`` instance per process, used by one generation at a time (it is not
thread-safe). llama.cpp keeps the KV cache of the previous prompt and re-evaluates only
from the first token that differs, so a fixed system prompt at the start of every
request is paid for once, not per question.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from generator.base import ChatMessage, GenerationParams

log = logging.getLogger(__name__)


class LlamaCppGenerator:
    def __init__(self, model_path: Path, *, name: str, n_ctx: int = 4096,
                 n_threads: int | None = None, seed: int = 0) -> None:
        self.model_path = Path(model_path)
        self.name = name
        self.context_window = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.seed = seed
        self._llm = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ImportError(
                    "the llama_cpp backend needs llama-cpp-python: pip install "
                    "llama-cpp-python==0.3.36 (or `make setup`)"
                ) from None
            log.info("loading %s with llama.cpp (%d threads)", self.model_path.name, self.n_threads)
            self._llm = Llama(
                model_path=str(self.model_path), n_ctx=self.context_window,
                n_threads=self.n_threads, n_batch=512, seed=self.seed, verbose=False,
            )

    @property
    def llama(self):
        """The loaded ``llama_cpp.Llama`` itself (the bench compares studyhall's stream with
        the library's own call on the same instance)."""
        self.load()
        return self._llm

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[ChatMessage], params: GenerationParams,
               cancel: threading.Event | None = None) -> Iterator[str]:
        self.load()
        with self._lock:
            if cancel is not None and cancel.is_set():
                return  # gone before the prompt was read: do not read it
            chunks = self._llm.create_chat_completion(
                messages=[m.as_dict() for m in messages],
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                stop=list(params.stop) or None,
                stream=True,
            )
            try:
                for chunk in chunks:
                    if cancel is not None and cancel.is_set():
                        log.info("generation cancelled by the caller")
                        break
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                chunks.close()  # stops llama.cpp from generating further
