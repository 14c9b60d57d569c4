import pytest

from demos.routing import route
from eval.routing import DATASETS, evaluate_routing


@pytest.mark.parametrize("message", [
    "What is a GAN?", "how does a GAN learn?", "How do you train a diffusion model?",
    "Why can't a single perceptron learn XOR?", "What is the course about?", "",
])
def test_a_question_runs_no_demo(message):
    assert route(message) is None


@pytest.mark.parametrize("message, tool", [
    ("show me a GAN learning", "gan"),
    ("Train a variational autoencoder on the digits", "vae"),
    ("can you demo a diffusion model?", "ddpm"),
    ("visualize a multi-layer perceptron's decision boundary", "mlp"),  # not "perceptron"
    ("run an LSTM for me", "lstm"),
])
def test_a_request_to_see_a_model_learn_picks_its_demo(message, tool):
    assert route(message).tool == tool


def test_slash_demo_takes_the_name_and_key_value_parameters():
    request = route("/demo perceptron gate=xor epochs=50 learning_rate=0.5")
    assert request.explicit and request.tool == "perceptron"
    assert request.params == {"gate": "xor", "epochs": 50, "learning_rate": 0.5}


def test_slash_demo_keeps_an_unknown_name_for_the_runner_to_refuse():
    assert route("/demo resnet").tool == "resnet"


def test_the_gate_a_student_names_becomes_a_parameter():
    assert route("show me a perceptron learning the XOR gate").params == {"gate": "xor"}


@pytest.mark.parametrize("dataset", ["routing.jsonl", "routing-heldout.jsonl"])
def test_routing_goals_on_the_labelled_sets(dataset):
    report = evaluate_routing(DATASETS / dataset)
    assert report.demo_requests >= 20 and report.questions >= 18
    assert report.demo_run_on_question == 0, report.misses
    assert report.routed_share >= 0.9, report.misses


def test_no_question_of_the_bundled_answer_set_runs_a_demo():
    """Two course questions once ran one: "what does the GPT-4 demo show?" and "… the
    illustration the course uses to show the stages of GAN training"."""
    from eval.datasets import default_dataset, load_questions

    questions = load_questions(default_dataset("genai-basics"))
    routed = [q.id for q in questions if route(q.question) is not None]
    assert routed == []
