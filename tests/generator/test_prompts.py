"""The answer prompt's layouts: the default one as the model has always read it, and each
measured variant differing from it only where it says."""

from typing import get_args

import pytest

from generator.prompts import (
    DEFAULT,
    EXAMPLE_ANSWER,
    JUDGE,
    REMINDER,
    REMINDER_SPECIFIC,
    STRATEGIES,
    SYSTEM,
    SYSTEM_SOURCE_TERMS,
)
from studyhall.core.settings import AnswerSettings, PromptStrategyName

BLOCKS = ['<source n=1 title="A">\nalpha\n</source>', '<source n=2 title="B">\nbeta\n</source>']


def words(text: str) -> int:
    return len(text.split())


def test_every_setting_value_names_a_strategy_and_default_is_the_default():
    assert set(STRATEGIES) == set(get_args(PromptStrategyName))
    assert STRATEGIES[AnswerSettings().prompt] is DEFAULT


def test_the_default_prompt_is_system_then_sources_question_and_reminder():
    system, user = DEFAULT.messages("Tiny", "why?", BLOCKS)
    assert (system.role, system.content) == ("system", SYSTEM.format(course="Tiny"))
    assert user.content == f"Sources:\n\n{BLOCKS[0]}\n\n{BLOCKS[1]}\n\nQuestion: why?\n\n{REMINDER}"


def test_the_coverage_check_differs_from_the_answer_only_after_the_question():
    for strategy in STRATEGIES.values():
        answer = strategy.messages("Tiny", "why?", BLOCKS)
        check = strategy.messages("Tiny", "why?", BLOCKS, JUDGE)
        assert [m.content for m in answer[:-1]] == [m.content for m in check[:-1]]
        assert check[-1].content == answer[-1].content.removesuffix(strategy.reminder) + JUDGE


@pytest.mark.parametrize(("name", "system", "reminder"), [
    ("be-specific", SYSTEM_SOURCE_TERMS, REMINDER_SPECIFIC),
    ("be-specific-closing", SYSTEM, REMINDER_SPECIFIC),
])
def test_the_be_specific_variants_change_only_their_wording(name, system, reminder):
    strategy = STRATEGIES[name]
    assert system != SYSTEM or reminder != REMINDER
    messages = strategy.messages("Tiny", "why?", BLOCKS)
    assert messages[0].content == system.format(course="Tiny")
    assert messages[-1].content.endswith(reminder)
    assert "Be specific" in reminder and "name each one" in reminder


def test_one_shot_puts_a_worked_exchange_between_the_system_prompt_and_the_question():
    strategy = STRATEGIES["one-shot-example"]
    system, example, answer, user = strategy.messages("Tiny", "why?", BLOCKS)
    assert (example.role, answer.role) == ("user", "assistant") and answer.content == EXAMPLE_ANSWER
    assert "Bread baking" in example.content and user.content == DEFAULT.user_prompt("why?", BLOCKS)
    extra = words(example.content) + words(answer.content)
    assert strategy.overhead(words, "Tiny", "why?") == DEFAULT.overhead(words, "Tiny", "why?") + extra


def test_question_before_sources_asks_it_twice_and_budgets_for_both():
    strategy = STRATEGIES["question-before-sources"]
    user = strategy.messages("Tiny", "why now?", BLOCKS)[-1].content
    assert user.startswith("Question: why now?\n\nSources:") and user.count("Question: why now?") == 2
    assert strategy.overhead(words, "Tiny", "why now?") == DEFAULT.overhead(words, "Tiny", "why now?") + 2


def test_best_passage_last_reverses_only_the_order():
    assert STRATEGIES["best-passage-last"].order([1, 2, 3]) == [3, 2, 1]
    assert DEFAULT.order([1, 2, 3]) == [1, 2, 3]
