"""The perceptron (Rosenblatt, 1958) learning logic gates with its own update rule.

One neuron: a weighted sum of the inputs plus a bias, passed through a step function.
Training is the perceptron learning rule, no gradients: for each example, nudge the
weights by the error times the input. It converges on AND and OR, which a straight line
separates, and never on XOR, which no line separates — the limit that stalled the field
until multi-layer networks (lesson 9, and lesson 10 for the way out).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from pydantic.dataclasses import dataclass

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/09-the-perceptron.md"
DESCRIPTION = (
    "A single perceptron learns a logic gate (AND, OR, NAND or XOR) with the perceptron rule."
)

GATES = {  # truth tables: inputs (x1, x2) → output
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "xor": [0, 1, 1, 0],
}


@dataclass(frozen=True)
class Config:
    gate: Literal["and", "or", "nand", "xor"] = Field(
        "and", description="the truth table to learn")
    epochs: int = Field(20, ge=1, le=1000, description="passes over the four examples")
    learning_rate: float = Field(0.1, gt=0, le=10, description="step size η of the update rule")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for the initial weights")


class Perceptron:
    """y = step(w · x + b), trained by w ← w + η (t − y) x and b ← b + η (t − y)."""

    def __init__(self, n_inputs: int, generator: torch.Generator):
        self.w = torch.randn(n_inputs, generator=generator) * 0.1  # (n_inputs,)
        self.b = torch.zeros(())

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        z = x @ self.w + self.b  # (N,) weighted sum plus bias
        return (z >= 0).float()  # step activation: fire (1) or not (0)

    def update(self, x: torch.Tensor, target: torch.Tensor, lr: float) -> float:
        error = target - self.predict(x[None])[0]  # −1, 0 or +1
        self.w += lr * error * x  # move the boundary towards a missed positive
        self.b += lr * error  # (or away from a wrongly fired negative)
        return abs(float(error))


def train(config: Config, cancel: CancelCheck | None = None):
    gen = seeded(config.seed)
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (4, 2)
    t = torch.tensor(GATES[config.gate], dtype=torch.float32)  # (4,)
    model = Perceptron(2, gen)
    errors_per_epoch: list[float] = []
    for _ in range(config.epochs):
        check_cancel(cancel)
        order = torch.randperm(4, generator=gen)  # present the examples in a fresh order
        errors_per_epoch.append(sum(model.update(x[i], t[i], config.learning_rate) for i in order))
    accuracy = float((model.predict(x) == t).float().mean())
    return model, x, t, errors_per_epoch, accuracy


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    model, x, t, errors, accuracy = train(config, cancel)
    converged = next((i + 1 for i, e in enumerate(errors) if e == 0), None)

    def draw_boundary(fig):
        ax = fig.add_subplot()
        grid = torch.linspace(-0.5, 1.5, 200)
        gx, gy = torch.meshgrid(grid, grid, indexing="xy")
        z = model.predict(torch.stack([gx.ravel(), gy.ravel()], dim=1)).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5], colors=["#f2d7d5", "#d5e8f2"])
        ax.scatter(x[:, 0], x[:, 1], c=t, cmap="coolwarm", edgecolors="k", s=120)
        ax.set(xlabel="x1", ylabel="x2", xlim=(-0.5, 1.5), ylim=(-0.5, 1.5))

    def draw_errors(fig):
        ax = fig.add_subplot()
        ax.plot(range(1, len(errors) + 1), errors, marker="o")
        ax.set(xlabel="epoch", ylabel="misclassified examples")

    figures = [
        render(draw_boundary, name="decision_boundary",
               title=f"{config.gate.upper()}: learned boundary"),
        render(draw_errors, name="errors", title="Errors per epoch"),
    ]
    gate = config.gate.upper()
    if accuracy == 1.0:
        what = (f"The perceptron learned {gate} in {converged} epochs: "
                "a straight line separates its outputs.")
    else:
        what = (f"The perceptron got {accuracy:.0%} of {gate} right and never settled, "
                "because no straight line separates its outputs.")
    return DemoResult(
        demo="perceptron",
        metrics={"accuracy": accuracy, "epochs_to_converge": float(converged or 0),
                 "final_errors": errors[-1]},
        figures=figures,
        explanation=what + " Lesson 9 (The perceptron) explains the update rule and this limit.",
        lesson=LESSON,
        history={"errors": errors},
    )
