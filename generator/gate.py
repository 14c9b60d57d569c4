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
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

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
