"""Does the course cover a question? The decision, as pure functions over plain values.

The answer service measures retrieval's :func:`confidence` and asks :func:`decide` what
to do; the gate eval (``studyhall eval gate``) and the bench use the same two functions.
By the best passage's cosine to the question:

- below ``rescue_above`` (or below ``min_confidence`` with no rescue band): ``REFUSE``,
  say so and name the closest lessons, without calling the model;
- from ``rescue_above`` up to ``min_confidence``: ``RESCUE``, restate the question in the
  field's usual terms, search again and decide again with ``rescued=True``;
- from ``min_confidence`` on, when ``judge`` is on and the cosine is below
  ``judge_below`` or the question was rescued: ``CHECK``, ask the model whether the
  sources answer it before answering;
- otherwise ``ANSWER``.

Before any of that, :func:`unknown_names`: a question that names something (MobileNet,
Grad-CAM, AdamW) that the course's text never once uses is refused whatever its cosine; a
near-domain question scores like a covered one, and the model's coverage check reads the
sources' neighbouring topic as a yes.

The thresholds are the settings', unless the course has its own (:class:`GateFit`, fitted
by ``studyhall eval gate --course ID --fit`` to the course's own question set and kept
beside its index): a course of textbook prose and code scores its questions differently
from the bundled one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from retriever.base import Hit
from studyhall.core.settings import AnswerSettings


class Decision(Enum):
    REFUSE = "refuse"
    RESCUE = "rescue"
    CHECK = "check"
    ANSWER = "answer"


def confidence(hits: Iterable[Hit]) -> float:
    """The best hit's cosine to the question (-1 when no hit has one)."""
    return max((h.dense_score for h in hits if h.dense_score is not None), default=-1.0)


def decide(confidence: float, rescued: bool, settings: AnswerSettings) -> Decision:
    """What to do with a question whose best passage scores ``confidence``; ``rescued``
    says the question was already restated once (it is not restated again)."""
    if (not rescued and settings.rescue_above is not None
            and settings.rescue_above <= confidence < settings.min_confidence):
        return Decision.RESCUE
    if confidence < settings.min_confidence:
        return Decision.REFUSE
    if settings.judge and (rescued or confidence < settings.judge_below):
        return Decision.CHECK
    return Decision.ANSWER


# -- names the course never uses ------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*")  # Grad-CAM, ResNet-50 are one
_NAMED = re.compile(r"[a-z][A-Z]|[A-Z]{3}")  # a capital inside a word, or three in a row
MAX_NAME = 40  # longer runs are not names (and are not repeated back in the refusal)


def names(question: str) -> list[str]:
    """The words of a question written as the name of something: a capital inside the
    word (MobileNet, AdamW, IoU) or three capitals in a row (GRU, RLHF, Grad-CAM). Plain
    capitalised words (How, Hinton) and two-letter ones (TV, OR) are not names, and a
    question mostly in capitals has none (its capitals say nothing)."""
    words = _WORD.findall(question)
    if sum(w.isupper() for w in words) > len(words) / 2:  # shouted
        return []
    return list(dict.fromkeys(w for w in words if len(w) <= MAX_NAME and _NAMED.search(w)))


def unknown_names(question: str, knows: Callable[[str], bool], limit: int = 3) -> list[str]:
    """The names in ``question`` that the course never uses (``knows``: the course's own
    vocabulary, as its lexical index has it), the first ``limit`` of them: one is reason
    enough to refuse, and a question of a thousand made-up acronyms costs three lookups
    past the known ones, not a thousand."""
    unknown: list[str] = []
    for name in names(question):
        if not knows(name):
            unknown.append(name)
            if len(unknown) == limit:
                break
    return unknown


# -- a gate fitted to one course -------------------------------------------------------

GATE_FILE = "gate.json"  # in the course's folder of the catalog, beside its versions
MIN_ANSWERABLE, MIN_OUT_OF_COURSE = 20, 5  # fewer questions than this: no fit
CHECK_MARGIN = 0.02  # the coverage check reaches this far above the best-scoring stranger
MAX_CHECK_BELOW = 0.75  # and never further


@dataclass(frozen=True)
class GateFit:
    """Thresholds fitted to one course's own questions, and what they were fitted on."""

    min_confidence: float
    judge_below: float
    rescue_above: float | None
    answerable: int  # questions of the set it was fitted on
    out_of_course: int
    answerable_refused: float  # by the gate, on that set, at these thresholds
    out_of_course_refused: float
    out_of_course_checked: float  # passed the gate, left to the coverage check
    chunks: int  # the course's size when fitted: a course that changes a lot is refitted
    dataset: str = ""

    def applied(self, settings: AnswerSettings) -> AnswerSettings:
        """``settings`` with this course's thresholds."""
        return settings.model_copy(update={"min_confidence": self.min_confidence,
                                           "judge_below": self.judge_below,
                                           "rescue_above": self.rescue_above})

    def stale(self, chunks: int, change: float = 0.25) -> bool:
        """Whether the course has grown or shrunk by more than ``change`` since the fit."""
        return abs(chunks - self.chunks) > change * max(1, self.chunks)


def fit_gate(answerable: list[float], out_of_course: list[float], settings: AnswerSettings,
             *, chunks: int, max_refused: float = 0.03, dataset: str = "") -> GateFit:
    """Thresholds for one course from its questions' confidences: the highest
    ``min_confidence`` that turns away at most ``max_refused`` of the answerable questions
    (the coverage check and the model add their own few), and a coverage check that reaches
    just above the best-scoring out-of-course question the gate lets through. Raises
    ValueError when the set is too small to fit on."""
    if len(answerable) < MIN_ANSWERABLE or len(out_of_course) < MIN_OUT_OF_COURSE:
        raise ValueError(
            f"a gate is fitted on at least {MIN_ANSWERABLE} answerable and "
            f"{MIN_OUT_OF_COURSE} out-of-course questions; this set has {len(answerable)} "
            f"and {len(out_of_course)}")
    candidates = [round(0.20 + 0.01 * n, 2) for n in range(41)]  # 0.20 … 0.60
    allowed = [t for t in candidates
               if sum(s < t for s in answerable) <= max_refused * len(answerable)]
    threshold = max(allowed, default=candidates[0])
    passing = [s for s in out_of_course if s >= threshold]
    # the check reaches at least as far as the settings' (strangers the set lacks), and past
    # every stranger of the set that the gate lets through
    reach = max(passing) + CHECK_MARGIN if passing else settings.judge_below
    judge_below = min(MAX_CHECK_BELOW, max(settings.judge_below, reach))
    rescue_above = None
    if settings.rescue_above is not None:
        rescue_above = round(threshold - (settings.min_confidence - settings.rescue_above), 2)
    return GateFit(
        min_confidence=threshold, judge_below=round(max(judge_below, threshold), 3),
        rescue_above=rescue_above, answerable=len(answerable), out_of_course=len(out_of_course),
        answerable_refused=sum(s < threshold for s in answerable) / len(answerable),
        out_of_course_refused=1 - len(passing) / len(out_of_course),
        out_of_course_checked=sum(s < judge_below for s in passing) / len(out_of_course),
        chunks=chunks, dataset=dataset)


def save_fit(course_dir: Path, fit: GateFit) -> Path:
    path = course_dir / GATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(fit), indent=1) + "\n")
    tmp.replace(path)
    return path


def load_fit(course_dir: Path) -> GateFit | None:
    """The course's fitted gate, or None (not fitted, or a file this version cannot read:
    the defaults then apply, as for a course never fitted)."""
    path = course_dir / GATE_FILE
    try:
        return GateFit(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def clear_fit(course_dir: Path) -> None:
    """Forget the course's fitted gate: the settings' thresholds apply again."""
    (course_dir / GATE_FILE).unlink(missing_ok=True)


class CourseGates:
    """Each course's fitted gate as the answer path asks for it, per question: the file is
    read again only when it changes (a fit, a refit, a clear), otherwise one ``stat``."""

    def __init__(self) -> None:
        self._read: dict[Path, tuple[int, GateFit | None]] = {}

    def fit(self, course_dir: Path) -> GateFit | None:
        path = course_dir / GATE_FILE
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return None
        read = self._read.get(path)
        if read is None or read[0] != stamp:
            read = self._read[path] = (stamp, load_fit(course_dir))
        return read[1]
