"""A blind second opinion on answer correctness, for when the lexical judge is in doubt.

The lexical judge (eval/answers.py) is strict: an answer that is right in other words can
fail it. This script lets a grader (a person, or anyone who has not seen the systems)
judge two answer reports side by side without knowing which system wrote which answer.

    python -m bench.audit packet A/report.json [B/report.json] --out audit/
        writes audit/packet.jsonl: per answerable question, the question, its key facts,
        the gold passage from the course, and the two answers (citation markers removed,
        as only one system writes them) as "x" and "y" in an order drawn per question
        (seeded); audit/key.json says which was which. With one report, only "x".
    (the grader writes audit/verdicts.jsonl: {"id": ..., "x": V, "y": V} per line, V one
        of "right", "partial", "wrong", "declined")
    python -m bench.audit score audit/
        unblinds the verdicts and prints, per system, the share judged right, right or
        partial, and the agreement with the lexical judge's "answered right".
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from bench import COURSE
from eval.datasets import default_dataset, load_questions
from ingest.loaders import loader_for

VERDICTS = ("right", "partial", "wrong", "declined")


def gold_text(question) -> str:
    parts = []
    for anchor in question.gold:
        if anchor.source is None:
            continue
        loaded = loader_for(COURSE / anchor.source).load(COURSE / anchor.source)
        parts += [s.text for s in loaded.sections
                  if anchor.section is None or anchor.section in s.heading_path]
    return "\n\n".join(parts)


def unmarked(answer: str) -> str:
    """The answer without citation markers, which would tell the systems apart."""
    return re.sub(r"[ \t]*(?:\[\d+\])+", "", answer).strip()


def packet(reports: list[Path], out: Path, seed: int = 0) -> None:
    if not 1 <= len(reports) <= 2:
        raise SystemExit("give one or two reports")
    records = [{r["id"]: r for r in json.loads(p.read_text())["records"]} for p in reports]
    names = [p.parent.name for p in reports]
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    key, lines = {}, []
    for question in load_questions(default_dataset("genai-basics")):
        if not question.answerable or any(question.id not in r for r in records):
            continue
        order = list(range(len(records)))
        rng.shuffle(order)
        slots = dict(zip("xy", order, strict=False))
        key[question.id] = {slot: names[i] for slot, i in slots.items()}
        lines.append(json.dumps({
            "id": question.id, "question": question.question,
            "conversation_before": [list(t) for t in question.turns],
            "key_facts": list(question.key_facts), "course_passage": gold_text(question),
            **{slot: unmarked(records[i][question.id]["answer"]) for slot, i in slots.items()},
        }, ensure_ascii=False))
    (out / "packet.jsonl").write_text("\n".join(lines) + "\n")
    (out / "key.json").write_text(json.dumps({"reports": [str(p) for p in reports],
                                              "key": key}, indent=1))
    print(f"{len(lines)} questions → {out / 'packet.jsonl'}")


def score(folder: Path) -> dict:
    key = json.loads((folder / "key.json").read_text())
    reports = {Path(p).parent.name: {r["id"]: r for r in json.loads(Path(p).read_text())["records"]}
               for p in key["reports"]}
    tally = {name: {v: 0 for v in VERDICTS} | {"agree": 0, "n": 0} for name in reports}
    for line in (folder / "verdicts.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        verdict = json.loads(line)
        for slot in key["key"][verdict["id"]]:
            name, value = key["key"][verdict["id"]][slot], verdict[slot]
            if value not in VERDICTS:
                raise SystemExit(f"{verdict['id']}: verdict {value!r} is not one of {VERDICTS}")
            counts = tally[name]
            counts[value] += 1
            counts["n"] += 1
            counts["agree"] += (value == "right") == bool(reports[name][verdict["id"]]
                                                         .get("answered_right"))
    summary = {}
    print("| system | judged right | right or partial | declined | agrees with the lexical judge |")
    print("|---|---|---|---|---|")
    for name, c in tally.items():
        n = c["n"] or 1
        summary[name] = {"n": c["n"], "right": c["right"] / n,
                         "right_or_partial": (c["right"] + c["partial"]) / n,
                         "declined": c["declined"] / n, "agreement": c["agree"] / n}
        s = summary[name]
        print(f"| {name} | {s['right']:.1%} of {c['n']} | {s['right_or_partial']:.1%} | "
              f"{s['declined']:.1%} | {s['agreement']:.1%} |")
    (folder / "score.json").write_text(json.dumps(summary, indent=1))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("packet")
    p.add_argument("reports", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "packet":
        packet(args.reports, args.out)
    else:
        score(args.folder)


if __name__ == "__main__":
    main()
