import pytest
import torch
from pydantic import ValidationError

from demos import mlp

FAST = dict(n_samples=200, epochs=300)  # a fraction of a second, still ≥ 95 % on the moons


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_hand_written_gradients_equal_autograd(activation):
    # The reference is torch.autograd on the very same weights and the same loss.
    gen = torch.Generator().manual_seed(1)
    model = mlp.MLP(2, 7, activation, gen, dtype=torch.float64)
    for p in model.params.values():
        p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float64))  # non-zero biases
    x = torch.randn(33, 2, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (33,), generator=gen).to(torch.float64)

    z2, cache = model.forward(x)
    by_hand = model.backward(cache, y)

    names = list(model.params)
    for p in model.params.values():
        p.requires_grad_(True)
    by_autograd = torch.autograd.grad(model.loss(x, y), [model.params[n] for n in names])
    for name, g in zip(names, by_autograd, strict=True):
        assert by_hand[name].shape == g.shape
        assert torch.allclose(by_hand[name], g, rtol=1e-10, atol=1e-12), name


def test_loss_is_binary_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(50, generator=gen) * 5
    y = torch.randint(0, 2, (50,), generator=gen).float()
    reference = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    assert torch.allclose(mlp.MLP.loss_from_logits(z, y), reference, atol=1e-6)


def test_a_gradient_step_lowers_the_loss():
    gen = torch.Generator().manual_seed(0)
    model = mlp.MLP(2, 8, "tanh", gen)
    x, y = mlp.make_data(mlp.Config(n_samples=100), gen)
    before = float(model.loss(x, y))
    z2, cache = model.forward(x)
    model.step(model.backward(cache, y), lr=0.1)
    assert float(model.loss(x, y)) < before


def test_learns_the_moons_quickly():
    result = mlp.run(mlp.Config(**FAST))
    loss = result.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert result.metrics["train_accuracy"] >= 0.95
    assert result.metrics["test_accuracy"] >= 0.9


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_learns_xor(activation):
    result = mlp.run(mlp.Config(dataset="xor", activation=activation, n_samples=200, epochs=200))
    assert result.metrics["test_accuracy"] >= 0.95


@pytest.mark.slow
def test_default_config_reaches_95_percent_on_the_moons():
    result = mlp.run(mlp.Config())
    assert result.metrics["train_accuracy"] >= 0.95
    assert result.metrics["test_accuracy"] >= 0.95
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_same_seed_same_numbers():
    config = mlp.Config(seed=3, n_samples=100, epochs=50)
    a, b = mlp.run(config), mlp.run(config)
    assert a.metrics == b.metrics and a.history == b.history
    c = mlp.run(mlp.Config(seed=4, n_samples=100, epochs=50))
    assert c.history != a.history


def test_returns_png_figures_and_names_its_lesson():
    result = mlp.run(mlp.Config(n_samples=60, epochs=5))
    assert {f.name for f in result.figures} == {"decision_boundary", "loss"}
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 10 (Deep neural networks)" in result.explanation
    assert result.lesson == mlp.LESSON and result.lesson.endswith("10-deep-neural-networks.md")
    assert all(isinstance(v, float) for v in result.metrics.values())
    assert len(result.history["loss"]) == 5


@pytest.mark.parametrize(("field", "value"), [
    ("epochs", 0), ("epochs", 10_000), ("hidden", 1), ("n_samples", 5),
    ("learning_rate", 0), ("noise", -0.1), ("activation", "sigmoid"), ("dataset", "spirals"),
    ("seed", -1),
])
def test_out_of_range_parameters_are_refused(field, value):
    with pytest.raises(ValidationError, match=field):
        mlp.Config(**{field: value})
