import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from demos import cnn

FAST = dict(epochs=3, batch_size=32)  # well under a second of training, ~97 % on the test split


@pytest.mark.parametrize(("in_ch", "out_ch", "kernel", "stride", "padding", "size"), [
    (1, 1, 3, 1, 0, (8, 8)),
    (1, 4, 3, 1, 1, (8, 8)),
    (3, 5, 3, 2, 1, (9, 7)),
    (2, 6, 5, 1, 2, (10, 10)),
    (4, 3, 2, 3, 0, (11, 8)),
    (3, 2, 1, 1, 0, (5, 6)),
])
def test_conv2d_equals_torch(in_ch, out_ch, kernel, stride, padding, size):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, in_ch, *size, generator=gen, dtype=torch.float64)
    w = torch.randn(out_ch, in_ch, kernel, kernel, generator=gen, dtype=torch.float64)
    b = torch.randn(out_ch, generator=gen, dtype=torch.float64)
    ours = cnn.conv2d(x, w, b, stride=stride, padding=padding)
    theirs = F.conv2d(x, w, b, stride=stride, padding=padding)
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs)
    assert torch.allclose(cnn.conv2d(x, w, stride=stride, padding=padding),
                          F.conv2d(x, w, stride=stride, padding=padding))


def test_conv2d_gradients_equal_torch():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 6, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    up = torch.randn(3, 4, 6, 6, generator=gen, dtype=torch.float64)
    ours = torch.autograd.grad((cnn.conv2d(x, w, b, padding=1) * up).sum(), (x, w, b))
    theirs = torch.autograd.grad((F.conv2d(x, w, b, padding=1) * up).sum(), (x, w, b))
    for a, t in zip(ours, theirs, strict=True):
        assert torch.allclose(a, t)


@pytest.mark.parametrize(("kernel", "stride", "size"), [
    (2, None, (8, 8)), (2, None, (7, 9)), (3, 2, (9, 9)), (3, 1, (6, 5)), (2, 3, (10, 11)),
])
def test_max_pool_equals_torch(kernel, stride, size):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, *size, generator=gen, requires_grad=True)
    ours = cnn.max_pool2d(x, kernel, stride)
    theirs = F.max_pool2d(x, kernel, stride)
    assert ours.shape == theirs.shape
    assert torch.equal(ours, theirs)
    up = torch.randn(theirs.shape, generator=gen)  # random inputs: no ties, one max per window
    g_ours, = torch.autograd.grad((ours * up).sum(), x)
    g_theirs, = torch.autograd.grad((theirs * up).sum(), x)
    assert torch.allclose(g_ours, g_theirs)


def test_network_shapes():
    model = cnn.DigitCNN(5, 7, torch.Generator().manual_seed(0))
    assert model(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
    assert model.conv1.weight.shape == (5, 1, 3, 3) and model.conv2.weight.shape == (7, 5, 3, 3)


def test_learns_the_digits_quickly():
    result = cnn.run(cnn.Config(**FAST))
    assert result.metrics["test_accuracy"] >= 0.85
    assert result.history["loss"][-1] < 0.5 * result.history["loss"][0]


@pytest.mark.slow
def test_default_config_learns_the_digits_well():
    result = cnn.run(cnn.Config())
    assert result.metrics["test_accuracy"] >= 0.95
    assert result.metrics["final_loss"] < 0.2


def test_held_out_split_is_fixed_by_the_seed_and_disjoint():
    def split(seed):
        return cnn.load_digits_split(cnn.Config(seed=seed), torch.Generator().manual_seed(seed))

    x_tr, _, x_te, y_te = split(5)
    assert len(x_tr) + len(x_te) == 1797 and len(x_te) == int(1797 * 0.25)
    assert torch.equal(y_te, split(5)[3]) and not torch.equal(y_te, split(6)[3])
    assert x_tr.shape[1:] == (1, 8, 8) and float(x_tr.max()) <= 1.0


def test_returns_png_figures_and_names_its_lesson():
    result = cnn.run(cnn.Config(epochs=1, channels1=3, channels2=4))
    assert {f.name for f in result.figures} >= {"filters", "predictions"}
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 12 (Convolutional neural networks)" in result.explanation
    assert result.lesson == cnn.LESSON and result.lesson.endswith("12-convolutional-neural-networks.md")
    assert set(result.metrics) >= {"test_accuracy", "final_loss"}
    assert all(isinstance(v, float) for v in result.metrics.values())


@pytest.mark.parametrize(("field", "value"), [
    ("epochs", 0), ("epochs", 1000), ("channels1", 0), ("channels2", 64), ("batch_size", 1),
    ("learning_rate", 0), ("test_fraction", 0.9), ("seed", -1),
])
def test_out_of_range_parameters_are_refused(field, value):
    with pytest.raises(ValidationError, match=field):
        cnn.Config(**{field: value})
