"""What every demo owes the tool layer, checked on each one with a tiny configuration:
same seed → same numbers, finite float metrics, PNG figures with names the API can serve,
a two-sentence explanation naming a lesson that exists in the bundled course, and a
cancel that stops training."""

import math

import pytest

from demos.base import Cancelled
from demos.registry import _FIGURE, registry
from tests.conftest import BUNDLED_COURSE

TINY = {
    "perceptron": {"epochs": 5},
    "mlp": {"n_samples": 60, "epochs": 20},
    "cnn": {"epochs": 1, "channels1": 3, "channels2": 4},
    "rnn": {"steps": 10, "hidden_size": 8},
    "lstm": {"steps": 10, "hidden_size": 8, "seq_len": 12, "delay": 3},
    "transformer": {"n_chars": 5000, "block_size": 16, "n_embd": 16, "n_layer": 1,
                    "n_head": 2, "steps": 5, "batch_size": 4, "sample_chars": 10},
    "gan": {"steps": 20},
    "vae": {"epochs": 1},
    "ddpm": {"n_steps": 50, "train_steps": 10},
}


def test_every_registered_demo_has_a_tiny_configuration_here():
    assert set(TINY) == set(registry())


@pytest.mark.parametrize("name", list(TINY))
def test_a_demo_keeps_the_tool_contract(name):
    tool = registry()[name]
    config = tool.parse({**TINY[name], "seed": 3})
    first, second = tool.run_fn(config), tool.run_fn(config)
    assert first.metrics == second.metrics and first.history == second.history
    assert first.demo == name and first.metrics
    assert all(isinstance(v, float) and math.isfinite(v) for v in first.metrics.values())
    assert first.figures and all(f.png.startswith(b"\x89PNG") for f in first.figures)
    assert all(_FIGURE.match(f.name) for f in first.figures)
    assert len({f.name for f in first.figures}) == len(first.figures)
    assert (BUNDLED_COURSE / first.lesson).is_file() and first.lesson == tool.lesson
    sentences = [s for s in first.explanation.replace("? ", ". ").split(". ") if s]
    assert len(sentences) == 2 and "Lesson " in first.explanation


@pytest.mark.parametrize("name", list(TINY))
def test_a_demo_stops_when_cancelled(name):
    tool = registry()[name]
    with pytest.raises(Cancelled):
        tool.run_fn(tool.parse(TINY[name]), cancel=lambda: True)
