"""A two-layer perceptron (multi-layer perceptron, MLP) trained by hand-written backpropagation.

One hidden layer of tanh (or ReLU) units feeds a sigmoid output neuron, and the network
learns a curved boundary around two interleaved half-moons (or the four XOR clusters),
which no single perceptron can separate. Nothing here calls autograd: the forward pass
keeps its intermediate values, the backward pass applies the chain rule to them layer by
layer (the matrix calculus is written on each line), and plain gradient descent moves
every weight against its gradient, w ← w − η ∂L/∂w (lesson 10).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from pydantic.dataclasses import dataclass

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/10-deep-neural-networks.md"
DESCRIPTION = (
    "A one-hidden-layer network learns the two moons (or XOR) with backpropagation written by hand."
)


@dataclass(frozen=True)
class Config:
    dataset: Literal["moons", "xor"] = Field(
        "moons", description="two interleaved half-moons, or four XOR clusters")
    n_samples: int = Field(400, ge=40, le=2000, description="points generated (¼ held out)")
    noise: float = Field(0.15, ge=0, le=0.5, description="std of the Gaussian noise on the points")
    hidden: int = Field(16, ge=2, le=64, description="neurons in the hidden layer")
    activation: Literal["tanh", "relu"] = Field("tanh", description="hidden-layer non-linearity")
    epochs: int = Field(1500, ge=1, le=3000, description="full-batch gradient-descent steps")
    learning_rate: float = Field(0.5, gt=0, le=10, description="step size η of gradient descent")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for data, split and weights")


def make_data(config: Config, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Points x (N, 2), standardised, and labels y (N,) in {0, 1}."""
    n = config.n_samples
    if config.dataset == "moons":
        from sklearn.datasets import make_moons

        xs, ys = make_moons(n_samples=n, noise=config.noise, random_state=config.seed)
        x, y = torch.tensor(xs, dtype=torch.float32), torch.tensor(ys, dtype=torch.float32)
    else:
        corners = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])  # (4, 2)
        which = torch.randint(0, 4, (n,), generator=gen)  # one XOR corner per point
        x = corners[which] + config.noise * 2 * torch.randn(n, 2, generator=gen)  # (N, 2)
        y = torch.tensor([0.0, 1.0, 1.0, 0.0])[which]  # XOR of the two signs
    x = (x - x.mean(0)) / x.std(0)  # zero mean, unit variance per feature
    return x, y


class MLP:
    """2 → H → 1: h = act(x W1 + b1), p = σ(h W2 + b2), with its own backward pass."""

    def __init__(self, n_in: int, n_hidden: int, activation: str, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32):
        self.activation = activation
        gain = 2.0 if activation == "relu" else 1.0  # He init for ReLU, Xavier-like for tanh
        self.params = {  # plain tensors: no requires_grad, so no autograd graph is ever built
            "W1": torch.randn(n_in, n_hidden, generator=generator, dtype=dtype)
            * (gain / n_in) ** 0.5,  # (D, H)
            "b1": torch.zeros(n_hidden, dtype=dtype),  # (H,)
            "W2": torch.randn(n_hidden, 1, generator=generator, dtype=dtype)
            * (1.0 / n_hidden) ** 0.5,  # (H, 1)
            "b2": torch.zeros(1, dtype=dtype),  # (1,)
        }

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return the logits z2 (N,) and the values the backward pass needs."""
        p = self.params
        z1 = x @ p["W1"] + p["b1"]  # (N, D) @ (D, H) + (H,) → (N, H) pre-activations
        h = torch.tanh(z1) if self.activation == "tanh" else z1.clamp(min=0)  # (N, H)
        z2 = (h @ p["W2"] + p["b2"]).squeeze(1)  # (N, H) @ (H, 1) + (1,) → (N,) logits
        return z2, {"x": x, "z1": z1, "h": h, "z2": z2}

    @staticmethod
    def loss_from_logits(z2: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # binary cross-entropy  L = −(1/N) Σ [y log σ(z) + (1 − y) log(1 − σ(z))]
        #                         = (1/N) Σ [softplus(z) − y z]   (stable for large |z|)
        return (torch.nn.functional.softplus(z2) - y * z2).mean()

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_from_logits(self.forward(x)[0], y)

    def backward(self, cache: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, torch.Tensor]:
        """∂L/∂θ for every parameter, by the chain rule from the output back to the input."""
        x, z1, h, z2 = cache["x"], cache["z1"], cache["h"], cache["z2"]
        n = x.shape[0]
        dz2 = ((torch.sigmoid(z2) - y) / n)[:, None]  # ∂L/∂z2 = (σ(z2) − y) / N   (N, 1)
        dW2 = h.T @ dz2  # ∂L/∂W2 = hᵀ ∂L/∂z2          (H, N) @ (N, 1) → (H, 1)
        db2 = dz2.sum(0)  # ∂L/∂b2 = Σ_n ∂L/∂z2        (1,)
        dh = dz2 @ self.params["W2"].T  # ∂L/∂h = ∂L/∂z2 W2ᵀ   (N, 1) @ (1, H) → (N, H)
        # act'(z1): tanh'(z) = 1 − tanh²(z) = 1 − h², ReLU'(z) = 1 if z > 0 else 0
        d_act = 1 - h**2 if self.activation == "tanh" else (z1 > 0).to(h.dtype)  # (N, H)
        dz1 = dh * d_act  # ∂L/∂z1 = ∂L/∂h ⊙ act'(z1), elementwise  (N, H)
        dW1 = x.T @ dz1  # ∂L/∂W1 = xᵀ ∂L/∂z1          (D, N) @ (N, H) → (D, H)
        db1 = dz1.sum(0)  # ∂L/∂b1 = Σ_n ∂L/∂z1        (H,)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    def step(self, grads: dict[str, torch.Tensor], lr: float) -> None:
        for name, g in grads.items():
            self.params[name] -= lr * g  # gradient descent: θ ← θ − η ∂L/∂θ

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward(x)[0])  # (N,) P(class 1 | x)


def accuracy(model: MLP, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(((model.predict_proba(x) >= 0.5).float() == y).float().mean())


def train(config: Config, cancel: CancelCheck | None = None):
    gen = seeded(config.seed)
    x, y = make_data(config, gen)  # (N, 2), (N,)
    order = torch.randperm(len(x), generator=gen)
    n_test = len(x) // 4
    test, tr = order[:n_test], order[n_test:]  # held-out quarter, fixed by the seed
    x_tr, y_tr = x[tr], y[tr]  # (N_train, 2), (N_train,)
    model = MLP(2, config.hidden, config.activation, gen)
    history: dict[str, list[float]] = {"loss": [], "train_accuracy": []}
    with torch.no_grad():  # belt and braces: every gradient below is computed by hand
        for _ in range(config.epochs):
            check_cancel(cancel)
            z2, cache = model.forward(x_tr)  # forward pass, keeping what backward needs
            history["loss"].append(float(model.loss_from_logits(z2, y_tr)))
            history["train_accuracy"].append(float(((z2 >= 0).float() == y_tr).float().mean()))
            model.step(model.backward(cache, y_tr), config.learning_rate)  # full-batch GD
        metrics = {
            "loss": float(model.loss(x_tr, y_tr)),
            "train_accuracy": accuracy(model, x_tr, y_tr),
            "test_accuracy": accuracy(model, x[test], y[test]),
        }
    return model, x, y, test, history, metrics


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    model, x, y, test, history, metrics = train(config, cancel)

    def draw_boundary(fig):
        ax = fig.add_subplot()
        lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
        gx, gy = torch.meshgrid(torch.linspace(float(lo[0]), float(hi[0]), 200),
                                torch.linspace(float(lo[1]), float(hi[1]), 200), indexing="xy")
        with torch.no_grad():
            p = model.predict_proba(torch.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
        gx, gy, p = gx.numpy(), gy.numpy(), p.numpy()
        ax.contourf(gx, gy, p, levels=20, cmap="coolwarm", alpha=0.6, vmin=0, vmax=1)
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.5)
        is_test = torch.zeros(len(x), dtype=torch.bool)
        is_test[test] = True
        xs, ys, is_test = x.numpy(), y.numpy(), is_test.numpy()
        ax.scatter(xs[~is_test, 0], xs[~is_test, 1], c=ys[~is_test], cmap="coolwarm",
                   edgecolors="k", s=14, label="train")
        ax.scatter(xs[is_test, 0], xs[is_test, 1], c=ys[is_test], cmap="coolwarm",
                   edgecolors="k", marker="^", s=22, label="test")
        ax.set(xlabel="x1 (standardised)", ylabel="x2 (standardised)")
        ax.legend(loc="lower right", fontsize=8)

    def draw_loss(fig):
        ax = fig.add_subplot()
        epochs = range(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], label="cross-entropy loss")
        ax.plot(epochs, history["train_accuracy"], label="training accuracy")
        ax.set(xlabel="epoch", ylim=(0, max(1.05, max(history["loss"]) * 1.05)))
        ax.legend()

    shape = f"2-{config.hidden}-1"
    figures = [
        render(draw_boundary, name="decision_boundary",
               title=f"{config.dataset}: boundary of a {shape} {config.activation} network"),
        render(draw_loss, name="loss", title="Training loss and accuracy per epoch"),
    ]
    what = (f"A {shape} network with {config.activation} hidden units, trained by "
            f"{config.epochs} steps of hand-written backpropagation, reached "
            f"{metrics['test_accuracy']:.0%} accuracy on held-out {config.dataset} points "
            "because its hidden layer bends the plane so that one line can split the classes.")
    return DemoResult(
        demo="mlp",
        metrics=metrics,
        figures=figures,
        explanation=what + " Lesson 10 (Deep neural networks) explains the hidden layers, "
        "the chain-rule backward pass and the gradient-descent update used here.",
        lesson=LESSON,
        history=history,
    )
