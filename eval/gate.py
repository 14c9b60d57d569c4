"""Calibrating the retrieval-confidence gate: for each threshold, the share of
answerable questions it would wrongly turn away, and the share of out-of-course ones it
would catch before the model is asked. (Out-of-course questions that pass the gate are
left to the model's coverage check; see eval.answers for the end-to-end numbers.)"""

from __future__ import annotations

from dataclasses import dataclass

from eval.datasets import Question
from generator.gate import confidence


@dataclass
class GateRow:
    threshold: float
    answerable_refused: float
    out_of_course_refused: float


def confidences(service, questions: list[Question], course: str, k: int = 5) -> list[float]:
    """The gate's confidence for each question (:func:`generator.gate.confidence`)."""
    return [confidence(service.search(q.question, course, k=k)) for q in questions]


def calibrate(service, questions: list[Question], course: str,
              thresholds: list[float]) -> list[GateRow]:
    scores = confidences(service, questions, course)
    inside = [s for s, q in zip(scores, questions, strict=True) if q.answerable]
    outside = [s for s, q in zip(scores, questions, strict=True) if not q.answerable]
    return [
        GateRow(t, sum(s < t for s in inside) / max(1, len(inside)),
                sum(s < t for s in outside) / max(1, len(outside)))
        for t in thresholds
    ]


def format_gate(rows: list[GateRow]) -> str:
    lines = ["| threshold | answerable refused by the gate | out-of-course refused by the gate |",
             "|---|---|---|"]
    lines += [f"| {r.threshold:.2f} | {r.answerable_refused:.1%} | {r.out_of_course_refused:.1%} |"
              for r in rows]
    return "\n".join(lines)
