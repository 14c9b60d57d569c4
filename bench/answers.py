"""`make bench` (part 2): answering speed with the default model, against a bare
llama-cpp-python call on the same prompt and the same model instance, in the same run.

1. Ten questions end to end: time to first token p50/p95, whole answer p50.
2. Decode speed of studyhall's stream against ``Llama.create_chat_completion`` streaming
   the very same messages (same weights, same threads). Goal: ratio >= 0.95.
3. The fixed system prompt's KV cache: the same question's first token after
   ``Llama.reset()`` (nothing cached) and after another question (system prompt cached).
4. Peak RSS (before the peer is loaded).
5. The peer: LangChain's tutorial recipe (eval/peer.py) on the same ten questions, with
   the same model file and threads, given studyhall's prompt batch and with its own
   default: its time to first token and whole answer, and studyhall's as a ratio of it.
   Skipped when the ``peer`` extra is not installed.
6. Something at once: the ``sources`` event's time since the request (p50 over the ten),
   beside the first token's; and the answer cache: the ten questions asked again in
   other case and punctuation, each answered from the cache (whole answer p50), beside
   the model's whole answer p50 of step 1.

Writes bench/results/answers.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

from bench import COURSE, results_file
from eval.datasets import default_dataset, load_questions
from eval.metrics import percentile
from generator.answer import AnswerService
from retriever.service import SearchService
from studyhall.core.settings import Settings
from studyhall.services import build_services

QUESTIONS = 10


def decode_rate(pieces: list[tuple[float, str]], count_tokens) -> float:
    """Tokens per second after the first piece."""
    if len(pieces) < 2:
        return 0.0
    tokens = count_tokens("".join(text for _, text in pieces[1:]))
    return tokens / (pieces[-1][0] - pieces[0][0])


def peer_timings(settings: Settings, questions: list[str]) -> dict[str, float]:
    """The LangChain tutorial recipe's latency on the same questions, same model file:
    given studyhall's prompt batch (``peer_…``), and with ``ChatLlamaCpp``'s default batch
    as a new user first runs it (``peer_stock_…``)."""
    from eval.peer import TutorialRecipe

    results: dict[str, float] = {}
    for prefix, n_batch in (("peer", 512), ("peer_stock", None)):
        try:
            recipe = TutorialRecipe.from_settings(COURSE, settings, n_batch=n_batch)
        except ImportError:  # the peer extra is not installed
            return {}
        recipe.ask(questions[0])  # warm up, as studyhall was
        first, total = [], []
        for question in questions:
            answer = recipe.ask(question)
            if answer.timings.first_token_ms is not None:
                first.append(answer.timings.first_token_ms)
            total.append(answer.timings.total_ms)
        results |= {f"{prefix}_first_token_ms_p50": percentile(first, 0.5),
                    f"{prefix}_first_token_ms_p95": percentile(first, 0.95),
                    f"{prefix}_total_ms_p50": percentile(total, 0.5)}
        del recipe  # one recipe model in memory at a time
    return results


def bundled_course_search(prefix: str) -> tuple[Settings, SearchService]:
    """The bundled course ingested into a fresh temporary data directory (the language
    model comes from the configured models folder, assembled there once)."""
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix=prefix)),
                        models_dir=Settings().model_store)
    services = build_services(settings)
    services.ingestor.ingest(COURSE, "genai-basics")
    return settings, services.search


def bundled_course_service(prefix: str) -> tuple[Settings, SearchService, AnswerService]:
    """:func:`bundled_course_search`, and the answer service over it with the default
    model (its conversations go to the temporary folder)."""
    settings, search = bundled_course_search(prefix)
    return settings, search, build_services(settings, search=search).answers


def main() -> None:
    settings, search, service = bundled_course_service("studyhall-bench-answers-")
    service.warm_up()
    llm = service.generator.llama  # the one llama.cpp instance studyhall uses
    count = service.generator.count_tokens

    questions = [q.question for q in load_questions(default_dataset("genai-basics"))
                 if q.answerable][:QUESTIONS]
    first, total, ours_rate, sources = [], [], [], []
    for question in questions:  # each new to the answer cache: the model answers, it keeps
        started = time.perf_counter()
        pieces = []
        for kind, payload in service.stream(question, "genai-basics"):
            if kind == "token":
                pieces.append((time.perf_counter(), payload))
            else:
                answer = payload
        total.append((time.perf_counter() - started) * 1000)
        if answer.timings.first_token_ms is not None:
            first.append(answer.timings.first_token_ms)
            ours_rate.append(decode_rate(pieces, count))
        if answer.timings.sources_ms is not None:
            sources.append(answer.timings.sources_ms)

    cache_hits = []  # the same questions again, as another student types them
    for question in questions:
        started = time.perf_counter()
        again = service.ask(question.lower().rstrip("?"), "genai-basics")
        if again.cached:
            cache_hits.append((time.perf_counter() - started) * 1000)

    # the same messages through the bare library call, on the same instance
    index = search.index("genai-basics")
    bare_rate = []
    for question in questions:
        hits = search.search(question, "genai-basics", k=settings.answer.sources)
        prompt = service.fit(index, question, hits)
        messages = [m.as_dict() for m in service.strategy.messages(
            index.manifest.title, question, list(prompt.blocks))]
        pieces = []
        for chunk in llm.create_chat_completion(messages=messages, stream=True, temperature=0.0,
                                                max_tokens=settings.generator.max_tokens):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                pieces.append((time.perf_counter(), text))
        bare_rate.append(decode_rate(pieces, count))

    # KV cache of the fixed prefix, on one question: with nothing cached, then after
    # another question has left only the shared system prompt in the cache
    llm.reset()
    cold = service.ask(questions[1], "genai-basics", use_cache=False).timings.first_token_ms
    service.ask(questions[0], "genai-basics", use_cache=False)
    warm = service.ask(questions[1], "genai-basics", use_cache=False).timings.first_token_ms

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peer = peer_timings(settings, questions)

    answered = [r for r in ours_rate if r > 0]
    results = {
        "questions": len(questions),
        "first_token_ms_p50": percentile(first, 0.5),
        "first_token_ms_p95": percentile(first, 0.95),
        "total_ms_p50": percentile(total, 0.5),
        "decode_tok_s": sum(answered) / len(answered),
        "bare_decode_tok_s": sum(bare_rate) / len(bare_rate),
        "cold_first_token_ms": cold,
        "warm_first_token_ms": warm,
        "peak_rss_mb": peak_rss_mb,
        "sources_ms_p50": percentile(sources, 0.5),
        "cache_hits": len(cache_hits),
        "cache_hit_ms_p50": percentile(cache_hits, 0.5) if cache_hits else None,
        "threads": service.generator.n_threads,
        **peer,
    }
    results["decode_ratio"] = results["decode_tok_s"] / results["bare_decode_tok_s"]
    results_file("answers.json").write_text(json.dumps(results, indent=2))
    r = results
    print("| measure | studyhall | baseline, same run | ratio |")
    print("|---|---|---|---|")
    print(f"| time to first token ({r['questions']} questions) | p50 "
          f"{r['first_token_ms_p50'] / 1000:.1f} s, p95 {r['first_token_ms_p95'] / 1000:.1f} s"
          " | | |")
    print(f"| whole answer | p50 {r['total_ms_p50'] / 1000:.1f} s | | |")
    print(f"| decode speed | {r['decode_tok_s']:.1f} tok/s | bare llama-cpp-python, same "
          f"prompts: {r['bare_decode_tok_s']:.1f} tok/s | {r['decode_ratio']:.2f}× (goal ≥ 0.95) |")
    print(f"| first token, system prompt cached | {r['warm_first_token_ms'] / 1000:.1f} s | "
          f"nothing cached: {r['cold_first_token_ms'] / 1000:.1f} s | |")
    print(f"| peak RSS | {r['peak_rss_mb']:.0f} MB | {r['threads']} threads | |")
    print(f"| sources event, p50 | {r['sources_ms_p50']:.0f} ms | first token: "
          f"{r['first_token_ms_p50']:.0f} ms | |")
    if cache_hits:
        print(f"| answer cache hit, p50 ({r['cache_hits']} of {r['questions']} asked again) | "
              f"{r['cache_hit_ms_p50']:.1f} ms | the model's whole answer: "
              f"{r['total_ms_p50']:.0f} ms | {r['cache_hit_ms_p50'] / r['total_ms_p50']:.4f}× "
              "(goal ≤ 50 ms) |")
    if "peer_first_token_ms_p50" in r:
        print(f"| time to first token, p50 | {r['first_token_ms_p50'] / 1000:.1f} s | LangChain "
              f"tutorial recipe: {r['peer_first_token_ms_p50'] / 1000:.1f} s | "
              f"{r['first_token_ms_p50'] / r['peer_first_token_ms_p50']:.2f}× |")
        print(f"| whole answer, p50 | {r['total_ms_p50'] / 1000:.1f} s | LangChain tutorial "
              f"recipe: {r['peer_total_ms_p50'] / 1000:.1f} s | "
              f"{r['total_ms_p50'] / r['peer_total_ms_p50']:.2f}× |")
        print(f"| time to first token, p50 | {r['first_token_ms_p50'] / 1000:.1f} s | the recipe "
              f"with ChatLlamaCpp's default batch: {r['peer_stock_first_token_ms_p50'] / 1000:.1f}"
              f" s | {r['first_token_ms_p50'] / r['peer_stock_first_token_ms_p50']:.2f}× |")


if __name__ == "__main__":
    main()
