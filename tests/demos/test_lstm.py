import pytest
import torch
from pydantic import ValidationError
from torch import nn

from demos import lstm

SMALL = dict(delay=3, seq_len=12, hidden_size=16, steps=200, batch_size=16, learning_rate=0.02)


def _copy_from_torch(ours: lstm.LSTM, reference: nn.LSTM) -> None:
    with torch.no_grad():  # both stack the gate blocks as i, f, g, o
        ours.cell.W_x.copy_(reference.weight_ih_l0)
        ours.cell.W_h.copy_(reference.weight_hh_l0)
        ours.cell.b.copy_(reference.bias_ih_l0 + reference.bias_hh_l0)  # nn.LSTM adds two biases


@pytest.mark.parametrize("with_state", [False, True])
def test_unrolled_cell_matches_torch_lstm(with_state):
    torch.manual_seed(0)
    reference = nn.LSTM(3, 5, batch_first=True)
    ours = lstm.LSTM(3, 5)
    _copy_from_torch(ours, reference)
    x = torch.randn(4, 9, 3)
    state = (torch.randn(4, 5), torch.randn(4, 5)) if with_state else None
    outputs, (h, c), gates = ours(x, state)
    expected, (h_n, c_n) = reference(x, tuple(s[None] for s in state) if state else None)
    assert torch.allclose(outputs, expected, atol=1e-6)
    assert torch.allclose(h, h_n[0], atol=1e-6)
    assert torch.allclose(c, c_n[0], atol=1e-6)
    assert set(gates) == {"input", "forget", "output"}
    assert all(g.shape == (4, 9, 5) and g.min() >= 0 and g.max() <= 1 for g in gates.values())


def test_closed_forget_gate_and_open_input_gate_overwrite_the_cell():
    # With f ≈ 0 and i ≈ 1 the old cell state is dropped: c_t = g = tanh(z_g).
    cell = lstm.LSTMCell(2, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cell.b[0:3], cell.b[3:6] = 50.0, -50.0  # i → 1, f → 0
    x, h, c = torch.randn(4, 2), torch.randn(4, 3), torch.randn(4, 3)
    (_, c_new), (i, f, _) = cell(x, (h, c))
    z_g = x @ cell.W_x[6:9].T + h @ cell.W_h[6:9].T + cell.b[6:9]
    assert torch.allclose(c_new, torch.tanh(z_g), atol=1e-6)
    assert torch.allclose(f, torch.zeros_like(f)) and torch.allclose(i, torch.ones_like(i))


def test_learns_to_recall_the_delayed_input():
    result = lstm.run(lstm.Config(**SMALL))
    m = result.metrics
    assert m["test_mse"] < 0.05 * m["zero_mse"]  # memory, not a guess: zero_mse ≈ 1/3
    losses = result.history["loss"]
    assert sum(losses[-10:]) / 10 < 0.05 * losses[0]


def test_returns_png_figures_and_names_its_lesson():
    result = lstm.run(lstm.Config(**{**SMALL, "steps": 5}))
    assert result.figures and all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 14" in result.explanation
    assert result.lesson.endswith("14-long-short-term-memory.md")
    assert result.explanation.count(". ") == 1 and result.explanation.endswith(".")


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="hidden_size"):
        lstm.Config(hidden_size=0)
    with pytest.raises(ValidationError, match="delay"):
        lstm.Config(delay=21)
    with pytest.raises(ValidationError, match="seq_len"):
        lstm.Config(delay=10, seq_len=12)  # nothing left to recall


@pytest.mark.slow
def test_default_config_recalls_eight_steps_back():
    m = lstm.run(lstm.Config()).metrics
    assert m["test_mse"] < 0.02 * m["zero_mse"]
