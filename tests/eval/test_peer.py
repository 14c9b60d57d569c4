"""The peer baseline: LangChain's tutorial recipe, scored by the same judge."""

import pytest

from eval.answers import judge
from eval.datasets import Question
from eval.peer import CHUNK_SIZE, K, PeerAnswer, course_documents, declines
from generator.results import Timings


@pytest.mark.parametrize("text", [
    "I don't know.",
    "The provided context does not mention a late penalty.",
    "A late penalty is not mentioned in the context. Usually courses …",
    "There is no information about credits in the text.",
    "Sorry, I cannot answer that from the given context.",
    "I'm sorry, but I cannot recommend a restaurant in Lisbon.",
    "",
])
def test_an_answer_that_opens_by_declining_is_a_refusal(text):
    assert declines(text)


@pytest.mark.parametrize("text", [
    "No, you do not have to install Python: the notebooks run in Colab.",
    "The course is worth 3 credits.",
    "GANs pit two networks against each other. The paper does not mention VAEs.",
])
def test_an_answer_is_not_a_refusal_for_a_negative_word_or_a_later_caveat(text):
    assert not declines(text)


def test_the_judge_scores_a_peer_answer_without_citations():
    question = Question(id="q", course="c", question="Who proposed LSTM?", answerable=True,
                        key_facts=("Hochreiter and Schmidhuber",))
    record = judge(question, PeerAnswer("Hochreiter and Schmidhuber proposed it.", False,
                                        timings=Timings(first_token_ms=5.0, total_ms=9.0)))
    assert record.answered_right and not record.correct  # right, but cites nothing
    declined = judge(question, PeerAnswer("I don't know.", True))
    assert not declined.answered_right and declined.key_fact_recall == 0.0


def test_the_recipe_reads_the_same_files_as_studyhall(course_dir):
    documents = course_documents(course_dir)
    assert sorted(d.metadata["source"] for d in documents) == ["gans.md", "notes.txt", "vaes.md"]
    assert all(d.page_content.strip() for d in documents)


@pytest.mark.slow
def test_the_recipe_answers_from_four_chunks_of_at_most_1000_characters(course_dir, models_dir,
                                                                        tmp_path):
    from eval.peer import TutorialRecipe
    from studyhall.core.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", models_dir=models_dir,
                        generator={"model": "tiny", "threads": 1, "max_tokens": 24})
    recipe = TutorialRecipe.from_settings(course_dir, settings)
    assert recipe.chunks and max(len(c.page_content) for c in recipe.chunks) <= CHUNK_SIZE
    answer = recipe.ask("What does the discriminator do?")
    assert len(answer.sources) == min(K, len(recipe.chunks))
    assert "gans.md" in answer.sources
    assert answer.text and answer.citations == ()
    assert 0 < answer.timings.first_token_ms <= answer.timings.total_ms
