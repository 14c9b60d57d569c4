"""Reusing each source's KV cache (generator/backends/kv_reuse.py): the store's budget, and
the real default model answering through stitched caches as it answers through a whole
prefill."""

import ctypes
import json
import os
import subprocess
import sys
import threading
from contextlib import closing

import pytest

from generator.backends.kv_reuse import BlockStore, read_block, write_block
from generator.backends.llama_cpp import LlamaCppGenerator
from generator.base import GenerationParams

QUESTIONS = [
    "Who proposed the LSTM, and in which year?",
    "What does the discriminator of a GAN do?",
    "How does a diffusion model turn noise into an image?",
]


def test_the_store_keeps_the_most_recently_used_bodies_within_its_budget():
    store = BlockStore(budget=100)
    for key in "abc":
        store.put(key, (ctypes.c_uint8 * 40)(), 40)
    assert len(store) == 2 and store.get("a") is None and store.used == 80  # a went first
    store.get("b")  # b is now the most recent: c goes next
    store.put("d", (ctypes.c_uint8 * 40)(), 40)
    assert store.get("c") is None and store.get("b") is not None and store.get("d")
    store.put("huge", (ctypes.c_uint8 * 1)(), 101)  # over the whole budget: not kept
    assert store.get("huge") is None and store.used <= store.budget


# --- the real model ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def prompts(bundled_answers):
    """The answer prompts of QUESTIONS as the answer service builds them."""
    service = bundled_answers
    index = service.search.index("genai-basics")
    out = []
    for question in QUESTIONS:
        hits = service.search.search(question, "genai-basics", k=service.settings.answer.sources)
        blocks = list(service.fit(index, question, hits).blocks)
        out.append(service.strategy.messages(index.manifest.title, question, blocks))
    return out


@pytest.fixture(scope="module")
def reusing(bundled_answers) -> LlamaCppGenerator:
    """The default model once more, with KV reuse on (k = 16)."""
    generator = LlamaCppGenerator(bundled_answers.generator.model_path, name="default",
                                  kv_reuse=True, kv_recompute=16)
    generator.load()
    return generator


def answer(generator, messages, max_tokens: int = 24) -> str:
    with closing(generator.stream(messages, GenerationParams(max_tokens=max_tokens))) as s:
        return "".join(s)


def answer_together(generator, prompts, max_tokens: int = 32) -> dict[int, str]:
    """Each prompt answered by a thread of its own, all at once."""
    together: dict[int, str] = {}
    threads = [threading.Thread(target=lambda i=i: together.__setitem__(
        i, answer(generator, prompts[i], max_tokens))) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return together


@pytest.mark.slow
def test_the_prompt_in_runs_is_the_very_prompt_in_tokens(bundled_answers, prompts):
    generator = bundled_answers.generator
    for messages in prompts:
        segments = generator.prompt_segments(messages)
        assert [t for s in segments for t in s.tokens] == generator.prompt_tokens(messages)
        assert sum(s.reusable for s in segments) == messages[-1].content.count("<source n=")


@pytest.mark.slow
def test_stitched_sources_answer_as_a_whole_prefill_does_and_are_computed_once(
        bundled_answers, prompts, reusing):
    whole = [answer(bundled_answers.generator, m) for m in prompts]
    generator = reusing
    engine = generator.engine
    first = [answer(generator, m) for m in prompts]  # each source encoded on first use
    encoded = engine.stats.blocks_encoded
    engine.forget()  # the last prompt: the next is stitched, not continued
    again = answer(generator, prompts[0])
    assert engine.stats.blocks_reused >= 1 and engine.stats.blocks_encoded == 0
    prompt_tokens = len(generator.prompt_tokens(prompts[0]))
    assert engine.stats.tokens_decoded < prompt_tokens / 3  # the rest came from the store
    assert again == first[0]
    assert sum(a == b for a, b in zip(first, whole, strict=True)) >= 2, (first, whole)
    assert encoded >= 1 and len(engine.store) >= encoded


@pytest.mark.slow
def test_the_answer_after_the_coverage_check_reads_only_what_differs(bundled_answers, reusing):
    from generator.prompts import JUDGE

    service, generator = bundled_answers, reusing
    index = service.search.index("genai-basics")
    question = QUESTIONS[1]
    hits = service.search.search(question, "genai-basics", k=5)
    blocks = list(service.fit(index, question, hits).blocks)
    check = service.strategy.messages(index.manifest.title, question, blocks, JUDGE)
    answer(generator, check, max_tokens=2)
    answer(generator, service.strategy.messages(index.manifest.title, question, blocks))
    assert generator.engine.stats.tokens_decoded < 120  # the closing instruction, not sources


@pytest.mark.slow
def test_a_cancel_stops_the_reusing_generator(prompts, reusing):
    generator = reusing
    cancel = threading.Event()
    pieces = []
    with closing(generator.stream(prompts[2], GenerationParams(max_tokens=200), cancel)) as s:
        for piece in s:
            pieces.append(piece)
            if len(pieces) == 3:
                cancel.set()
    assert 3 <= len(pieces) <= 5


def test_a_block_on_disk_is_read_back_whole_and_never_half_written(tmp_path):
    data = (ctypes.c_uint8 * 5)(*b"hello")
    write_block(tmp_path / "kv", "k1", data, 4)
    block, length = read_block(tmp_path / "kv", "k1")
    assert bytes(block) == b"hell" and length == 4
    assert read_block(tmp_path / "kv", "missing") is None
    assert [p.name for p in (tmp_path / "kv").iterdir()] == ["k1.kv"]  # no temporary left


@pytest.mark.slow
def test_warm_keeps_a_course_s_sources_on_disk_and_a_new_engine_reads_them(
        bundled_answers, bundled_settings, tmp_path, prompts):
    dataset = tmp_path / "three.jsonl"
    dataset.write_text("".join(json.dumps({
        "id": f"w{n}", "course": "genai-basics", "question": q, "answerable": False,
        "key_facts": []}) + "\n" for n, q in enumerate(QUESTIONS)))  # no gold needed
    env = os.environ | {"STUDYHALL_DATA_DIR": str(bundled_settings.data_dir),
                        "STUDYHALL_MODELS_DIR": str(bundled_settings.model_store)}
    run = subprocess.run([sys.executable, "-m", "studyhall.cli", "warm", "--course",
                          "genai-basics", "--dataset", str(dataset)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    folder = bundled_answers.search.index("genai-basics").directory / "kv"
    kept = list(folder.glob("*.kv"))
    assert kept and f"{len(kept)} in {folder}" in run.stdout
    assert "encoded now" in run.stdout and "MB" in run.stdout

    fresh = LlamaCppGenerator(bundled_answers.generator.model_path, name="default",
                              kv_reuse=True)
    stats = fresh.warm(prompts[0], folder)  # a new process would start just like this
    assert stats.blocks_read >= 1 and stats.blocks_encoded == 0


@pytest.mark.slow
def test_two_answers_at_once_are_written_together_and_each_reads_its_own_sources(
        bundled_answers, prompts):
    generator = LlamaCppGenerator(bundled_answers.generator.model_path, name="default",
                                  kv_reuse=True, parallel=2)
    alone = [answer(generator, m, max_tokens=32) for m in prompts[:2]]
    together = answer_together(generator, prompts[:2])
    assert generator.engine.widest == 2  # one batch carried both
    for i in range(2):  # the same words as alone (the batch's arithmetic may differ late)
        assert together[i].split()[:8] == alone[i].split()[:8], (together[i], alone[i])
    assert together[0] != together[1]


@pytest.mark.slow
def test_without_reuse_answers_together_read_each_prompt_whole_and_say_what_one_alone_says(
        bundled_answers, prompts):
    """kv_reuse off, parallel 2: llama-cpp-python's own path is the reference for each
    answer, alone and written together with another."""
    reference = [answer(bundled_answers.generator, m, max_tokens=32) for m in prompts[:2]]
    generator = LlamaCppGenerator(bundled_answers.generator.model_path, name="default",
                                  parallel=2)
    generator.load()
    engine = generator.engine
    assert not engine.reuse and generator.scheduler is not None
    alone = answer(generator, prompts[0], max_tokens=32)
    assert engine.stats.blocks_encoded == engine.stats.blocks_reused == 0
    assert engine.stats.tokens_decoded == len(generator.prompt_tokens(prompts[0]))
    assert alone.split()[:8] == reference[0].split()[:8], (alone, reference[0])

    engine.forget()
    together = answer_together(generator, prompts[:2])
    assert engine.widest == 2  # one batch carried both
    for i in range(2):  # the batch's arithmetic may differ late
        assert together[i].split()[:8] == reference[i].split()[:8], (together[i], reference[i])
    with pytest.raises(ValueError, match="kv_reuse"):
        generator.warm(prompts[0])
