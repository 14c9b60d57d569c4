"""The gate as a table: what it decides for each confidence, with and without a rescue."""

import pytest

from generator.gate import (
    Decision,
    GateFit,
    confidence,
    decide,
    fit_gate,
    load_fit,
    names,
    save_fit,
    unknown_names,
)
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


# -- a gate fitted to one course --------------------------------------------------------

def test_the_fit_refuses_at_most_three_percent_of_the_courses_own_answerable_questions():
    answerable = [0.30] + [0.55 + 0.01 * n for n in range(39)]  # one low, 39 high
    strangers = [0.20, 0.35, 0.48, 0.52, 0.58]
    fit = fit_gate(answerable, strangers, DEFAULTS, chunks=1000)
    assert fit.min_confidence == 0.55  # the highest threshold that turns away 1 of 40
    assert fit.answerable_refused == 1 / 40
    assert fit.out_of_course_refused == 4 / 5  # all but 0.58
    assert fit.judge_below == 0.60  # the check reaches past the best stranger let through
    assert fit.out_of_course_checked == 1 / 5
    assert fit.rescue_above == 0.40  # the settings' band, 0.15 below the threshold


def test_the_fit_never_checks_less_than_the_settings_and_stops_at_a_ceiling():
    answerable = [0.30 + 0.01 * n for n in range(30)]
    fit = fit_gate(answerable, [0.05] * 5, DEFAULTS, chunks=10)
    assert fit.judge_below == DEFAULTS.judge_below  # no stranger passes: the default check
    fit = fit_gate([0.9] * 30, [0.1] * 4 + [0.95], DEFAULTS, chunks=10)
    assert fit.min_confidence == 0.60 and fit.judge_below == 0.75  # the ceilings


def test_a_set_too_small_to_fit_on_is_refused_saying_how_many_it_needs():
    with pytest.raises(ValueError, match="at least 20 answerable and 5 out-of-course"):
        fit_gate([0.5] * 19, [0.1] * 5, DEFAULTS, chunks=10)


def test_a_fit_is_kept_beside_the_course_applied_and_goes_stale(tmp_path):
    fit = fit_gate([0.5] * 30, [0.1] * 5, DEFAULTS, chunks=1000)
    save_fit(tmp_path, fit)
    assert load_fit(tmp_path) == fit
    assert fit.applied(DEFAULTS).min_confidence == fit.min_confidence
    assert not fit.stale(1200) and fit.stale(1300) and fit.stale(700)
    (tmp_path / "gate.json").write_text("{not json")
    assert load_fit(tmp_path) is None  # unreadable: the settings apply
    assert isinstance(fit, GateFit)


# --- names the course never uses ----------------------------------------------------

@pytest.mark.parametrize(("question", "expected"), [
    ("How does Grad-CAM weigh the last layer's maps?", ["Grad-CAM"]),
    ("Is AdamW better than Adam, and what about MobileNet or ResNet-50?",
     ["AdamW", "MobileNet", "ResNet-50"]),
    ("What is RLHF, and how do GRU gates differ from an LSTM's?", ["RLHF", "GRU", "LSTM"]),
    ("What did Hinton say about TV noise and the OR gate?", []),  # plain capitals, two letters
    ("WHAT IS A GAN AND WHY IS IT UNSTABLE", []),  # shouted: the capitals say nothing
    ("how is the IoU of two boxes computed", ["IoU"]),
    ("what is " + "AbC" * 20, []),  # 60 characters: no name is that long
    ("", []),
])
def test_names_are_words_written_as_the_name_of_something(question, expected):
    assert names(question) == expected


def test_unknown_names_are_those_the_course_never_uses():
    vocabulary = {"lstm", "gan"}
    knows = lambda name: name.lower() in vocabulary  # noqa: E731
    assert unknown_names("Do GAN and LSTM need RLHF?", knows) == ["RLHF"]
    assert unknown_names("Does a GAN use an LSTM?", knows) == []
    assert unknown_names("What does RLHF add, and is RLHF costly?", knows) == ["RLHF"]  # once


def test_unknown_names_stop_at_the_limit_without_looking_further():
    asked = []

    def knows(name: str) -> bool:
        asked.append(name)
        return name == "LSTM"

    made_up = " or ".join(f"the QX{chr(65 + i)}Z model" for i in range(6))
    question = f"is an LSTM anything like {made_up}?"
    assert unknown_names(question, knows) == ["QXAZ", "QXBZ", "QXCZ"]
    assert asked == ["LSTM", "QXAZ", "QXBZ", "QXCZ"]
