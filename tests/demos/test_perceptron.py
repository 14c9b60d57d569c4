import pytest
import torch
from pydantic import ValidationError

from demos import perceptron


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_learns_linearly_separable_gates(gate):
    result = perceptron.run(perceptron.Config(gate=gate, epochs=50))
    assert result.metrics["accuracy"] == 1.0
    assert result.history["errors"][-1] == 0


def test_never_learns_xor():
    # No line separates XOR, so the perceptron rule keeps making mistakes.
    result = perceptron.run(perceptron.Config(gate="xor", epochs=200))
    assert result.metrics["accuracy"] < 1.0
    assert all(e > 0 for e in result.history["errors"])


def test_update_moves_the_boundary_towards_a_missed_example():
    # w ← w + η (t − y) x: a missed positive raises w · x by η |x|² (+ η from the bias).
    model = perceptron.Perceptron(2, torch.Generator().manual_seed(0))
    model.w, model.b = torch.tensor([-1.0, -1.0]), torch.tensor(0.0)
    x = torch.tensor([1.0, 1.0])
    before = float(x @ model.w + model.b)
    assert model.update(x, torch.tensor(1.0), lr=0.5) == 1.0
    assert float(x @ model.w + model.b) == pytest.approx(before + 0.5 * 2 + 0.5)
    w = model.w.clone()
    assert model.update(x, torch.tensor(0.0), lr=0.5) == 0.0  # z = −0.5 → 0, right: no change
    assert torch.equal(model.w, w)
def test_same_seed_same_numbers():
    a = perceptron.run(perceptron.Config(seed=3))
    b = perceptron.run(perceptron.Config(seed=3))
    assert a.metrics == b.metrics and a.history == b.history


def test_returns_png_figures_and_names_its_lesson():
    result = perceptron.run(perceptron.Config())
    assert result.figures and all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 9" in result.explanation and result.lesson.endswith("09-the-perceptron.md")


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="epochs"):
        perceptron.Config(epochs=0)
    with pytest.raises(ValidationError, match="gate"):
        perceptron.Config(gate="nor")
