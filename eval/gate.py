"""Calibrating the retrieval-confidence gate: for each threshold, the share of
answerable questions it would wrongly turn away, and the share of out-of-course ones it
would catch before the model is asked. (Out-of-course questions that pass the gate are
left to the model's coverage check; see eval.answers for the end-to-end numbers.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.datasets import DatasetError, Question, course_dataset, load_questions
from generator.gate import GateFit, confidence, fit_gate, load_fit, save_fit
from studyhall.core.settings import AnswerSettings


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


def fit_course_gate(service, questions: list[Question], course: str, settings: AnswerSettings,
                    *, dataset: str = "") -> GateFit:
    """The course's own gate, fitted to ``questions`` (see :func:`generator.gate.fit_gate`);
    ValueError when the set is too small."""
    scores = confidences(service, questions, course)
    inside = [s for s, q in zip(scores, questions, strict=True) if q.answerable]
    outside = [s for s, q in zip(scores, questions, strict=True) if not q.answerable]
    chunks = service.index(course).manifest.chunk_count
    return fit_gate(inside, outside, settings, chunks=chunks, dataset=dataset)


def format_fit(fit: GateFit) -> str:
    return (f"fitted on {fit.answerable} answerable and {fit.out_of_course} out-of-course "
            f"questions: refuse below {fit.min_confidence:.2f} (answerable refused by the gate: "
            f"{fit.answerable_refused:.1%}; out-of-course refused: {fit.out_of_course_refused:.1%}"
            f", left to the coverage check: {fit.out_of_course_checked:.1%}); coverage check "
            f"below {fit.judge_below:.2f}; restate between "
            f"{fit.rescue_above if fit.rescue_above is not None else '-'} and the threshold")


@dataclass(frozen=True)
class Refit:
    """A stale course gate, refitted (``after``) or not (``error`` says why)."""

    before: GateFit
    chunks: int
    after: GateFit | None = None
    error: str = ""

    def message(self, course: str) -> str:
        if self.after is None:
            return (f"the course's own gate was fitted at {self.before.chunks} chunks and could "
                    f"not be refitted ({self.error}); `studyhall eval gate --course {course} "
                    "--fit --dataset FILE` refits it")
        return (f"the course changed from {self.before.chunks} to {self.chunks} chunks; gate "
                "refitted, " + format_fit(self.after))


def refit_if_stale(service, course: str, settings: AnswerSettings, data_dir: Path) -> Refit | None:
    """After an ingest: a course whose own gate was fitted when it was much smaller or
    larger (:meth:`GateFit.stale`) gets it refitted on the same question set and saved;
    None when the course has no fit or it still holds."""
    course_dir = service.catalog.course_dir(course)
    fit = load_fit(course_dir)
    chunks = service.index(course).manifest.chunk_count
    if fit is None or not fit.stale(chunks):
        return None
    try:
        path = Path(fit.dataset) if fit.dataset else course_dataset(data_dir, course)
        refit = fit_course_gate(service, load_questions(path, course=course), course, settings,
                                dataset=fit.dataset)
    except (DatasetError, ValueError) as exc:
        return Refit(before=fit, chunks=chunks, error=str(exc))
    save_fit(course_dir, refit)
    return Refit(before=fit, chunks=chunks, after=refit)
