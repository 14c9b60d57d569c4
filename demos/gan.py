"""A generative adversarial network (Goodfellow et al., 2014) on a ring of 2-D Gaussians.

Two small MLPs play a game. The generator G turns noise z ~ N(0, I) into points in the
plane; the discriminator D gives each point a logit for "this one is real". D is trained as
an ordinary real-vs-fake classifier; G is trained to make D call its points real, with the
paper's non-saturating loss −log D(G(z)) in place of log(1 − D(G(z))), which gives G strong
gradients exactly while its fakes are still poor. The data are a few Gaussian blobs on a
circle, so one can watch the fakes spread out over the modes, or collapse onto some of them,
and D's accuracy sink towards the coin flip that marks a good generator (lesson 16).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from pydantic import Field
from pydantic.dataclasses import dataclass
from torch import nn

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/16-generative-adversarial-networks.md"
DESCRIPTION = (
    "A GAN's generator learns to imitate a ring of 2-D Gaussian blobs by fooling a discriminator."
)

RADIUS = 2.0  # the blobs' centres lie on a circle of this radius around the origin
MODE_STD = 0.1  # each blob's standard deviation
N_EVAL = 1000  # points drawn to measure and plot the generator


@dataclass(frozen=True)
class Config:
    n_modes: int = Field(8, ge=1, le=12, description="Gaussian blobs on the ring (data modes)")
    steps: int = Field(1500, ge=1, le=4000,
                       description="training rounds (one discriminator + one generator update)")
    batch_size: int = Field(128, ge=8, le=256, description="real and fake points per round")
    hidden: int = Field(64, ge=8, le=128, description="width of both networks' hidden layers")
    latent_dim: int = Field(2, ge=1, le=16, description="size of the generator's noise input z")
    learning_rate: float = Field(2e-3, gt=0, le=0.1, description="Adam step size for both")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for data, noise and weights")


def ring_centres(n_modes: int) -> torch.Tensor:
    angle = torch.arange(n_modes) * (2 * math.pi / n_modes)  # (K,) evenly spaced angles
    return RADIUS * torch.stack([angle.cos(), angle.sin()], dim=1)  # (K, 2)


def sample_data(n: int, centres: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    k = torch.randint(len(centres), (n,), generator=generator)  # (n,) which blob each comes from
    # x = μ_k + σ ε, ε ~ N(0, I): a mixture of K equally likely Gaussians
    return centres[k] + MODE_STD * torch.randn(n, 2, generator=generator)  # (n, 2)


class Generator(nn.Module):
    """G(z): noise (B, latent_dim) → a point in the plane (B, 2)."""

    def __init__(self, latent_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 2),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (B, 2)


class Discriminator(nn.Module):
    """D(x) = σ(a(x)): a point (B, 2) → the logit a of "real" (B,)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)  # (B,) logits; D(x) = sigmoid(logit)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # D maximises V = E_x[log D(x)] + E_z[log(1 − D(G(z)))], i.e. minimises −V.
    # With D = σ(a): −log σ(a) = softplus(−a) and −log(1 − σ(a)) = softplus(a), computed stably.
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    # Non-saturating: G minimises −E_z[log D(G(z))] = E_z[softplus(−a)] rather than
    # E_z[log(1 − D(G(z)))], whose gradient vanishes when D confidently rejects the fakes.
    return F.softplus(-fake_logits).mean()


class Trained(NamedTuple):
    generator: Generator
    discriminator: Discriminator
    centres: torch.Tensor  # (K, 2)
    real: torch.Tensor  # (N_EVAL, 2) held-out real points
    snapshots: dict[int, torch.Tensor]  # training step → (N_EVAL, 2) generated points
    history: dict[str, list[float]]


def snapshot_steps(steps: int) -> list[int]:
    return sorted({0, steps // 10, steps // 3, steps})  # before training, early, middle, end


def train(config: Config, cancel: CancelCheck | None = None) -> Trained:
    gen = seeded(config.seed)
    centres = ring_centres(config.n_modes)
    G, D = Generator(config.latent_dim, config.hidden), Discriminator(config.hidden)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.learning_rate, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.learning_rate, betas=(0.5, 0.999))
    real_eval = sample_data(N_EVAL, centres, gen)  # (N_EVAL, 2)
    z_eval = torch.randn(N_EVAL, config.latent_dim, generator=gen)  # fixed noise for snapshots
    keep = snapshot_steps(config.steps)
    snapshots: dict[int, torch.Tensor] = {}
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_accuracy": []}
    B = config.batch_size
    for step in range(config.steps + 1):
        if step in keep:
            with torch.no_grad():
                snapshots[step] = G(z_eval)
        if step == config.steps:
            break
        check_cancel(cancel)
        # 1. Discriminator: real points labelled 1, fakes labelled 0; G is held still (detach).
        real = sample_data(B, centres, gen)  # (B, 2)
        fake = G(torch.randn(B, config.latent_dim, generator=gen)).detach()  # (B, 2)
        real_logits, fake_logits = D(real), D(fake)  # (B,), (B,)
        d_loss = discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # accuracy: real called real (a > 0, D > ½) and fakes called fake (a < 0)
        accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        # 2. Generator: fresh fakes, D's weights frozen, so the gradient only moves G.
        D.requires_grad_(False)
        g_loss = generator_loss(D(G(torch.randn(B, config.latent_dim, generator=gen))))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        history["d_accuracy"].append(float(accuracy))
    return Trained(G, D, centres, real_eval, snapshots, history)


def spread(x: torch.Tensor) -> float:
    return float(x.var(dim=0).sum().sqrt())  # √(Var x₁ + Var x₂): root-mean-square radius


def mode_stats(x: torch.Tensor, centres: torch.Tensor) -> tuple[float, float]:
    """(share of points within 3σ of some centre, share of modes holding ≥ ¼ of their share)."""
    dist = torch.cdist(x, centres)  # (N, K) distance from every point to every centre
    nearest, k = dist.min(dim=1)  # (N,), (N,)
    near = nearest < 3 * MODE_STD  # (N,) point lies inside a blob
    counts = torch.bincount(k[near], minlength=len(centres)).float()  # (K,) good points per blob
    fair = len(x) / len(centres)  # the count each blob would get under the data distribution
    return float(near.float().mean()), float((counts >= fair / 4).float().mean())


def moving_average(xs: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, x in enumerate(xs):
        total += x - (xs[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    t = train(config, cancel)
    fake, real = t.snapshots[config.steps], t.real
    gen = torch.Generator().manual_seed(config.seed + 1)  # fresh points for the final verdict
    with torch.no_grad():
        real_logits = t.discriminator(sample_data(N_EVAL, t.centres, gen))
        fake_logits = t.discriminator(t.generator(torch.randn(N_EVAL, config.latent_dim,
                                                              generator=gen)))
    d_accuracy = float(((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2)
    near_mode, modes_covered = mode_stats(fake, t.centres)
    last = max(1, config.steps // 10)  # average the noisy per-round losses over the last 10%

    def draw_snapshots(fig):
        steps = sorted(t.snapshots)
        lim = RADIUS + 1.0
        for i, step in enumerate(steps):
            ax = fig.add_subplot(1, len(steps), i + 1)
            ax.scatter(*real.numpy().T, s=3, c="#9aa5b1", alpha=0.5, label="real")
            ax.scatter(*t.snapshots[step].numpy().T, s=3, c="#d9480f", alpha=0.6,
                       label="generated")
            ax.set(title=f"step {step}", xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal",
                   xticks=[], yticks=[])
        fig.axes[0].legend(loc="lower left", fontsize=7, markerscale=3)

    def draw_accuracy(fig):
        ax = fig.add_subplot()
        acc = t.history["d_accuracy"]
        ax.plot(range(1, len(acc) + 1), acc, color="#c5cbd3", lw=0.8, label="per round")
        ax.plot(range(1, len(acc) + 1), moving_average(acc, 50), color="#1c7ed6",
                label="50-round average")
        ax.axhline(0.5, color="k", ls="--", lw=0.8, label="coin flip")
        ax.set(xlabel="training round", ylabel="discriminator accuracy", ylim=(0, 1.05))
        ax.legend(fontsize=8)

    figures = [
        render(draw_snapshots, name="samples_over_training",
               title="Real (grey) and generated (orange) points during training",
               size=(3.0 * len(t.snapshots), 3.4)),
        render(draw_accuracy, name="discriminator_accuracy",
               title="Discriminator accuracy on each round's batch"),
    ]
    what = (f"After {config.steps} rounds the generator's points reach "
            f"{modes_covered:.0%} of the {config.n_modes} blobs with {near_mode:.0%} of them "
            f"inside a blob, and the discriminator tells real from fake {d_accuracy:.0%} of the "
            "time, where 50% would be a coin flip.")
    return DemoResult(
        demo="gan",
        metrics={
            "generated_mean_error": float((fake.mean(0) - real.mean(0)).norm()),
            "generated_spread": spread(fake),
            "real_spread": spread(real),
            "discriminator_accuracy": d_accuracy,
            "modes_covered": modes_covered,
            "share_near_a_mode": near_mode,
            "d_loss": sum(t.history["d_loss"][-last:]) / last,
            "g_loss": sum(t.history["g_loss"][-last:]) / last,
        },
        figures=figures,
        explanation=what + (" Lesson 16 (Generative adversarial networks) explains this "
                            "two-player game, its minimax objective and why it can collapse."),
        lesson=LESSON,
        history=t.history,
    )
