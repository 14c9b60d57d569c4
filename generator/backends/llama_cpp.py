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

With ``kv_reuse`` (ChatML models), prompts go through :mod:`generator.backends.kv_reuse`
instead: each source's KV cache is computed once and stitched into later prompts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from generator.backends.kv_reuse import Job, ReuseEngine, Scheduler, Segment
from generator.backends.worker import PriorityWorker
from generator.base import ChatMessage, GenerationParams
from generator.guard import defuse_control_tokens

log = logging.getLogger(__name__)


class LlamaCppGenerator:
    def __init__(self, model_path: Path, *, name: str, n_ctx: int = 4096,
                 n_threads: int | None = None, seed: int = 0, nice: int = 0,
                 kv_reuse: bool = False, kv_budget_mb: int = 768,
                 kv_recompute: int = 16, parallel: int = 1) -> None:
        self.model_path = Path(model_path)
        self.name = name
        self.context_window = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.seed = seed
        self._llm = None
        self._lock = threading.Lock()
        self.kv_reuse, self.kv_budget_mb, self.kv_recompute = kv_reuse, kv_budget_mb, kv_recompute
        self.engine: ReuseEngine | None = None
        self.scheduler: Scheduler | None = None
        self.nice = nice
        # answers decoded together (ChatML models; the plain path answers one at a time)
        self.parallel = parallel
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
            llm = Llama(
                model_path=str(self.model_path), n_ctx=self.context_window,
                n_threads=self.n_threads, n_batch=512, seed=self.seed, verbose=False,
            )
            chatml = "<|im_start|>" in llm.metadata.get("tokenizer.chat_template", "")
            if chatml and (self.kv_reuse or self.parallel > 1):
                # its own context: the prompts being answered, and with reuse the course's
                # prefix and one body being encoded, each up to the window
                self.engine = ReuseEngine(
                    llm, n_ctx=(self.kv_reuse + self.parallel) * self.context_window,
                    n_threads=self.n_threads, budget=self.kv_budget_mb * 2**20,
                    recompute=self.kv_recompute, parallel=self.parallel,
                    reuse=self.kv_reuse)
                self.scheduler = Scheduler(self.engine, nice=self.nice)
            elif self.parallel > 1:  # the plain path writes one answer at a time
                log.warning("generator.parallel needs a ChatML model; %s answers one at a "
                            "time", self.model_path.name)
                self.parallel = 1
            self._llm = llm

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
        tokens: list[int] = []
        for message in messages:
            tokens += self._markup(f"<|im_start|>{message.role}\n")
            tokens += self._content(message.content)
            tokens += self._markup("<|im_end|>\n")
        return tokens + self._markup("<|im_start|>assistant\n")

    def _markup(self, text: str) -> list[int]:
        """Template markup: control tokens are read as control tokens."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _content(self, text: str) -> list[int]:
        """Message content: ``<|im_end|>`` written in it stays the characters it is."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def prompt_segments(self, messages: list[ChatMessage]) -> list[Segment]:
        """:meth:`prompt_tokens` in runs, each reusable part of a message a run of its own
        (tokenized on its own: it must read the same wherever it lands)."""
        self.load()
        segments: list[Segment] = []
        fresh: list[int] = []
        for message in messages:
            fresh += self._markup(f"<|im_start|>{message.role}\n")
            for text, reusable in message.parts or ((message.content, False),):
                if reusable:
                    segments += [Segment(tuple(fresh)),
                                 Segment(tuple(self._content(text)), reusable=True)]
                    fresh = []
                else:
                    fresh += self._content(text)
            fresh += self._markup("<|im_end|>\n")
        fresh += self._markup("<|im_start|>assistant\n")
        return [s for s in [*segments, Segment(tuple(fresh))] if s.tokens]

    def _reuse_pieces(self, messages: list[ChatMessage], params: GenerationParams,
                      cancel: threading.Event | None) -> Iterator[str]:
        """The answer through the KV-reusing engine: greedy, as temperature 0 is, with the
        text of each token as soon as it is whole UTF-8, up to a stop string."""
        end = frozenset(self._markup("<|im_end|>"))
        job = Job(self.prompt_segments(messages), params.max_tokens, end,
                  folder=params.kv_folder, cancel=cancel)
        pending, written = b"", ""
        for token in self.scheduler.tokens(job):
            pending += self._llm.detokenize([token])
            try:
                piece = pending.decode("utf-8")
            except UnicodeDecodeError:
                continue  # a character cut between tokens: wait for the rest
            pending = b""
            written += piece
            cut = min((written.find(s) for s in params.stop if s in written), default=-1)
            if cut >= 0:
                yield piece[:max(0, len(piece) - (len(written) - cut))]
                return
            yield piece

    def warm(self, messages: list[ChatMessage], folder: Path | None = None):
        """Read the prompt into the KV-reusing engine without answering (its sources' KV
        kept, in memory and in ``folder``); the engine's statistics for it."""
        self.load()
        if self.engine is None or not self.engine.reuse:
            raise ValueError("warming needs generator.kv_reuse on and a ChatML model")
        job = Job(self.prompt_segments(messages), 0, frozenset(), folder=folder, stitch=True)
        for _ in self.scheduler.tokens(job):
            pass
        return job.stats

    def stream(self, messages: list[ChatMessage], params: GenerationParams,
               cancel: threading.Event | None = None) -> Iterator[str]:
        self.load()
        if self.engine is not None:  # the scheduler's thread computes, for every caller
            if cancel is None or not cancel.is_set():
                yield from self._reuse_pieces(messages, params, cancel)
            return
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
