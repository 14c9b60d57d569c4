"""A variational autoencoder (Kingma & Welling, 2013) on scikit-learn's 8×8 handwritten digits.

The encoder maps a digit to a Gaussian q(z|x) = N(μ, σ²) over a 2-D latent space; the decoder
maps a latent point back to 64 pixel probabilities. Training minimises the negative ELBO:
a reconstruction term (binary cross-entropy of the pixels) plus the KL divergence that pulls
every q(z|x) towards the prior N(0, I). The sample in the middle is taken with the
reparameterisation trick z = μ + σ·ε, ε ~ N(0, I), so gradients reach μ and σ. With only two
latent dimensions the whole code space can be drawn: the digits sort themselves into regions,
and decoding a grid of points shows one digit morphing into the next (lesson 17).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from pydantic import Field
from pydantic.dataclasses import dataclass
from torch import nn

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/17-variational-autoencoders.md"
DESCRIPTION = (
    "A variational autoencoder with a 2-D latent space learns to encode, rebuild and "
    "generate 8×8 handwritten digits."
)

N_TEST = 297  # digits held out for measuring reconstruction (the other 1500 train)


@dataclass(frozen=True)
class Config:
    epochs: int = Field(40, ge=1, le=100, description="passes over the 1500 training digits")
    batch_size: int = Field(32, ge=16, le=512, description="digits per gradient step")
    hidden: int = Field(128, ge=8, le=256, description="width of encoder and decoder layers")
    latent_dim: int = Field(2, ge=1, le=16,
                            description="size of the code z (2 lets the latent map be drawn)")
    beta: float = Field(1.0, ge=0, le=10, description="weight of the KL term (1 = the ELBO)")
    learning_rate: float = Field(2e-3, gt=0, le=0.1, description="Adam step size")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for split, noise, weights")


def load_digits_tensor() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()  # 1797 images, pixel values 0…16
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # (1797, 64) scaled to [0, 1]
    return x, torch.tensor(digits.target)  # (1797,) labels 0…9, used only for colouring


class Encoder(nn.Module):
    """q(z|x): a digit (B, 64) → mean μ (B, L) and log-variance log σ² (B, L)."""

    def __init__(self, hidden: int, latent_dim: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)  # log σ², so σ = exp(½ log σ²) > 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)  # (B, hidden)
        return self.mu(h), self.logvar(h)  # (B, L), (B, L)


class Decoder(nn.Module):
    """p(x|z): a code (B, L) → the logits of 64 pixel probabilities (B, 64)."""

    def __init__(self, hidden: int, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (B, 64) logits; pixel = sigmoid(logit)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
    sigma = torch.exp(0.5 * logvar)  # σ = exp(½ log σ²)
    eps = torch.randn(mu.shape, generator=generator)  # ε ~ N(0, I), free of any weight
    return mu + sigma * eps  # z = μ + σ·ε ~ N(μ, σ²), differentiable in μ and σ


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    # KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), one value per digit: (B,)
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    # −log p(x|z) for Bernoulli pixels: −Σ_i [x_i log p_i + (1 − x_i) log(1 − p_i)], p = σ(logit)
    # written with log σ(a) = −softplus(−a) and log(1 − σ(a)) = −softplus(a): (B,)
    return (x * F.softplus(-logits) + (1 - x) * F.softplus(logits)).sum(dim=1)


class VAE(nn.Module):
    def __init__(self, hidden: int, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder, self.decoder = Encoder(hidden, latent_dim), Decoder(hidden, latent_dim)

    def loss(self, x: torch.Tensor, generator: torch.Generator,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Negative ELBO per digit, averaged over the batch; also its two parts."""
        mu, logvar = self.encoder(x)  # (B, L), (B, L)
        z = reparameterise(mu, logvar, generator)  # (B, L) one sample per digit
        recon = reconstruction_loss(self.decoder(z), x).mean()  # E_q[−log p(x|z)]
        kl = kl_divergence(mu, logvar).mean()  # KL(q(z|x) ‖ p(z))
        return recon + beta * kl, recon, kl  # −ELBO = reconstruction + KL (for β = 1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = self.encoder(x)  # decode the mean code: the model's best guess
        return torch.sigmoid(self.decoder(mu))  # (B, 64) pixel values in [0, 1]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator)  # z ~ p(z)
        return torch.sigmoid(self.decoder(z))  # (n, 64)


class Trained(NamedTuple):
    model: VAE
    x_test: torch.Tensor  # (N_TEST, 64)
    y_test: torch.Tensor  # (N_TEST,)
    untrained_mse: float  # test reconstruction error before the first step
    history: dict[str, list[float]]


@torch.no_grad()
def reconstruction_mse(model: VAE, x: torch.Tensor) -> float:
    return float((model.reconstruct(x) - x).pow(2).mean())  # mean squared error per pixel


def train(config: Config, cancel: CancelCheck | None = None) -> Trained:
    gen = seeded(config.seed)
    x, y = load_digits_tensor()
    order = torch.randperm(len(x), generator=gen)  # one shuffled split into test and train
    test, tr = order[:N_TEST], order[N_TEST:]
    x_train, x_test, y_test = x[tr], x[test], y[test]
    model = VAE(config.hidden, config.latent_dim)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    untrained = reconstruction_mse(model, x_test)
    history: dict[str, list[float]] = {"loss": [], "reconstruction": [], "kl": [],
                                       "test_mse": []}
    for _ in range(config.epochs):
        sums = torch.zeros(3)
        batches = torch.randperm(len(x_train), generator=gen).split(config.batch_size)
        for idx in batches:
            check_cancel(cancel)
            loss, recon, kl = model.loss(x_train[idx], gen, config.beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums += torch.stack([loss, recon, kl]).detach()
        for key, value in zip(("loss", "reconstruction", "kl"), sums / len(batches),
                              strict=True):
            history[key].append(float(value))  # per-epoch averages, nats per digit
        history["test_mse"].append(reconstruction_mse(model, x_test))
    return Trained(model, x_test, y_test, untrained, history)


def tile(images: torch.Tensor, cols: int) -> torch.Tensor:
    """Lay (N, 64) digits out as one (rows·9 − 1, cols·9 − 1) image, with 1-pixel gaps."""
    rows = -(-len(images) // cols)  # ceiling division
    canvas = torch.full((rows * 9 - 1, cols * 9 - 1), float("nan"))  # NaN draws as blank
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = img.reshape(8, 8)
    return canvas


def _show(ax, canvas: torch.Tensor, **kwargs) -> None:
    ax.imshow(canvas.numpy(), cmap="gray_r", vmin=0, vmax=1, **kwargs)


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    t = train(config, cancel)
    model = t.model
    with torch.no_grad():
        mu, logvar = model.encoder(t.x_test)  # (N_TEST, L) each
        test_kl = float(kl_divergence(mu, logvar).mean())
        test_bce = float(reconstruction_loss(model.decoder(mu), t.x_test).mean())
    test_mse = reconstruction_mse(model, t.x_test)
    gen = torch.Generator().manual_seed(config.seed + 1)  # prior samples for the figure
    samples = model.sample(40, gen)  # (40, 64)

    def draw_reconstructions(fig):
        originals = t.x_test[:12]
        for i, (images, label) in enumerate([(originals, "original"),
                                             (model.reconstruct(originals), "rebuilt")]):
            ax = fig.add_subplot(2, 1, i + 1)
            _show(ax, tile(images, cols=12))
            ax.set(xticks=[], yticks=[])
            ax.set_ylabel(label, fontsize=8)

    def draw_samples(fig):
        ax = fig.add_subplot()
        _show(ax, tile(samples, cols=10))
        ax.set_axis_off()

    def draw_latent(fig):
        ax = fig.add_subplot(1, 2, 1)
        m = mu.numpy()
        pts = ax.scatter(m[:, 0], m[:, 1] if m.shape[1] > 1 else 0 * m[:, 0],
                         c=t.y_test.numpy(), cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
        fig.colorbar(pts, ax=ax, ticks=range(10), label="digit")
        ax.set(title="test digits' means μ", xlabel="z₁", ylabel="z₂")
        ax = fig.add_subplot(1, 2, 2)
        n, edge = 12, 2.5
        grid = torch.linspace(-edge, edge, n)  # a grid over the prior's bulk
        zy, zx = torch.meshgrid(grid.flip(0), grid, indexing="ij")  # top row is the largest z₂
        z = torch.zeros(n * n, model.latent_dim)  # other latent dimensions held at 0
        z[:, 0] = zx.ravel()
        if model.latent_dim > 1:
            z[:, 1] = zy.ravel()
        with torch.no_grad():
            images = torch.sigmoid(model.decoder(z))  # (n², 64), row by row
        _show(ax, tile(images, cols=n), extent=(-edge, edge, -edge, edge))
        ax.set(title="decoded grid of z", xlabel="z₁", ylabel="z₂")

    figures = [
        render(draw_reconstructions, name="reconstructions",
               title="Held-out digits and their reconstructions", size=(7.0, 2.4)),
        render(draw_samples, name="prior_samples",
               title="New digits decoded from z ~ N(0, I)", size=(6.0, 2.8)),
        render(draw_latent, name="latent_space", size=(9.5, 4.2),
               title=("The 2-D latent space" if config.latent_dim == 2 else
                      f"The {config.latent_dim}-D latent space (first dimensions only)")),
    ]
    what = (f"After {config.epochs} epochs the VAE rebuilds held-out digits with a mean squared "
            f"pixel error of {test_mse:.3f} (untrained: {t.untrained_mse:.3f}) while its KL "
            f"term of {test_kl:.2f} nats keeps the codes close to N(0, I), so decoding random "
            "points gives new digits.")
    return DemoResult(
        demo="vae",
        metrics={"test_reconstruction_mse": test_mse,
                 "untrained_reconstruction_mse": t.untrained_mse,
                 "test_reconstruction_bce": test_bce, "test_kl": test_kl,
                 "train_loss": t.history["loss"][-1]},
        figures=figures,
        explanation=what + (" Lesson 17 (Variational autoencoders) explains the two-part loss, "
                            "the ELBO and the reparameterisation trick."),
        lesson=LESSON,
        history=t.history,
    )
