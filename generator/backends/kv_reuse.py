"""Each source's KV cache computed once and stitched into every prompt that shows it.

Most of a question's first-token time is the model reading its ~500 tokens of sources,
and the same few lessons answer most questions. Here a source's *body* (everything after
its number: ``title="…">`` text ``</source>``) is encoded once, on its own, right after
the course's fixed prompt prefix, and its KV cells are kept (:class:`BlockStore`, LRU
within a byte budget). A prompt that shows it again gets those cells copied in and moved
to where the body lands (``llama_state_seq_set_data`` into a scratch sequence,
``llama_memory_seq_add`` to shift the positions, RoPE re-applied by llama.cpp's K-shift,
``llama_memory_seq_cp`` into the answer's sequence). What is computed fresh: each
source's number, the first ``recompute`` tokens of every body after the first (so they
attend to the sources before them, as EPIC, arXiv 2410.15332, recomputes a chunk's
opening tokens), the question and the chat template's tail.

The answer's own sequence also keeps what it last read: a prompt sharing its start with
the previous one (the answer after the coverage check, which differ only after the
question) decodes only what follows the shared part, as llama.cpp's ``Llama`` does.

A body can also be kept on disk, in a folder the caller names per prompt (the answer
service names the published version's ``kv/``: a new version starts empty, an old one's
go with it), so ``studyhall warm`` can encode a course's most used sources before the
first student asks and a restarted server reads them back instead of recomputing.

Several answers are decoded together (:class:`Scheduler`): each has a sequence of its
own, and every step computes one token for each of them in one batch (decoding on a CPU
can be bound by reading the weights, which a batch reads once; on 2 cores it is mostly
compute: a step of 4 costs about 2.5 steps of one, `make bench`). A new prompt is read
between steps, while the others wait for it.

With ``reuse`` off the engine only does that: each prompt is read whole, as the one-at-a-
time path reads it (what the answer's sequence already holds kept): several students are
answered together, each as they would be alone.

Sequences of the one context (``kv_unified``: a copy between sequences is metadata):
0 holds the prefix (system prompt up to the first source), 1 is scratch for encoding or
restoring one body, 2 and up are the answers being written.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX, SCRATCH, FIRST_ANSWER = 0, 1, 2  # sequence ids


@dataclass(frozen=True)
class Segment:
    """A run of prompt tokens; a ``reusable`` one is a source body, cached on its own."""

    tokens: tuple[int, ...]
    reusable: bool = False


@dataclass
class ReuseStats:
    blocks_reused: int = 0  # bodies stitched in from the store
    blocks_encoded: int = 0  # bodies encoded (and stored) because the store lacked them
    blocks_read: int = 0  # of those reused, read from the folder on disk
    bytes_encoded: int = 0
    tokens_decoded: int = 0  # prompt tokens the model computed for the last prompt
    tokens_reused: int = 0  # prompt tokens it did not


class BlockStore:
    """Encoded bodies by key, least recently used dropped first past ``budget`` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._blocks: OrderedDict[str, tuple[ctypes.Array, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[ctypes.Array, int] | None:
        with self._lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
            return block

    def put(self, key: str, data: ctypes.Array, length: int) -> None:
        if length > self.budget:
            return
        with self._lock:
            if key in self._blocks:
                return
            self._blocks[key] = (data, length)
            self.used += length
            while self.used > self.budget:
                _, (_, dropped) = self._blocks.popitem(last=False)
                self.used -= dropped

    def __len__(self) -> int:
        return len(self._blocks)


def read_block(folder: Path, key: str) -> tuple[ctypes.Array, int] | None:
    try:
        raw = (folder / f"{key}.kv").read_bytes()
    except OSError:
        return None
    return (ctypes.c_uint8 * len(raw)).from_buffer_copy(raw), len(raw)


def write_block(folder: Path, key: str, data: ctypes.Array, length: int) -> None:
    """Kept whole or not at all (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    tmp.write_bytes(bytes(memoryview(data)[:length]))
    tmp.replace(folder / f"{key}.kv")


def model_identity(model_path: Path) -> str:
    """The model file's SHA-256 as its verification recorded it, else its name and size."""
    try:
        return json.loads(Path(f"{model_path}.verified.json").read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return f"{Path(model_path).name}:{Path(model_path).stat().st_size}"


class ReuseEngine:
    """A llama.cpp context of its own over a loaded model, with the decode loop above.

    ``llm`` is a ``llama_cpp.Llama`` (its model and tokenizer are used; its own context is
    not). Not thread-safe: one thread (the :class:`Scheduler`'s) makes every call.
    """

    def __init__(self, llm, *, n_ctx: int, n_threads: int, n_batch: int = 512,
                 budget: int = 768 * 2**20, recompute: int = 16, parallel: int = 1,
                 reuse: bool = True) -> None:
        import llama_cpp

        self.lib = llama_cpp
        self.llm = llm
        self.n_batch = n_batch
        self.recompute = recompute
        self.reuse = reuse
        self.store = BlockStore(budget)
        self.stats = ReuseStats()
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = FIRST_ANSWER + parallel
        params.kv_unified = True
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        self.ctx = llama_cpp.llama_init_from_model(llm.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not make a context for KV reuse")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        if not llama_cpp.llama_memory_can_shift(self.memory):
            raise RuntimeError("this model's KV cache cannot be shifted: no KV reuse")
        self.vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._model_key = model_identity(Path(llm.model_path))
        self.answers = list(range(FIRST_ANSWER, FIRST_ANSWER + parallel))
        self.widest = 0  # the most sequences one step has decoded together
        self._prefix: tuple[int, ...] = ()  # what sequence 0 holds
        self._held: dict[int, list[int]] = {s: [] for s in self.answers}  # token by position

    def forget(self, seqs: list[int] | None = None) -> None:
        """Forget what answer sequences hold (all of them by default): the next prompt is
        stitched afresh. From the scheduler's thread, or while nothing is being answered."""
        for seq in self.answers if seqs is None else seqs:
            self.lib.llama_memory_seq_rm(self.memory, seq, -1, -1)
            self._held[seq] = []

    def closest(self, free: set[int], tokens: list[int]) -> int:
        """The free answer sequence holding the longest start of ``tokens``."""
        return max(sorted(free), key=lambda s: _common_prefix(self._held[s], tokens))

    # --- decoding ---------------------------------------------------------------------

    def decode(self, items: list[tuple[int, int]], seq: int) -> None:
        """Compute ``items`` ((token, position) pairs, in position order) into ``seq``,
        ``n_batch`` at a time; the logits of the last one are kept for :meth:`next_token`."""
        batch = self._batch
        for start in range(0, len(items), self.n_batch):
            part = items[start:start + self.n_batch]
            for i, (token, pos) in enumerate(part):
                _put(batch, i, token, pos, seq, False)
            batch.logits[len(part) - 1] = start + len(part) == len(items)
            batch.n_tokens = len(part)
            if self.lib.llama_decode(self.ctx, batch) != 0:
                raise RuntimeError("llama_decode failed (the KV cache is full?)")

    def step(self, items: list[tuple[int, int, int]]) -> list[int]:
        """One token for each of several sequences ((token, position, seq) each), in one
        batch; the greedy next token of each."""
        batch = self._batch
        for i, (token, pos, seq) in enumerate(items):
            _put(batch, i, token, pos, seq, True)
        batch.n_tokens = len(items)
        if self.lib.llama_decode(self.ctx, batch) != 0:
            raise RuntimeError("llama_decode failed (the KV cache is full?)")
        self.widest = max(self.widest, len(items))
        return [self.next_token(i) for i in range(len(items))]

    def next_token(self, i: int = -1) -> int:
        """The greedy choice after output ``i`` of the last batch (temperature 0)."""
        import numpy as np

        pointer = self.lib.llama_get_logits_ith(self.ctx, i)
        return int(np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).argmax())

    # --- the prompt -------------------------------------------------------------------

    def prefill(self, segments: list[Segment], folder: Path | None = None,
                seq: int = FIRST_ANSWER) -> None:
        """Put the prompt of ``segments`` in answer sequence ``seq``, computing as little as
        it can.

        llama.cpp takes a sequence's tokens only in position order, each batch starting
        right after the sequence's last cell, so the prompt is laid down left to right:
        what the previous prompt shares with this one stays; then each fresh run is
        decoded, and each reusable body is placed after it (less its first ``recompute``
        tokens, decoded with the run before it, when sources come before it). ``folder``:
        where bodies are also kept on disk (read when memory lacks one).
        """
        tokens = [t for s in segments for t in s.tokens]
        if not self.reuse:  # read whole, as one run
            segments = [Segment(tuple(tokens))]
        self.stats = ReuseStats()
        first = next((i for i, s in enumerate(segments) if s.reusable), None)
        keep = min(_common_prefix(self._held[seq], tokens), len(tokens) - 1)
        if first is not None:
            prefix = tuple(t for s in segments[:first] for t in s.tokens)
            self._ensure_prefix(prefix)  # what bodies are encoded after, and keyed by
            if keep < len(prefix):  # start from the course's prefix, kept in sequence 0
                self.lib.llama_memory_seq_rm(self.memory, seq, -1, -1)
                self.lib.llama_memory_seq_cp(self.memory, PREFIX, seq, -1, -1)
                keep = len(prefix)
        self.lib.llama_memory_seq_rm(self.memory, seq, keep, -1)
        self.stats.tokens_reused = keep
        pending: list[tuple[int, int]] = []
        pos, seen_body = 0, False
        for segment in segments:
            start, end = pos, pos + len(segment.tokens)
            pos = end
            if end <= keep:  # already in sequence 1
                seen_body = seen_body or segment.reusable
                continue
            if segment.reusable and start >= keep and first is not None:
                fresh = min(self.recompute, len(segment.tokens)) if seen_body else 0
                pending += [(t, start + i) for i, t in enumerate(segment.tokens[:fresh])]
                self._flush(pending, seq)
                self._place(segment.tokens, start, skip=fresh, folder=folder, seq=seq)
                self.stats.tokens_reused += len(segment.tokens) - fresh
            else:
                offset = max(start, keep)
                pending += [(t, p) for p, t in enumerate(segment.tokens[offset - start:],
                                                             start=offset)]
            seen_body = seen_body or segment.reusable
        self._flush(pending, seq)
        self._held[seq] = tokens

    def _flush(self, pending: list[tuple[int, int]], seq: int) -> None:
        if pending:
            self.decode(pending, seq)
            self.stats.tokens_decoded += len(pending)
            pending.clear()

    def _ensure_prefix(self, prefix: tuple[int, ...]) -> None:
        if prefix == self._prefix:
            return
        self.lib.llama_memory_seq_rm(self.memory, PREFIX, -1, -1)
        self.decode([(t, p) for p, t in enumerate(prefix)], PREFIX)
        self._prefix = prefix

    def _place(self, body: tuple[int, ...], pos: int, skip: int,
               folder: Path | None = None, seq: int = FIRST_ANSWER) -> None:
        """The body's cells from its token ``skip`` on, in sequence ``seq`` from ``pos + skip``:
        from the store, or encoded now after the prefix alone (and stored)."""
        canonical = len(self._prefix)
        key = hashlib.sha256(repr((self._model_key, self._prefix, body)).encode()).hexdigest()
        lib, memory = self.lib, self.memory
        lib.llama_memory_seq_rm(memory, SCRATCH, -1, -1)
        block = self.store.get(key)
        if block is None and folder is not None and (block := read_block(folder, key)):
            self.store.put(key, *block)
            self.stats.blocks_read += 1
        if block is not None and lib.llama_state_seq_set_data(
                self.ctx, block[0], block[1], SCRATCH) > 0:
            self.stats.blocks_reused += 1
        else:
            lib.llama_memory_seq_rm(memory, SCRATCH, -1, -1)  # what a failed restore left
            lib.llama_memory_seq_cp(memory, PREFIX, SCRATCH, -1, -1)
            self.decode([(t, canonical + i) for i, t in enumerate(body)], SCRATCH)
            lib.llama_memory_seq_rm(memory, SCRATCH, 0, canonical)  # the body alone
            size = lib.llama_state_seq_get_size(self.ctx, SCRATCH)
            data = (ctypes.c_uint8 * size)()
            written = lib.llama_state_seq_get_data(self.ctx, data, size, SCRATCH)
            self.store.put(key, data, written)
            if folder is not None:
                write_block(folder, key, data, written)
            self.stats.blocks_encoded += 1
            self.stats.bytes_encoded += written
        if skip:
            lib.llama_memory_seq_rm(memory, SCRATCH, canonical, canonical + skip)
        lib.llama_memory_seq_add(memory, SCRATCH, -1, -1, pos - canonical)
        lib.llama_memory_seq_cp(memory, SCRATCH, seq, -1, -1)
        lib.llama_memory_seq_rm(memory, SCRATCH, -1, -1)



@dataclass
class Job:
    """One prompt to read and answer (``max_tokens`` 0: read it only, to keep its KV)."""

    segments: list[Segment]
    max_tokens: int
    stop_tokens: frozenset[int]
    folder: Path | None = None
    cancel: threading.Event | None = None  # the caller's
    closed: threading.Event = field(default_factory=threading.Event)  # the reader stopped
    out: queue.Queue = field(default_factory=queue.Queue)  # tokens, then None or an error
    stats: ReuseStats | None = None
    stitch: bool = False  # lay the sources down from the store even if a sequence holds them
    seq: int = -1
    pos: int = 0
    token: int = -1  # the next token to decode
    written: int = 0

    def gone(self) -> bool:
        return self.closed.is_set() or (self.cancel is not None and self.cancel.is_set())


class Scheduler:
    """The one thread that drives the engine: it reads each new prompt into a free answer
    sequence, then steps every sequence being answered, one token each per batch."""

    def __init__(self, engine: ReuseEngine, nice: int = 0) -> None:
        self.engine = engine
        self.nice = nice
        self.inbox: queue.Queue[Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, job: Job) -> Job:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kv-reuse", daemon=True)
                self._thread.start()
        self.inbox.put(job)
        return job

    def _run(self) -> None:
        from generator.backends.worker import lower_priority

        lower_priority(self.nice)
        engine, active = self.engine, []
        free = set(engine.answers)
        while True:
            while free:  # take new prompts while a sequence is free (wait if nothing runs)
                try:
                    job = self.inbox.get(block=not active)
                except queue.Empty:
                    break
                if job.gone():
                    job.out.put(None)
                    continue
                tokens = [t for s in job.segments for t in s.tokens]
                job.seq = engine.closest(free, tokens)
                free.discard(job.seq)
                if job.stitch:
                    engine.forget([job.seq])
                try:
                    engine.prefill(job.segments, job.folder, job.seq)
                    job.stats, job.pos = engine.stats, len(tokens)
                    self._deliver(job, engine.next_token(), active, free)
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    job.out.put(exc)
                    engine.forget([job.seq])
                    free.add(job.seq)
            if not active:
                continue
            stepping = list(active)
            try:
                chosen = engine.step([(j.token, j.pos, j.seq) for j in stepping])
            except Exception as exc:  # noqa: BLE001
                for job in stepping:
                    job.out.put(exc)
                    active.remove(job)
                    engine.forget([job.seq])
                    free.add(job.seq)
                continue
            for job, token in zip(stepping, chosen, strict=True):
                engine._held[job.seq].append(job.token)
                job.pos += 1
                active.remove(job)
                self._deliver(job, token, active, free)

    def _deliver(self, job: Job, token: int, active: list, free: set) -> None:
        """Hand ``token`` to the job and keep it stepping, or end it there."""
        lib = self.engine.lib
        if (job.gone() or job.written >= job.max_tokens or token in job.stop_tokens
                or lib.llama_vocab_is_eog(self.engine.vocab, token)):
            if job.gone():  # the caller went away: its cells go too
                self.engine.forget([job.seq])
            job.out.put(None)
            free.add(job.seq)
            return
        job.out.put(token)
        job.token, job.written = token, job.written + 1
        active.append(job)

    def tokens(self, job: Job) -> Iterator[int]:
        """The job's tokens as the scheduler writes them; an error there is raised here, and
        closing the iterator ends the job (its sequence is freed at the next step)."""
        self.submit(job)
        try:
            while (item := job.out.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            job.closed.set()


def _put(batch, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
    batch.token[i] = token
    batch.pos[i] = pos
    batch.n_seq_id[i] = 1
    batch.seq_id[i][0] = seq
    batch.logits[i] = logits


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
