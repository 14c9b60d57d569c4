"""A chat message asking to see a model learn runs its demo; a question does not."""

import pytest

from demos import perceptron
from demos.registry import DemoRunner, Tool
from generator.answer import AnswerService
from generator.conversations import ConversationStore
from retriever.service import SearchService
from studyhall.core.errors import InvalidRequest
from studyhall.core.settings import AnswerSettings
from tests.conftest import ScriptedGenerator

PERCEPTRON = Tool("perceptron", perceptron.DESCRIPTION, perceptron.LESSON,
                  perceptron.Config, perceptron.run)


@pytest.fixture
def service(settings, catalog, fake_embedder, ingestor, tmp_path):
    course = tmp_path / "neurons"
    (course / "lessons").mkdir(parents=True)
    (course / "lessons" / "09-the-perceptron.md").write_text(
        "# The perceptron\n\n## Learning rule\n\nThe perceptron learning rule moves the "
        "weights by the error times the input. A perceptron cannot learn XOR.\n")
    (course / "lessons" / "01-intro.md").write_text(
        "# Intro\n\nThis course is about neurons and how a perceptron learns.\n")
    ingestor.ingest(course, "neurons")
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    settings = settings.model_copy(update={"answer": AnswerSettings(min_confidence=0.1,
                                                                    judge=False)})
    runner = DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON})
    generator = ScriptedGenerator(lambda m: "A perceptron is one neuron [1].")
    return AnswerService(settings, search, generator, ConversationStore(tmp_path / "c.sqlite"),
                         demos=runner)


def test_a_demo_request_runs_the_demo_and_cites_its_lesson(service):
    answer = service.ask("show me a perceptron learning the OR gate", "neurons")
    assert service.generator.calls == []  # no model call: the demo speaks for itself
    assert answer.demo.tool == "perceptron" and answer.demo.params["gate"] == "or"
    assert answer.demo.result.metrics["accuracy"] == 1.0
    assert answer.demo.result.figures[0].png.startswith(b"\x89PNG")
    assert "[1]" in answer.text and "accuracy 1" in answer.text
    [(n, hit)] = answer.citations
    assert n == 1 and hit.chunk.source == "lessons/09-the-perceptron.md"
    assert answer.message_id is not None


def test_a_plain_question_answers_from_the_course_and_runs_nothing(service):
    answer = service.ask("how does a perceptron learn", "neurons")
    assert answer.demo is None
    assert len(service.generator.calls) == 1
    assert not (service.demos.store.exists() and any(service.demos.store.iterdir()))


def test_slash_demo_with_a_bad_parameter_is_refused_before_anything_runs(service):
    with pytest.raises(InvalidRequest, match="epochs must be between 1 and 1000, got 0"):
        service.prepare("/demo perceptron epochs=0", "neurons")
    with pytest.raises(InvalidRequest, match="no demo called 'resnet'"):
        service.prepare("/demo resnet", "neurons")


def test_a_course_without_the_lesson_gets_the_demo_without_a_citation(service, ingestor, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("# Notes\n\nSomething about neurons and perceptrons.\n")
    ingestor.ingest(other, "other")
    answer = service.ask("/demo perceptron", "other")
    assert answer.citations == () and "[1]" not in answer.text
    assert answer.demo.result.metrics["accuracy"] == 1.0
