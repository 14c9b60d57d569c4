"""The gate as a table: what it decides for each confidence, with and without a rescue."""

import pytest

from generator.gate import Decision, confidence, decide
from ingest.documents import Anchor, Chunk
from retriever.base import Hit
from studyhall.core.settings import AnswerSettings

DEFAULTS = AnswerSettings()  # rescue from 0.25, answer from 0.40, check below 0.50
R, F, C, A = Decision.RESCUE, Decision.REFUSE, Decision.CHECK, Decision.ANSWER


@pytest.mark.parametrize(("score", "rescued", "expected"), [
    (-1.0, False, F), (0.10, False, F), (0.2499, False, F),  # below the rescue band
    (0.25, False, R), (0.33, False, R), (0.3999, False, R),  # the rescue band
    (0.30, True, F),  # restated, still below min_confidence: no second rescue
    (0.40, False, C), (0.4999, False, C),  # covered, but not sure enough: check first
    (0.50, False, A), (0.93, False, A),  # sure: answer
    (0.45, True, C), (0.80, True, C),  # a rescued question is always checked
])
def test_the_default_gate(score, rescued, expected):
    assert decide(score, rescued, DEFAULTS) is expected


@pytest.mark.parametrize(("settings", "score", "expected"), [
    (AnswerSettings(rescue_above=None), 0.30, F),  # no rescue band
    (AnswerSettings(judge=False), 0.42, A),  # no coverage check
    (AnswerSettings(judge=False, rescue_above=0.2), 0.3, R),
    (AnswerSettings(min_confidence=0.2, rescue_above=0.25), 0.22, C),  # empty band
    (AnswerSettings(judge_below=-1.0), 0.41, A),
])
def test_the_gate_follows_its_settings(settings, score, expected):
    assert decide(score, False, settings) is expected


def _hit(dense: float | None) -> Hit:
    chunk = Chunk("x", "c", "s", "t", ("t",), Anchor("section", "s", "s"), "t", "t")
    return Hit(chunk, 0.0, 1, dense_score=dense)


def test_confidence_is_the_best_cosine_and_ignores_hits_without_one():
    assert confidence([_hit(0.2), _hit(None), _hit(0.61), _hit(0.5)]) == 0.61
    assert confidence([_hit(None)]) == -1.0 and confidence([]) == -1.0
