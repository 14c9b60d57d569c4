"""Denoising diffusion probabilistic models (Ho, Jain & Abbeel, 2020) on a 2-D swiss roll.

The forward process adds a little Gaussian noise at each of T steps,
x_t = √(1 − β_t) x_{t−1} + √β_t ε_t, until the data are indistinguishable from N(0, I); its
closed form x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε jumps to any step at once. A small network
ε_θ(x_t, t) learns to predict the noise ε that was mixed in, with a plain squared error, and
sampling runs the chain backwards from pure noise, removing a little predicted noise per step.
As in labml's annotated implementation, the algorithm (``DDPM``: the schedule, ``q_sample``,
``p_sample``, ``loss``) is kept apart from the network, ``NoisePredictor`` (lesson 18).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from pydantic import Field
from pydantic.dataclasses import dataclass
from torch import nn

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/18-diffusion-models.md"
DESCRIPTION = (
    "A denoising diffusion model learns to turn Gaussian noise into a 2-D swiss roll, "
    "one small denoising step at a time."
)

N_DATA = 2000  # points in the swiss-roll training set
N_SAMPLES = 1000  # points generated to measure and plot the model


@dataclass(frozen=True)
class Config:
    n_steps: int = Field(100, ge=50, le=1000,
                         description="diffusion steps T (β is rescaled so ᾱ_T stays near 0)")
    train_steps: int = Field(3000, ge=1, le=5000, description="gradient steps on the noise loss")
    batch_size: int = Field(256, ge=8, le=512, description="points per gradient step")
    hidden: int = Field(96, ge=16, le=192, description="width of the noise predictor")
    learning_rate: float = Field(2e-3, gt=0, le=0.1, description="Adam step size")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for data, noise and weights")


def swiss_roll(n: int, seed: int) -> torch.Tensor:
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(n, noise=0.3, random_state=seed)  # (n, 3); the roll is in x, z
    x = torch.tensor(points[:, [0, 2]], dtype=torch.float32)  # (n, 2)
    return (x - x.mean(0)) / x.std()  # centred, unit overall scale, like the N(0, I) it meets


class NoisePredictor(nn.Module):
    """ε_θ(x_t, t): a noisy point (B, 2) and its step (B,) → the predicted noise (B, 2)."""

    def __init__(self, n_steps: int, hidden: int, time_dim: int = 32):
        super().__init__()
        self.n_steps, self.time_dim = n_steps, time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU())
        self.inp = nn.Linear(2, hidden)
        self.body = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                  nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def time_embedding(self, t: torch.Tensor) -> torch.Tensor:
        # sinusoidal embedding, as for transformer positions: [sin(t ω_k), cos(t ω_k)],
        # ω_k = 1000^(−k/(d/2)) with t rescaled to 0…1000 whatever T is: (B, time_dim)
        half = self.time_dim // 2
        freqs = torch.exp(-math.log(1000.0) * torch.arange(half) / half)  # (half,)
        angles = (t.float() * (1000.0 / self.n_steps))[:, None] * freqs[None]  # (B, half)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.inp(x) + self.time_mlp(self.time_embedding(t))  # (B, hidden) point + step
        return self.body(h)  # (B, 2)


class DDPM:
    """The diffusion algorithm around any noise predictor ``eps_model(x_t, t)``.

    Steps are indexed t = 0 … T−1 in code; the paper's step t is code index t − 1.
    """

    def __init__(self, eps_model: nn.Module, n_steps: int):
        self.eps_model, self.n_steps = eps_model, n_steps
        # linear β schedule: Ho et al. use 1e-4 … 0.02 over T = 1000; for fewer steps both
        # ends are scaled by 1000/T so that Σβ, and hence how far the data diffuse, is the same
        scale = 1000 / n_steps
        self.beta = torch.linspace(1e-4 * scale, 0.02 * scale, n_steps)  # (T,) β_t
        self.alpha = 1 - self.beta  # (T,) α_t = 1 − β_t
        # ᾱ_t = ∏_{s≤t} (1 − β_s): how much of x_0 survives at step t
        self.alpha_bar = torch.cumprod(self.alpha, dim=0)  # (T,)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Jump to step t of the forward process in one go."""
        a_bar = self.alpha_bar[t][:, None]  # (B, 1)
        # x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε,  ε ~ N(0, I)
        return a_bar.sqrt() * x0 + (1 - a_bar).sqrt() * eps  # (B, 2)

    @torch.no_grad()
    def p_sample(self, xt: torch.Tensor, t: int, generator: torch.Generator) -> torch.Tensor:
        """One reverse step x_t → x_{t−1} with the learned noise estimate."""
        step = torch.full((len(xt),), t, dtype=torch.long)  # (B,)
        eps_hat = self.eps_model(xt, step)  # (B, 2) ε_θ(x_t, t)
        beta, alpha, a_bar = self.beta[t], self.alpha[t], self.alpha_bar[t]
        # μ_θ = 1/√α_t · (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t))
        mean = (xt - beta / (1 - a_bar).sqrt() * eps_hat) / alpha.sqrt()
        if t == 0:
            return mean  # the last step adds no noise
        # x_{t−1} = μ_θ + σ_t z, z ~ N(0, I), with σ_t² = β_t (the paper's simpler choice)
        return mean + beta.sqrt() * torch.randn(xt.shape, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator,
               keep: tuple[int, ...] = ()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Run the whole reverse chain from x_T ~ N(0, I); also return x_t for t in ``keep``."""
        x = torch.randn(n, 2, generator=generator)  # (n, 2) x_T
        chain = {self.n_steps: x} if self.n_steps in keep else {}
        for t in reversed(range(self.n_steps)):
            x = self.p_sample(x, t, generator)  # now x is x_t in the paper's 1-based counting
            if t in keep:
                chain[t] = x
        return x, chain

    def loss(self, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """L_simple = E_{t, x_0, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖²."""
        t = torch.randint(self.n_steps, (len(x0),), generator=generator)  # (B,) uniform steps
        eps = torch.randn(x0.shape, generator=generator)  # (B, 2) the noise to recover
        xt = self.q_sample(x0, t, eps)  # (B, 2)
        return (eps - self.eps_model(xt, t)).pow(2).sum(dim=1).mean()


class Trained(NamedTuple):
    ddpm: DDPM
    data: torch.Tensor  # (N_DATA, 2)
    history: dict[str, list[float]]


def train(config: Config, cancel: CancelCheck | None = None) -> Trained:
    gen = seeded(config.seed)
    data = swiss_roll(N_DATA, config.seed)
    ddpm = DDPM(NoisePredictor(config.n_steps, config.hidden), config.n_steps)
    opt = torch.optim.Adam(ddpm.eps_model.parameters(), lr=config.learning_rate)
    losses: list[float] = []
    for _ in range(config.train_steps):
        check_cancel(cancel)
        x0 = data[torch.randint(len(data), (config.batch_size,), generator=gen)]  # (B, 2)
        loss = ddpm.loss(x0, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return Trained(ddpm, data, {"loss": losses})


def nearest_distance(points: torch.Tensor, data: torch.Tensor) -> float:
    return float(torch.cdist(points, data).min(dim=1).values.mean())  # mean over points


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    t = train(config, cancel)
    ddpm, data, T = t.ddpm, t.data, config.n_steps
    gen = torch.Generator().manual_seed(config.seed + 1)  # noise for sampling and figures
    # most of the structure is made in the last few steps, so the panels crowd towards t = 0
    shown = (T, T // 4, T // 10, T // 20, T // 40, 0)  # reverse-chain steps to draw
    samples, chain = ddpm.sample(N_SAMPLES, gen, keep=shown)
    noise = torch.randn(N_SAMPLES, 2, generator=gen)  # the same number of pure noise points
    sample_distance, noise_distance = nearest_distance(samples, data), nearest_distance(noise, data)
    last = max(1, config.train_steps // 10)  # average the noisy per-step losses: last 10%
    final_loss = sum(t.history["loss"][-last:]) / last
    lim = 3.2

    def panels(fig, clouds: list[tuple[str, torch.Tensor]]):
        for i, (title, pts) in enumerate(clouds):
            ax = fig.add_subplot(1, len(clouds), i + 1)
            ax.scatter(*pts.numpy().T, s=2, alpha=0.5, c="#1c7ed6")
            ax.set(title=title, xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal",
                   xticks=[], yticks=[])

    def draw_forward(fig):
        x0 = data[:N_SAMPLES]
        clouds = [("x₀ (data)", x0)]
        for s in (T // 40, T // 20, T // 10, T // 4, T):
            idx = torch.full((len(x0),), s - 1, dtype=torch.long)  # step s is code index s − 1
            xt = ddpm.q_sample(x0, idx, torch.randn(x0.shape, generator=gen))
            clouds.append((f"t = {s}, ᾱ = {float(ddpm.alpha_bar[s - 1]):.3f}", xt))
        panels(fig, clouds)

    def draw_reverse(fig):
        panels(fig, [(f"t = {s}" if s else "t = 0 (sample)", chain[s]) for s in shown])

    def draw_result(fig):
        ax = fig.add_subplot(1, 2, 1)
        ax.scatter(*data.numpy().T, s=2, c="#9aa5b1", alpha=0.5, label="data")
        ax.scatter(*samples.numpy().T, s=2, c="#d9480f", alpha=0.6, label="generated")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title="samples vs data")
        ax.legend(fontsize=7, markerscale=4)
        ax = fig.add_subplot(1, 2, 2)
        ax.plot(t.history["loss"], color="#c5cbd3", lw=0.6)
        ax.set(xlabel="training step", ylabel="‖ε − ε_θ‖²", yscale="log", title="noise loss")

    figures = [
        render(draw_forward, name="forward_noising",
               title="Forward process: the swiss roll dissolving into noise", size=(12.0, 2.9)),
        render(draw_reverse, name="reverse_chain",
               title="Reverse process: noise denoised step by step", size=(14.0, 2.9)),
        render(draw_result, name="samples", title="Generated points and the training loss",
               size=(9.0, 4.0)),
    ]
    what = (f"After {config.train_steps} training steps the {T}-step reverse chain turns "
            f"Gaussian noise into points that lie {sample_distance:.3f} from the nearest "
            f"swiss-roll point on average, against {noise_distance:.3f} for the noise itself.")
    return DemoResult(
        demo="ddpm",
        metrics={"final_loss": final_loss, "sample_nearest_distance": sample_distance,
                 "noise_nearest_distance": noise_distance,
                 "alpha_bar_T": float(ddpm.alpha_bar[-1])},
        figures=figures,
        explanation=what + (" Lesson 18 (Diffusion models) explains the forward noising, the "
                            "closed form with ᾱ_t and the learned reverse process."),
        lesson=LESSON,
        history=t.history,
    )
