"""Long short-term memory (Hochreiter & Schmidhuber, 1997; forget gate: Gers et al., 2000).

The cell is written out: a separate cell state c_t runs alongside the hidden state, and
three sigmoid gates decide, per unit, what to forget from it (f), what to write into it
(i, scaling a tanh candidate g) and what to reveal of it (o):
c_t = f ⊙ c_{t-1} + i ⊙ g and h_t = o ⊙ tanh(c_t). The task needs memory and nothing else:
the input is random noise u_t and the target is the value seen ``delay`` steps earlier,
u_{t-d}, so the only way below "predict zero" (MSE ≈ 1/3) is to store each value and hold
it for d steps. The gates are stacked in nn.LSTM's order (i, f, g, o), so nn.LSTM with
the same weights is the test oracle (lesson 14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass as plain_dataclass

import torch
from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass
from torch import nn

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/14-long-short-term-memory.md"
DESCRIPTION = (
    "An LSTM, gates written out, learns to recall the input it saw a fixed number of steps ago."
)

N_TEST = 256  # held-out sequences, drawn after training


@dataclass(frozen=True)
class Config:
    delay: int = Field(8, ge=1, le=20,
                       description="steps d the network must remember: y_t = u_{t-d}")
    seq_len: int = Field(30, ge=5, le=60, description="time steps per sequence (BPTT length)")
    hidden_size: int = Field(32, ge=2, le=64, description="units in h_t and in the cell state c_t")
    steps: int = Field(400, ge=1, le=1000, description="optimiser steps (one batch each)")
    batch_size: int = Field(32, ge=1, le=64, description="sequences per training batch")
    learning_rate: float = Field(0.01, gt=0, le=0.1, description="Adam step size")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for inputs and weights")

    @model_validator(mode="after")
    def _sequence_outlasts_delay(self) -> Config:
        if self.seq_len < self.delay + 5:
            raise ValueError(f"seq_len must be at least delay + 5 so there is something to "
                             f"recall, got seq_len={self.seq_len}, delay={self.delay}")
        return self


def _uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator | None) -> nn.Parameter:
    """A parameter drawn from U(−bound, bound), the way nn.LSTM and nn.Linear initialise."""
    return nn.Parameter((torch.rand(shape, generator=gen) * 2 - 1) * bound)


class LSTMCell(nn.Module):
    """One time step of an LSTM, the four gate blocks stacked as i, f, g, o (nn.LSTM's order)."""

    def __init__(self, input_size: int, hidden_size: int, generator: torch.Generator | None = None):
        super().__init__()
        H, k = hidden_size, 1 / math.sqrt(hidden_size)
        self.W_x = _uniform((4 * H, input_size), k, generator)  # (4H, I) input → gates
        self.W_h = _uniform((4 * H, H), k, generator)  # (4H, H) previous h → gates
        self.b = _uniform((4 * H,), k, generator)  # (4H,) one bias (nn.LSTM keeps two)
        with torch.no_grad():
            self.b[H:2 * H] = 1.0  # forget-gate bias 1: σ(1) ≈ 0.73, remember by default

    def forward(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h_prev, c_prev = state  # (B, H) each
        z = x_t @ self.W_x.T + h_prev @ self.W_h.T + self.b  # (B, 4H) all pre-activations at once
        z_i, z_f, z_g, z_o = z.chunk(4, dim=1)  # (B, H) each
        i = torch.sigmoid(z_i)  # input gate: how much of the candidate to write
        f = torch.sigmoid(z_f)  # forget gate: how much of the old cell state to keep
        g = torch.tanh(z_g)  # candidate values in (−1, 1)
        o = torch.sigmoid(z_o)  # output gate: how much of the cell to reveal
        c = f * c_prev + i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g: additive, so gradients survive
        h = o * torch.tanh(c)  # h_t = o ⊙ tanh(c_t)
        return (h, c), (i, f, o)


class LSTM(nn.Module):
    """The cell unrolled over a batch of sequences, like ``nn.LSTM(batch_first=True)``."""

    def __init__(self, input_size: int, hidden_size: int, generator: torch.Generator | None = None):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = LSTMCell(input_size, hidden_size, generator)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """Outputs h_1..h_T (B, T, H), the final (h_T, c_T), and the gates {name: (B, T, H)}."""
        B, T, _ = x.shape  # batch, time, input features
        if state is None:
            zeros = x.new_zeros(B, self.hidden_size)
            state = (zeros, zeros)  # h_0 = c_0 = 0
        outputs, gates = [], []
        for t in range(T):  # one cell, the same weights at every step
            state, step_gates = self.cell(x[:, t], state)
            outputs.append(state[0])
            gates.append(torch.stack(step_gates))  # (3, B, H): i, f, o
        g = torch.stack(gates, dim=2)  # (3, B, T, H)
        named = {"input": g[0], "forget": g[1], "output": g[2]}
        return torch.stack(outputs, dim=1), state, named


class Recaller(nn.Module):
    """LSTM → linear read-out: ŷ_t = W_hy h_t + b_y, a guess at u_{t-d} after every input."""

    def __init__(self, hidden_size: int, generator: torch.Generator | None = None):
        super().__init__()
        self.lstm = LSTM(1, hidden_size, generator)
        k = 1 / math.sqrt(hidden_size)
        self.W_hy = _uniform((1, hidden_size), k, generator)  # (1, H)
        self.b_y = _uniform((1,), k, generator)  # (1,)

    def forward(self, u: torch.Tensor):
        hs, _, gates = self.lstm(u)  # (B, T, H)
        return hs @ self.W_hy.T + self.b_y, gates  # (B, T, 1)


def make_batch(n: int, config: Config, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs u (n, T, 1) ~ U(−1, 1) and targets y_t = u_{t-d} for t ≥ d, (n, T − d, 1)."""
    u = torch.rand(n, config.seq_len, 1, generator=gen) * 2 - 1  # (n, T, 1)
    return u, u[:, :config.seq_len - config.delay]  # u_0..u_{T-d-1}, due at t = d..T-1


@plain_dataclass
class Trained:
    model: Recaller
    losses: list[float]  # training MSE per step
    test_u: torch.Tensor  # (N_TEST, T, 1) held-out inputs
    test_y: torch.Tensor  # (N_TEST, T − d, 1) their targets
    test_pred: torch.Tensor  # (N_TEST, T, 1) the model's read-out at every step
    test_gates: dict[str, torch.Tensor]  # {name: (N_TEST, T, H)}


def train(config: Config, cancel: CancelCheck | None = None) -> Trained:
    gen = seeded(config.seed)
    d = config.delay
    model = Recaller(config.hidden_size, generator=gen)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    losses: list[float] = []
    for _ in range(config.steps):
        check_cancel(cancel)
        u, y = make_batch(config.batch_size, config, gen)  # fresh random sequences each step
        pred, _ = model(u)  # (B, T, 1)
        loss = ((pred[:, d:] - y) ** 2).mean()  # only steps t ≥ d have a value to recall
        optimiser.zero_grad()
        loss.backward()  # back-propagation through time
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(loss.item())
    test_u, test_y = make_batch(N_TEST, config, gen)  # sequences the model never trained on
    with torch.no_grad():
        test_pred, test_gates = model(test_u)
    return Trained(model, losses, test_u, test_y, test_pred, test_gates)


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    out = train(config, cancel)
    d, T = config.delay, config.seq_len
    test_mse = float(((out.test_pred[:, d:] - out.test_y) ** 2).mean())
    zero_mse = float((out.test_y ** 2).mean())  # ŷ = 0, the best guess without memory (≈ 1/3)
    gates = {name: g[0].T.numpy() for name, g in out.test_gates.items()}  # (H, T), one sequence
    mean_forget = float(out.test_gates["forget"].mean())

    def draw_recall(fig):
        ax = fig.add_subplot()
        u, y, pred = (z[0, :, 0].numpy() for z in (out.test_u, out.test_y, out.test_pred))
        ax.axvspan(-0.5, d - 0.5, color="0.92", label="nothing to recall yet")
        ax.plot(range(T), u, color="0.6", lw=1, marker=".", label="input u_t")
        ax.plot(range(d, T), y, "o", mfc="none", color="k", label=f"target u_(t-{d})")
        ax.plot(range(T), pred, color="C3", lw=1.5, label="LSTM output")
        ax.set(xlabel="time step t", ylabel="value", ylim=(-1.6, 1.9))
        ax.legend(fontsize=7, loc="upper right", ncol=2)

    def draw_gates(fig):
        axes = fig.subplots(3, 1, sharex=True)
        for ax, (name, g) in zip(axes, gates.items(), strict=True):
            image = ax.imshow(g, aspect="auto", vmin=0, vmax=1, cmap="viridis",
                              interpolation="nearest")
            ax.set_ylabel(f"{name}\nunit", fontsize=8)
            fig.colorbar(image, ax=ax, pad=0.02)
        axes[-1].set_xlabel("time step t (gate value: 0 = closed, 1 = open)")

    def draw_loss(fig):
        ax = fig.add_subplot()
        ax.plot(range(1, len(out.losses) + 1), out.losses, lw=1, label="training MSE")
        ax.axhline(zero_mse, color="C1", ls="--", lw=1, label="predict zero")
        ax.set(xlabel="step", ylabel="mean squared error", yscale="log")
        ax.legend(fontsize=7)

    figures = [
        render(draw_recall, name="recall", title=f"Recalling the input from {d} steps ago",
               size=(6.0, 3.5)),
        render(draw_gates, name="gates", title="Gate activations on one held-out sequence",
               size=(6.0, 5.0)),
        render(draw_loss, name="loss", title="Training loss"),
    ]
    what = (f"An LSTM with {config.hidden_size} units recalls the input from {d} steps earlier "
            f"with held-out MSE {test_mse:.4f}, against {zero_mse:.3f} for the best guess "
            f"without memory (predicting zero).")
    return DemoResult(
        demo="lstm",
        metrics={"test_mse": test_mse, "zero_mse": zero_mse, "final_train_loss": out.losses[-1],
                 "mean_forget_gate": mean_forget},
        figures=figures,
        explanation=what + " Lesson 14 (Long short-term memory) explains the forget, input and "
                           "output gates and the additive cell state that let it hold a value "
                           "this long.",
        lesson=LESSON,
        history={"loss": out.losses},
    )
