"""Would an instructor's glossary of everyday words help retrieval? A probe, not a feature.

Students describe what they have not learnt the name of ("keep the biggest number of
each block"). The glossary (``bench/data/genai-basics-glossary.yaml``) pairs each
course term with informal descriptions; it was written from the lessons alone by an
author who had not seen the eval questions. For a question, the descriptions are
compared with it by the embedder's cosine; the terms of the two closest entries at or
above ``tau`` are appended to the query, and retrieval runs again.

    .venv/bin/python -m bench.glossary_probe --tau 0.5,0.55,0.6,0.65,0.7

Reports, per tau, over the non-follow-up questions of the bundled set: how many
questions were expanded, answerable questions with a gold passage in the top 5, and how
many questions of each kind pass the "not covered" gate (``answer.min_confidence``); the
questions whose gold passage the glossary brought into or pushed out of the top 5 are
listed in the JSON.
No text is generated. Writes bench/results/glossary_probe.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import yaml

from bench import results_file
from bench.answers import bundled_course_search
from eval.datasets import default_dataset, load_questions
from generator.gate import confidence

GLOSSARY = Path(__file__).resolve().parent / "data" / "genai-basics-glossary.yaml"
NEAREST = 2  # terms appended at most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tau", type=lambda s: [float(x) for x in s.split(",")],
                        default=[0.5, 0.55, 0.6, 0.65, 0.7])
    args = parser.parse_args()

    settings, search = bundled_course_search("studyhall-bench-glossary-")
    gate = settings.answer.min_confidence

    entries = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
    phrases = [(i, text) for i, entry in enumerate(entries) for text in entry["plain"]]
    vectors = search.embedder.embed([text for _, text in phrases])  # unit length
    owner = np.array([i for i, _ in phrases])

    def nearest_terms(question: str, tau: float) -> list[str]:
        similarity = vectors @ search.encode(question)
        best: dict[int, float] = {}
        for row in np.argsort(-similarity):
            best.setdefault(int(owner[row]), float(similarity[row]))
            if len(best) == NEAREST:
                break
        return [entries[i]["term"] for i, s in best.items() if s >= tau]

    def retrieve(query: str, question) -> tuple[bool, bool]:
        hits = search.search(query, "genai-basics", k=5)
        return any(question.is_relevant(h.chunk) for h in hits), confidence(hits) >= gate

    questions = [q for q in load_questions(default_dataset("genai-basics"))
                 if "follow-up" not in q.tags]
    rows = []
    baseline: dict[str, bool] = {}  # gold in the top 5 without the glossary
    for tau in [None, *args.tau]:
        expanded = gold = answerable_pass = out_of_course_pass = 0
        gained, lost = [], []
        for question in questions:
            terms = nearest_terms(question.question, tau) if tau is not None else []
            query = f"{question.question} ({'; '.join(terms)})" if terms else question.question
            expanded += bool(terms)
            found, passes = retrieve(query, question)
            if question.answerable:
                gold += found
                before = baseline.setdefault(question.id, found)
                if found != before:
                    (gained if found else lost).append(question.id)
                answerable_pass += passes
            else:
                out_of_course_pass += passes
        rows.append({"tau": tau, "expanded": expanded, "gold_in_top5": gold,
                     "answerable_past_gate": answerable_pass,
                     "out_of_course_past_gate": out_of_course_pass,
                     "gold_gained": gained, "gold_lost": lost})
        print(f"tau {tau}: expanded {expanded}, gold in top 5 {gold} (gained {len(gained)}, "
              f"lost {len(lost)}), past the gate: answerable {answerable_pass}, "
              f"out-of-course {out_of_course_pass}")
    answerable = sum(q.answerable for q in questions)
    out = results_file("glossary_probe.json")
    out.write_text(json.dumps({"questions": len(questions), "answerable": answerable,
                               "glossary_entries": len(entries), "rows": rows}, indent=2))
    print(f"{len(questions)} questions ({answerable} answerable); wrote {out}")


if __name__ == "__main__":
    main()
