"""How much a lossless KV store would save on the bundled eval: a probe that sizes a change
before building it.

Reusing a source's KV computed in another prompt costs answers (docs/measurements.md), but
one kind of reuse costs nothing: a source's cells kept together with everything before
them, reused only by a prompt that starts with the very same tokens up to the end of that
source (the system prompt, the same sources in the same order). Then the reused cells are
exactly what a whole prefill computes. This probe builds each of the 164 questions'
prompts as the answer service does, in the eval's order, and counts the source tokens such
a store would have held already (each prompt's sources stored after it is read).

    .venv/bin/python -m bench.prefix_probe
"""

from __future__ import annotations

import json

from bench import results_file
from bench.answers import bundled_course_service
from eval.datasets import default_dataset, load_questions


def main() -> None:
    settings, search, service = bundled_course_service("studyhall-bench-prefix-")
    index = search.index("genai-basics")
    count = service.generator.count_tokens
    seen: set[tuple[str, ...]] = set()  # the runs of sources some earlier prompt began with
    questions = load_questions(default_dataset("genai-basics"))
    shown = reused = tokens_shown = tokens_reused = first_reused = 0
    for question in questions:
        hits = search.search(question.question, "genai-basics", k=settings.answer.sources)
        blocks = service.fit(index, question.question, hits).blocks
        costs = [count(block) for block in blocks]
        shown, tokens_shown = shown + len(blocks), tokens_shown + sum(costs)
        for n, cost in enumerate(costs, start=1):
            if tuple(blocks[:n]) not in seen:
                break
            reused, tokens_reused = reused + 1, tokens_reused + cost
            first_reused += n == 1
        seen.update(tuple(blocks[:n]) for n in range(1, len(blocks) + 1))
    result = {"questions": len(questions), "sources_shown": shown, "sources_reused": reused,
              "first_sources_reused": first_reused, "source_tokens": tokens_shown,
              "source_tokens_reused": tokens_reused}
    results_file("prefix_probe.json").write_text(json.dumps(result, indent=2))
    print(f"{len(questions)} prompts, {shown} sources ({tokens_shown} tokens): a store keyed by "
          f"everything before each source would have reused {reused} of them "
          f"({tokens_reused} tokens, {100 * tokens_reused / max(1, tokens_shown):.1f}%), "
          f"{first_reused} of them a prompt's first source")


if __name__ == "__main__":
    main()
