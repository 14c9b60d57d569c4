import pytest
import torch
from pydantic import ValidationError
from torch import nn

from demos import rnn

SMALL = dict(hidden_size=16, seq_len=20, steps=150, batch_size=16)


def _copy_from_torch(ours: rnn.ElmanRNN, reference: nn.RNN) -> None:
    with torch.no_grad():
        ours.cell.W_xh.copy_(reference.weight_ih_l0)
        ours.cell.W_hh.copy_(reference.weight_hh_l0)
        ours.cell.b.copy_(reference.bias_ih_l0 + reference.bias_hh_l0)  # nn.RNN adds two biases


def test_unrolled_cell_matches_torch_rnn():
    torch.manual_seed(0)
    reference = nn.RNN(3, 5, nonlinearity="tanh", batch_first=True)
    ours = rnn.ElmanRNN(3, 5, 1)
    _copy_from_torch(ours, reference)
    x = torch.randn(4, 7, 3)
    h0 = torch.randn(4, 5)
    hs, h_last = ours.unroll(x, h0)
    expected, h_n = reference(x, h0[None])
    assert torch.allclose(hs, expected, atol=1e-6)
    assert torch.allclose(h_last, h_n[0], atol=1e-6)


def test_one_cell_step_is_the_elman_update():
    # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), checked against the formula written with torch.
    cell = rnn.ElmanCell(2, 3, generator=torch.Generator().manual_seed(1))
    x, h = torch.randn(5, 2), torch.randn(5, 3)
    expected = torch.tanh(torch.addmm(cell.b, x, cell.W_xh.T) + h @ cell.W_hh.T)
    assert torch.allclose(cell(x, h), expected, atol=1e-6)


def test_learns_to_forecast_the_noisy_sine():
    result = rnn.run(rnn.Config(**SMALL))
    m = result.metrics
    assert m["test_mse"] < 0.1 * m["zero_mse"]  # far better than predicting zero
    assert m["test_mse"] < 0.6 * m["last_value_mse"]  # and clearly better than repeating x_{t-1}
    losses = result.history["loss"]
    assert sum(losses[-10:]) / 10 < 0.2 * losses[0]


def test_returns_png_figures_and_names_its_lesson():
    result = rnn.run(rnn.Config(**{**SMALL, "steps": 5}))
    assert result.figures and all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 13" in result.explanation and result.lesson.endswith("13-recurrent-neural-networks.md")
    assert result.explanation.count(". ") == 1 and result.explanation.endswith(".")


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="hidden_size"):
        rnn.Config(hidden_size=0)
    with pytest.raises(ValidationError, match="seq_len"):
        rnn.Config(seq_len=1000)
    with pytest.raises(ValidationError, match="noise"):
        rnn.Config(noise=-0.1)


@pytest.mark.slow
def test_default_config_beats_the_baselines():
    m = rnn.run(rnn.Config()).metrics
    assert m["test_mse"] < 0.5 * m["last_value_mse"]
    assert m["test_mse"] < 2 * m["noise_floor_mse"]
