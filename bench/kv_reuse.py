"""`make bench` (part 3): reusing each source's KV cache, against a whole prefill and the
bare library call, on the same prompts, the same model file and threads, in one process.

Ten answerable questions of the bundled set, each prompt built as the answer service
builds it (its retrieved sources, fitted), then the first token of each:

1. full prefill: studyhall's default path (llama.cpp keeps the shared system prompt);
2. bare llama-cpp-python: ``Llama.create_chat_completion`` on the same messages;
3. reuse, cold: ``generator.kv_reuse`` with an empty store (every source is encoded on its
   own first, then stitched);
4. reuse, warm: the same prompts again, the store holding their sources (the engine's
   memory of the last prompt is cleared first, so each is stitched, not continued);

for each recompute setting in KS; then answers per minute: the same prompts answered one
after another by today's path, and by CLIENTS clients at once written together
(``generator.parallel``), through the reusing generator and through the engine without
reuse (each prompt read whole), and what one decode step of 1, 2 and 4 answers costs
(why batching gains little on 2 cores); then the peak RSS of this process (the first
two generators loaded) and, in a process of its own, of the product: the
answer service a server runs, with ``kv_reuse`` on at the default KV budget, answering
the same questions for CLIENTS students at once (retrieval, the coverage check, the
answer). Writes bench/results/kv_reuse.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from contextlib import closing

from bench import in_own_process, memory_mb, results_file
from bench.answers import bundled_course_service
from eval.datasets import default_dataset, load_questions
from eval.metrics import percentile
from generator.backends.llama_cpp import LlamaCppGenerator
from generator.base import GenerationParams
from studyhall.core.errors import Busy

QUESTIONS = 10
KS = (0, 16, 32)
FIRST = GenerationParams(max_tokens=1)
CLIENTS = 4
ANSWER = GenerationParams(max_tokens=160)


def first_token_ms(stream) -> float:
    started = time.perf_counter()
    with closing(stream) as pieces:
        for _ in pieces:
            break
    return (time.perf_counter() - started) * 1000


def in_turns(items: list, work) -> None:
    """``work`` each item, CLIENTS threads taking the next one as each finishes."""
    queue, lock = list(items), threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop(0)
            work(item)

    clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()


def product_peak_rss() -> dict:
    """(In a process of its own, ``kv_reuse`` on in its environment) the answer service over
    the bundled course answering CLIENTS students at once; its peak RSS."""
    settings, _, service = bundled_course_service("studyhall-bench-kv-rss-")
    service.warm_up()
    questions = [q.question for q in load_questions(default_dataset("genai-basics"))
                 if q.answerable][:QUESTIONS]

    def ask(question: str) -> None:
        while True:
            try:
                service.ask(question, "genai-basics", history=[], use_cache=False)
                return
            except Busy as busy:
                time.sleep(busy.retry_after)

    in_turns(questions, ask)
    return {"peak_rss_mb": memory_mb("VmHWM"),
            "budget_mb": settings.generator.kv_budget_mb, "kv_reuse": settings.generator.kv_reuse,
            "held_mb": service.generator.engine.store.used / 2**20}


def step_ms(engine, prompt: list[int], steps: int = 20) -> dict[int, float]:
    """Milliseconds per decode step for 1, 2 and CLIENTS answers at once (each sequence
    holding ``prompt`` first, as an answer's would)."""
    seqs = engine.answers[:CLIENTS]
    engine.forget()
    for seq in seqs:
        engine.decode([(t, p) for p, t in enumerate(prompt)], seq)
    out = {}
    for width in sorted({1, 2, CLIENTS}):
        started = time.perf_counter()
        for n in range(steps):
            engine.step([(prompt[-1], len(prompt) + n, seq) for seq in seqs[:width]])
        out[width] = (time.perf_counter() - started) * 1000 / steps
        for seq in seqs:
            engine.lib.llama_memory_seq_rm(engine.memory, seq, len(prompt), -1)
    engine.forget()
    return out


def main() -> None:
    if sys.argv[1:] == ["--product-rss"]:
        print(json.dumps(product_peak_rss()))
        return
    settings, search, service = bundled_course_service("studyhall-bench-kv-")
    service.warm_up()
    index = search.index("genai-basics")
    questions = [q.question for q in load_questions(default_dataset("genai-basics"))
                 if q.answerable][:QUESTIONS]
    prompts = []
    for question in questions:
        hits = search.search(question, "genai-basics", k=settings.answer.sources)
        blocks = list(service.fit(index, question, hits).blocks)
        prompts.append(service.strategy.messages(index.manifest.title, question, blocks))

    generator = service.generator
    full = [first_token_ms(generator.stream(m, FIRST)) for m in prompts]
    llm = generator.llama
    bare = [first_token_ms(llm.create_chat_completion(
        messages=[m.as_dict() for m in messages], stream=True, temperature=0.0, max_tokens=1))
        for messages in prompts]
    prompt_tokens = [len(generator.prompt_tokens(m)) for m in prompts]

    results: dict = {"questions": len(prompts), "prompt_tokens_p50": percentile(prompt_tokens, .5),
                     "full_prefill_ms_p50": percentile(full, .5),
                     "bare_ms_p50": percentile(bare, .5), "ks": {}}
    reusing = LlamaCppGenerator(generator.model_path, name=generator.name,
                                n_ctx=settings.generator.context_window,
                                n_threads=generator.n_threads, nice=settings.generator.nice,
                                kv_reuse=True, parallel=CLIENTS)
    reusing.load()
    engine = reusing.engine
    for k in KS:
        engine.recompute = k
        engine.store = type(engine.store)(engine.store.budget)  # empty: a cold start
        cold, warm, decoded = [], [], []
        for messages in prompts:
            engine.forget()
            cold.append(first_token_ms(reusing.stream(messages, FIRST)))
        for messages in prompts:
            engine.forget()
            warm.append(first_token_ms(reusing.stream(messages, FIRST)))
            decoded.append(engine.stats.tokens_decoded)
        results["ks"][k] = {"cold_ms_p50": percentile(cold, .5),
                            "warm_ms_p50": percentile(warm, .5),
                            "warm_ms_p95": percentile(warm, .95),
                            "decoded_p50": percentile(decoded, .5),
                            "store_mb": engine.store.used / 2**20,
                            "blocks": len(engine.store)}
    engine.recompute = 16

    def whole(gen, messages) -> None:
        with closing(gen.stream(messages, ANSWER)) as pieces:
            for _ in pieces:
                pass

    started = time.perf_counter()
    for messages in prompts:  # today: one answer after another, whole prefill each
        whole(generator, messages)
    serial_s = time.perf_counter() - started
    started = time.perf_counter()
    in_turns(prompts, lambda messages: whole(reusing, messages))
    together_s = time.perf_counter() - started
    results |= {"serial_answers_per_min": 60 * len(prompts) / serial_s,
                "together_answers_per_min": 60 * len(prompts) / together_s,
                "widest_batch": engine.widest}
    results["peak_rss_mb"] = memory_mb("VmHWM")
    plain = LlamaCppGenerator(generator.model_path, name=generator.name,
                              n_ctx=settings.generator.context_window,
                              n_threads=generator.n_threads, nice=settings.generator.nice,
                              parallel=CLIENTS)
    plain.load()
    started = time.perf_counter()
    in_turns(prompts, lambda messages: whole(plain, messages))
    plain_s = time.perf_counter() - started
    results |= {"together_plain_answers_per_min": 60 * len(prompts) / plain_s,
                "plain_widest_batch": plain.engine.widest,
                "step_ms": step_ms(plain.engine, plain.prompt_tokens(prompts[0]))}
    results["budget_mb"] = settings.generator.kv_budget_mb
    results["product"] = in_own_process("bench.kv_reuse", "--product-rss",
                                        STUDYHALL_GENERATOR__KV_REUSE="1",
                                        STUDYHALL_GENERATOR__PARALLEL=str(CLIENTS))
    results_file("kv_reuse.json").write_text(json.dumps(results, indent=2))

    r = results
    full_s = r["full_prefill_ms_p50"] / 1000
    print(f"| first token, p50 ({r['questions']} prompts, {r['prompt_tokens_p50']} tokens) | "
          "reuse | full prefill, same run | ratio |")
    print("|---|---|---|---|")
    print(f"| bare llama-cpp-python | {r['bare_ms_p50'] / 1000:.2f} s | {full_s:.2f} s | "
          f"{r['bare_ms_p50'] / r['full_prefill_ms_p50']:.2f}× |")
    for k, figures in r["ks"].items():
        print(f"| sources cached (warm), k = {k} | {figures['warm_ms_p50'] / 1000:.2f} s "
              f"({figures['decoded_p50']} tokens computed) | {full_s:.2f} s | "
              f"{figures['warm_ms_p50'] / r['full_prefill_ms_p50']:.2f}× (goal ≤ 2.0 s) |")
        print(f"| nothing cached (cold), k = {k} | {figures['cold_ms_p50'] / 1000:.2f} s | "
              f"{full_s:.2f} s | {figures['cold_ms_p50'] / r['full_prefill_ms_p50']:.2f}× "
              "(goal ≤ 1.1×) |")
    print(f"| answers per minute, {CLIENTS} clients at once (reuse, k = 16, written together; "
          f"widest batch {r['widest_batch']}) | {r['together_answers_per_min']:.1f} | one at a "
          f"time, today's path: {r['serial_answers_per_min']:.1f} | "
          f"{r['together_answers_per_min'] / r['serial_answers_per_min']:.2f}× (goal ≥ 2×) |")
    print(f"| answers per minute, {CLIENTS} clients at once (no reuse: each prompt read whole; "
          f"widest batch {r['plain_widest_batch']}) | "
          f"{r['together_plain_answers_per_min']:.1f} | one at a time, today's path: "
          f"{r['serial_answers_per_min']:.1f} | "
          f"{r['together_plain_answers_per_min'] / r['serial_answers_per_min']:.2f}× "
          "(goal ≥ 2×) |")
    one = r["step_ms"][1]
    for width, ms in r["step_ms"].items():
        print(f"| one decode step, {width} answer(s) at once | {ms:.1f} ms | one answer: "
              f"{one:.1f} ms | {ms / one:.2f}× (a batch of {width} saves "
              f"{width - ms / one:.1f} steps) |")
    print(f"| peak RSS, both models loaded | {r['peak_rss_mb']:.0f} MB | budget "
          f"{r['budget_mb']} MB, {r['ks'][KS[-1]]['blocks']} sources held | |")
    product = r["product"]
    print(f"| peak RSS, the product: the answer service with kv_reuse, {CLIENTS} students at "
          f"once | {product['peak_rss_mb']:.0f} MB | budget {product['budget_mb']} MB, "
          f"{product['held_mb']:.0f} MB held | goal ≤ 4 GB |")


if __name__ == "__main__":
    main()
