"""How much of each answer reaches the model: for every answerable question of the bundled
set, the prompt studyhall would build (hits widened and merged within the source budget)
is checked for the question's key facts and its gold passage, at several settings of
``answer.sources`` (hits retrieved) and ``answer.source_tokens`` (the budget). No text is
generated: the model is loaded for its tokenizer only, so this runs in about a minute.

    .venv/bin/python -m bench.prompt_coverage --sources 5,8 --tokens 500,650

A question counts as covered when the prompt states at least half its key facts, by the
answer judge's own test (``eval.answers.fact_stated``). Follow-ups are left out (their
prompt depends on the rewritten question). Writes bench/results/prompt_coverage.json.

With ``--report`` (an answer eval's report.json, e.g. from `make eval`), it also says, at
the first setting given, how many of the questions that run got wrong had their key
facts in the prompt: the misses the model made with the answer in front of it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import results_file
from bench.answers import bundled_course_service
from eval.answers import content_words, fact_stated
from eval.datasets import default_dataset, load_questions


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=numbers, default=[5, 8])
    parser.add_argument("--tokens", type=numbers, default=[500, 650])
    parser.add_argument("--report", type=Path, help="an answer eval's report.json")
    args = parser.parse_args()

    _, search, service = bundled_course_service("studyhall-bench-coverage-")
    count = service.generator.count_tokens
    index = search.index("genai-basics")
    questions = [q for q in load_questions(default_dataset("genai-basics"))
                 if q.answerable and "follow-up" not in q.tags]

    rows = []
    covered_ids: set[str] = set()  # at the first setting
    for k in args.sources:
        for budget in args.tokens:
            service.settings.answer.source_tokens = budget
            covered = gold = tokens = 0
            for question in questions:
                hits = search.search(question.question, "genai-basics", k=k)
                prompt = service.fit(index, question.question, hits)
                words = content_words("\n".join(prompt.texts))
                stated = [fact_stated(fact, words) for fact in question.key_facts]
                covered += sum(stated) >= len(stated) / 2
                if not rows and sum(stated) >= len(stated) / 2:
                    covered_ids.add(question.id)
                gold += any(question.is_relevant(hit.chunk) for hit in prompt.hits)
                tokens += sum(count(text) for text in prompt.texts)
            rows.append({"sources": k, "source_tokens": budget, "questions": len(questions),
                         "key_facts_in_prompt": covered, "gold_in_prompt": gold,
                         "mean_source_tokens": round(tokens / len(questions))})

    results_file("prompt_coverage.json").write_text(json.dumps(rows, indent=2))
    print("| sources | source tokens | half the key facts in the prompt | gold passage "
          "in the prompt | mean source tokens |")
    print("|---|---|---|---|---|")
    for row in rows:
        n = row["questions"]
        print(f"| {row['sources']} | {row['source_tokens']} | {row['key_facts_in_prompt']}/{n} "
              f"| {row['gold_in_prompt']}/{n} | {row['mean_source_tokens']} |")

    if args.report:
        asked = {q.id for q in questions}
        records = json.loads(args.report.read_text(encoding="utf-8"))["records"]
        missed = [r["id"] for r in records if r["id"] in asked and not r["correct"]]
        had_facts = [i for i in missed if i in covered_ids]
        print(f"\n{args.report}: {len(missed)} answerable non-follow-up questions missed; "
              f"{len(had_facts)} had half their key facts in the prompt at "
              f"{args.sources[0]} sources, {args.tokens[0]} tokens: {', '.join(had_facts)}")


if __name__ == "__main__":
    main()
