"""GGUF models through llama-cpp-python.

One ``Llama`` instance per process, used by one generation at a time (it is not
thread-safe). llama.cpp keeps the KV cache of the previous prompt and re-evaluates only
from the first token that differs, so a fixed system prompt at the start of every
request is paid for once, not per question.

Untrusted text never becomes a control token. For a ChatML model (the default Qwen2.5
models, SmolLM2) the prompt is built token by token: the template's markup
(``<|im_start|>user``, ``<|im_end|>``) is tokenized with special tokens, every message's
content without, so ``<|im_end|>`` written in a question, a passage or a history turn is
read as the characters it is. For an ordinary message these are exactly the tokens the
model's own chat template gives (``tests/generator/test_backends.py`` checks), so answers
do not change. A model with another template gets its contents defused instead
(:func:`generator.guard.defuse_control_tokens`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from generator.backends.worker import PriorityWorker
from generator.base import ChatMessage, GenerationParams
from generator.guard import defuse_control_tokens

log = logging.getLogger(__name__)


class LlamaCppGenerator:
    def __init__(self, model_path: Path, *, name: str, n_ctx: int = 4096,
                 n_threads: int | None = None, seed: int = 0, nice: int = 0) -> None:
        self.model_path = Path(model_path)
        self.name = name
        self.context_window = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.seed = seed
        self._llm = None
        self._lock = threading.Lock()
        self._worker: PriorityWorker[dict] = PriorityWorker(nice, name="llama.cpp")

    def load(self) -> None:
        if self._llm is not None:  # loaded: no lock (stream holds it while it builds prompts)
            return
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
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    @property
    def chatml(self) -> bool:
        """Whether the model's chat template is ChatML (prompts are then built by tokens)."""
        self.load()
        return "<|im_start|>" in self._llm.metadata.get("tokenizer.chat_template", "")

    def prompt_tokens(self, messages: list[ChatMessage]) -> list[int]:
        """The ChatML prompt, markup tokenized with special tokens and content without,
        ending where the assistant's answer begins."""
        self.load()

        def markup(text: str) -> list[int]:
            return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

        tokens: list[int] = []
        for message in messages:
            tokens += markup(f"<|im_start|>{message.role}\n")
            tokens += self._llm.tokenize(message.content.encode("utf-8"), add_bos=False,
                                         special=False)
            tokens += markup("<|im_end|>\n")
        return tokens + markup("<|im_start|>assistant\n")

    def stream(self, messages: list[ChatMessage], params: GenerationParams,
               cancel: threading.Event | None = None) -> Iterator[str]:
        self.load()
        with self._lock:
            if cancel is not None and cancel.is_set():
                return  # gone before the prompt was read: do not read it
            if self.chatml:
                # create_chat_completion's own sampling, on the tokens built above
                chunks = self._llm.create_completion(
                    prompt=self.prompt_tokens(messages), max_tokens=params.max_tokens,
                    temperature=params.temperature, top_p=0.95, top_k=40, min_p=0.05,
                    typical_p=1.0, repeat_penalty=1.0, stop=[*params.stop, "<|im_end|>"],
                    stream=True)
                text = lambda chunk: chunk["choices"][0]["text"]  # noqa: E731
            else:
                chunks = self._llm.create_chat_completion(
                    messages=[{"role": m.role, "content": defuse_control_tokens(m.content)}
                              for m in messages],
                    max_tokens=params.max_tokens, temperature=params.temperature,
                    stop=list(params.stop) or None, stream=True)
                text = lambda chunk: chunk["choices"][0]["delta"].get("content")  # noqa: E731
            # computed on the worker thread, below the priority of searches and pages; closing
            # ``chunks`` (the worker does, at a cancel or when we stop) stops llama.cpp
            for chunk in self._worker.iterate(lambda: chunks, cancel):
                piece = text(chunk)
                if piece:
                    yield piece
            if cancel is not None and cancel.is_set():
                log.info("generation cancelled by the caller")
