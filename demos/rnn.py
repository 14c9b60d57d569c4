"""An Elman recurrent network (Elman, 1990, "Finding Structure in Time") forecasting a sine wave.

The cell is written out: at every time step it mixes the current input with its own
previous hidden state, h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), and the same weights are
reused at every step. Unrolled over windows of a noisy sine wave and trained with
back-propagation through time (autograd through the unrolled loop), a linear read-out of
h_t learns to predict the next value. Because the hidden state summarises many past values
it averages the noise away, which a "repeat the last value" forecast cannot (lesson 13).
"""

from __future__ import annotations

import math
from dataclasses import dataclass as plain_dataclass

import torch
from pydantic import Field
from pydantic.dataclasses import dataclass
from torch import nn

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/13-recurrent-neural-networks.md"
DESCRIPTION = (
    "An Elman RNN, written out step by step, learns to predict the next value of a noisy sine."
)

SERIES_LENGTH = 2000  # values in the generated series
TEST_FRACTION = 0.2  # the last fifth is held out


@dataclass(frozen=True)
class Config:
    period: float = Field(25.0, ge=4, le=200, description="time steps per cycle of the sine wave")
    noise: float = Field(0.1, ge=0, le=0.5, description="std of the Gaussian noise on each value")
    hidden_size: int = Field(32, ge=2, le=64, description="units in the hidden state h_t")
    seq_len: int = Field(30, ge=5, le=60,
                         description="time steps unrolled per training window (BPTT length)")
    steps: int = Field(300, ge=1, le=1000, description="optimiser steps (one batch each)")
    batch_size: int = Field(32, ge=1, le=64, description="windows per training batch")
    learning_rate: float = Field(0.01, gt=0, le=0.1, description="Adam step size")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for noise, batches, weights")


def _uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator | None) -> nn.Parameter:
    """A parameter drawn from U(−bound, bound), the way nn.RNN and nn.Linear initialise."""
    return nn.Parameter((torch.rand(shape, generator=gen) * 2 - 1) * bound)


class ElmanCell(nn.Module):
    """One time step: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)."""

    def __init__(self, input_size: int, hidden_size: int, generator: torch.Generator | None = None):
        super().__init__()
        k = 1 / math.sqrt(hidden_size)
        self.W_xh = _uniform((hidden_size, input_size), k, generator)  # (H, I) input → hidden
        self.W_hh = _uniform((hidden_size, hidden_size), k, generator)  # (H, H) the recurrence
        self.b = _uniform((hidden_size,), k, generator)  # (H,) one bias (nn.RNN keeps two)

    def forward(self, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        # (B, I) @ (I, H) + (B, H) @ (H, H) + (H,) → (B, H), squashed into (−1, 1)
        return torch.tanh(x_t @ self.W_xh.T + h_prev @ self.W_hh.T + self.b)


class ElmanRNN(nn.Module):
    """The cell unrolled over time, and a read-out ŷ_t = W_hy h_t + b_y at every step."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = ElmanCell(input_size, hidden_size, generator)
        k = 1 / math.sqrt(hidden_size)
        self.W_hy = _uniform((output_size, hidden_size), k, generator)  # (O, H)
        self.b_y = _uniform((output_size,), k, generator)  # (O,)

    def unroll(self, x: torch.Tensor, h0: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """All hidden states (B, T, H) and the last one (B, H) for inputs x (B, T, I)."""
        B, T, _ = x.shape  # batch, time, input features
        h = x.new_zeros(B, self.hidden_size) if h0 is None else h0  # h_0 = 0: nothing seen yet
        states = []
        for t in range(T):  # the same cell, the same weights, at every step
            h = self.cell(x[:, t], h)  # h_t = f(x_t, h_{t-1})
            states.append(h)
        return torch.stack(states, dim=1), h  # (B, T, H), (B, H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs, _ = self.unroll(x)  # (B, T, H)
        return hs @ self.W_hy.T + self.b_y  # (B, T, O): a prediction after every input


def make_series(config: Config, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean wave s_t and what the network sees, x_t = s_t + ε_t, both (SERIES_LENGTH,)."""
    t = torch.arange(SERIES_LENGTH, dtype=torch.float32)
    clean = torch.sin(2 * math.pi * t / config.period)  # s_t = sin(2π t / period)
    noisy = clean + config.noise * torch.randn(SERIES_LENGTH, generator=gen)  # ε_t ~ N(0, σ²)
    return clean, noisy


def windows(series: torch.Tensor, starts: torch.Tensor, length: int
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x_s..x_{s+T-1} and next-value targets x_{s+1}..x_{s+T}, each (N, T, 1)."""
    idx = starts[:, None] + torch.arange(length + 1)[None, :]  # (N, T + 1) positions
    seq = series[idx]  # (N, T + 1)
    return seq[:, :-1, None], seq[:, 1:, None]


@plain_dataclass
class Trained:
    model: ElmanRNN
    losses: list[float]  # training MSE per step
    clean: torch.Tensor  # (SERIES_LENGTH,)
    noisy: torch.Tensor  # (SERIES_LENGTH,)
    test_start: int  # first held-out index
    predictions: torch.Tensor  # (n_test,) one-step-ahead forecasts of noisy[test_start:]


def train(config: Config, cancel: CancelCheck | None = None) -> Trained:
    gen = seeded(config.seed)
    clean, noisy = make_series(config, gen)
    test_start = int(SERIES_LENGTH * (1 - TEST_FRACTION))
    model = ElmanRNN(1, config.hidden_size, 1, generator=gen)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    last_start = test_start - config.seq_len - 1  # windows stay inside the training stretch
    losses: list[float] = []
    for _ in range(config.steps):
        check_cancel(cancel)
        starts = torch.randint(0, last_start + 1, (config.batch_size,), generator=gen)  # (B,)
        x, y = windows(noisy, starts, config.seq_len)  # (B, T, 1) each
        loss = ((model(x) - y) ** 2).mean()  # MSE over every step of every window
        optimiser.zero_grad()
        loss.backward()  # back-propagation through time: the gradient flows back along h_t
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # cap exploding gradients
        optimiser.step()
        losses.append(loss.item())

    # Each held-out value x_i is forecast from the seq_len values before it, as in training.
    targets = torch.arange(test_start, SERIES_LENGTH)  # (n_test,) indices to predict
    with torch.no_grad():
        x, _ = windows(noisy, targets - config.seq_len, config.seq_len)  # (n_test, T, 1)
        predictions = model(x)[:, -1, 0]  # (n_test,) the read-out after the last input
    return Trained(model, losses, clean, noisy, test_start, predictions)


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    out = train(config, cancel)
    start, noisy, clean, pred = out.test_start, out.noisy, out.clean, out.predictions
    target = noisy[start:]  # (n_test,)
    test_mse = float(((pred - target) ** 2).mean())
    last_value_mse = float(((noisy[start - 1:-1] - target) ** 2).mean())  # ŷ_t = x_{t-1}
    zero_mse = float((target ** 2).mean())  # ŷ_t = 0
    noise_floor = float(((clean[start:] - target) ** 2).mean())  # a perfect ŷ_t = s_t

    def draw_predictions(fig):
        ax = fig.add_subplot()
        n = min(150, len(target))
        t = range(start, start + n)
        ax.plot(t, clean[start:start + n].numpy(), color="0.6", lw=1, label="clean sine")
        ax.plot(t, target[:n].numpy(), ".", color="k", ms=3, label="noisy target")
        ax.plot(t, pred[:n].numpy(), color="C3", lw=1.5, label="RNN forecast")
        ax.set(xlabel="time step (held out)", ylabel="value", ylim=(-1.6, 1.9))
        ax.legend(fontsize=7, loc="upper center", ncol=3)

    def draw_loss(fig):
        ax = fig.add_subplot()
        ax.plot(range(1, len(out.losses) + 1), out.losses, lw=1, label="training MSE")
        ax.axhline(last_value_mse, color="C1", ls="--", lw=1, label="repeat last value")
        ax.axhline(noise_floor, color="0.5", ls=":", lw=1, label="noise floor")
        ax.set(xlabel="step", ylabel="mean squared error", yscale="log")
        ax.legend(fontsize=7)

    figures = [
        render(draw_predictions, name="predictions", title="Next-value forecasts, held-out stretch",
               size=(6.0, 3.5)),
        render(draw_loss, name="loss", title="Training loss"),
    ]
    what = (f"An Elman RNN with {config.hidden_size} hidden units forecasts the next value of "
            f"the held-out noisy sine with MSE {test_mse:.4f}, against {last_value_mse:.4f} for "
            f"repeating the last value, {zero_mse:.3f} for predicting zero and a noise floor of "
            f"{noise_floor:.4f}.")
    return DemoResult(
        demo="rnn",
        metrics={"test_mse": test_mse, "last_value_mse": last_value_mse, "zero_mse": zero_mse,
                 "noise_floor_mse": noise_floor, "final_train_loss": out.losses[-1]},
        figures=figures,
        explanation=what + " Lesson 13 (Recurrent neural networks) explains the hidden state "
                           "h_t = tanh(W x_t + U h_{t-1} + b) that carries the past forward and "
                           "the back-propagation through time that trains it.",
        lesson=LESSON,
        history={"loss": out.losses},
    )
