"""A small convolutional neural network (LeNet-style) reading 8×8 handwritten digits.

Convolution and max pooling are written out instead of called from ``nn.Conv2d``: a
convolution gathers every k×k patch of the input into a column (im2col, one slice per
kernel offset) and multiplies the columns by the filter bank, so one small filter is
reused at every position (weight sharing); max pooling keeps the largest value of each
window. Two conv → ReLU → pool blocks extract features and a fully connected layer turns
them into ten class scores (lesson 12). Training uses autograd and Adam.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from pydantic.dataclasses import dataclass
from torch import nn

from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/12-convolutional-neural-networks.md"
DESCRIPTION = (
    "A two-block CNN with hand-written convolution and max pooling classifies 8×8 digits."
)


@dataclass(frozen=True)
class Config:
    channels1: int = Field(8, ge=1, le=16, description="filters in the first conv layer")
    channels2: int = Field(16, ge=1, le=32, description="filters in the second conv layer")
    epochs: int = Field(12, ge=1, le=30, description="passes over the training images")
    batch_size: int = Field(64, ge=32, le=512, description="images per optimiser step")
    learning_rate: float = Field(0.01, gt=0, le=1, description="Adam step size")
    test_fraction: float = Field(0.25, ge=0.1, le=0.5, description="share of images held out")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for split, weights, order")


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Cross-correlation as deep learning defines it, computed by im2col and one matmul."""
    B, C, H, W = x.shape  # batch, input channels, height, width
    C_out, C_in, k_h, k_w = weight.shape  # filters, channels per filter, kernel height, width
    assert C_in == C, f"input has {C} channels, the filters expect {C_in}"
    x = F.pad(x, (padding, padding, padding, padding))  # zero border: (B, C, H+2p, W+2p)
    H_out = (H + 2 * padding - k_h) // stride + 1  # ⌊(n + 2p − k) / s⌋ + 1
    W_out = (W + 2 * padding - k_w) // stride + 1
    patches = [  # for each kernel offset (i, j): the pixel under it at every output position
        x[:, :, i: i + stride * (H_out - 1) + 1: stride, j: j + stride * (W_out - 1) + 1: stride]
        for i in range(k_h) for j in range(k_w)
    ]  # k_h·k_w tensors of shape (B, C, H_out, W_out)
    cols = torch.stack(patches, dim=2)  # (B, C, k_h·k_w, H_out, W_out)
    cols = cols.reshape(B, C * k_h * k_w, H_out * W_out)  # im2col: one column per position
    # y[b, o, l] = Σ_{c,i,j} w[o, c, i, j] · x[b, c, s·r + i, s·q + j]  (+ bias[o])
    out = weight.reshape(C_out, C * k_h * k_w) @ cols  # (O, CKK) @ (B, CKK, L) → (B, O, L)
    if bias is not None:
        out = out + bias[:, None]  # one bias per filter, shared by every position
    return out.reshape(B, C_out, H_out, W_out)


def max_pool2d(x: torch.Tensor, kernel: int = 2, stride: int | None = None) -> torch.Tensor:
    """Keep the largest value in each kernel×kernel window (no padding, floor sizes)."""
    stride = stride or kernel
    B, C, H, W = x.shape
    H_out = (H - kernel) // stride + 1  # ⌊(n − k) / s⌋ + 1
    W_out = (W - kernel) // stride + 1
    windows = torch.stack([  # every offset of the window, (B, C, k·k, H_out, W_out)
        x[:, :, i: i + stride * (H_out - 1) + 1: stride, j: j + stride * (W_out - 1) + 1: stride]
        for i in range(kernel) for j in range(kernel)
    ], dim=2)
    return windows.max(dim=2).values  # (B, C, H_out, W_out): the maximum of each window


class Conv2d(nn.Module):
    """A bank of ``out_ch`` learned k×k filters, each as deep as the input has channels."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, generator: torch.Generator,
                 padding: int = 0):
        super().__init__()
        fan_in = in_ch * kernel * kernel
        # He initialisation for a ReLU layer: w ~ N(0, 2 / fan_in)
        self.weight = nn.Parameter(
            torch.randn(out_ch, in_ch, kernel, kernel, generator=generator) * (2 / fan_in) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(out_ch))  # (O,)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, self.weight, self.bias, padding=self.padding)


class DigitCNN(nn.Module):
    """(B, 1, 8, 8) → conv 3×3 → ReLU → pool → conv 3×3 → ReLU → pool → linear → (B, 10)."""

    def __init__(self, channels1: int, channels2: int, generator: torch.Generator):
        super().__init__()
        self.conv1 = Conv2d(1, channels1, 3, generator, padding=1)  # "same" conv keeps 8×8
        self.conv2 = Conv2d(channels1, channels2, 3, generator, padding=1)
        self.fc = nn.Linear(channels2 * 2 * 2, 10)  # flattened (C2, 2, 2) features → scores

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = max_pool2d(F.relu(self.conv1(x)))  # (B, 1, 8, 8) → (B, C1, 8, 8) → (B, C1, 4, 4)
        x = max_pool2d(F.relu(self.conv2(x)))  # (B, C1, 4, 4) → (B, C2, 4, 4) → (B, C2, 2, 2)
        return self.fc(x.flatten(1))  # (B, C2·2·2) → (B, 10) logits


def load_digits_split(config: Config, gen: torch.Generator):
    """scikit-learn's bundled 1,797 digits, scaled to [0, 1], split by the seed."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (N, 1, 8, 8)
    y = torch.tensor(digits.target, dtype=torch.long)  # (N,) in 0..9
    order = torch.randperm(len(x), generator=gen)
    n_test = int(len(x) * config.test_fraction)
    test, tr = order[:n_test], order[n_test:]
    return x[tr], y[tr], x[test], y[test]


def train(config: Config, cancel: CancelCheck | None = None):
    gen = seeded(config.seed)
    x_tr, y_tr, x_te, y_te = load_digits_split(config, gen)
    model = DigitCNN(config.channels1, config.channels2, gen)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    history: dict[str, list[float]] = {"loss": [], "test_accuracy": []}
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)  # a fresh order every epoch
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            check_cancel(cancel)
            idx = order[start: start + config.batch_size]
            # cross-entropy L = −(1/B) Σ_b log softmax(f(x_b))[y_b]
            loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history["loss"].append(total / len(x_tr))  # mean training loss over the epoch
        history["test_accuracy"].append(evaluate(model, x_te, y_te)[0])
    return model, (x_te, y_te), history


@torch.no_grad()
def evaluate(model: DigitCNN, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
    model.eval()
    pred = model(x).argmax(1)  # (N,) the class with the highest score
    return float((pred == y).float().mean()), pred


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    model, (x_te, y_te), history = train(config, cancel)
    test_accuracy, pred = evaluate(model, x_te, y_te)
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((y_te, pred), torch.ones_like(y_te), accumulate=True)  # [true, pred]

    def draw_filters(fig):
        w = model.conv1.weight.detach()[:, 0].numpy()  # (C1, 3, 3)
        cols = min(8, len(w))
        rows = (len(w) + cols - 1) // cols
        lim = float(abs(w).max())
        for i, f in enumerate(w):
            ax = fig.add_subplot(rows, cols, i + 1)
            ax.imshow(f, cmap="RdBu_r", vmin=-lim, vmax=lim)  # red: positive weight
            ax.set(xticks=[], yticks=[], title=f"#{i + 1}")

    wrong = (pred != y_te).nonzero().flatten()  # show the mistakes first, then correct ones
    shown = torch.cat([wrong, (pred == y_te).nonzero().flatten()])[:16]

    def draw_predictions(fig):
        for k, i in enumerate(shown.tolist()):
            ax = fig.add_subplot(4, 4, k + 1)
            ax.imshow(x_te[i, 0].numpy(), cmap="gray_r")
            ok = bool(pred[i] == y_te[i])
            ax.set_title(f"{int(pred[i])}" + ("" if ok else f" (true {int(y_te[i])})"),
                         fontsize=8, color="green" if ok else "red")
            ax.set(xticks=[], yticks=[])

    def draw_confusion(fig):
        ax = fig.add_subplot()
        ax.imshow(confusion.numpy(), cmap="Blues")
        for t in range(10):
            for p in range(10):
                if confusion[t, p]:
                    ax.text(p, t, int(confusion[t, p]), ha="center", va="center", fontsize=7,
                            color="white" if confusion[t, p] > confusion.max() / 2 else "black")
        ax.set(xlabel="predicted digit", ylabel="true digit", xticks=range(10), yticks=range(10))

    def draw_loss(fig):
        ax = fig.add_subplot()
        epochs = range(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], marker="o", label="training loss")
        ax.plot(epochs, history["test_accuracy"], marker="s", label="test accuracy")
        ax.set(xlabel="epoch")
        ax.legend()

    figures = [
        render(draw_filters, name="filters", title="Learned first-layer 3×3 filters",
               size=(6.0, 1.2 + 0.9 * ((config.channels1 + 7) // 8))),
        render(draw_predictions, name="predictions",
               title="Test digits and predictions (red: wrong)", size=(4.5, 5.0)),
        render(draw_confusion, name="confusion", title="Confusion matrix on the test set"),
        render(draw_loss, name="loss", title="Training loss and test accuracy per epoch"),
    ]
    what = (f"Two conv → ReLU → max-pool blocks with {config.channels1} and {config.channels2} "
            f"3×3 filters classified {test_accuracy:.1%} of {len(y_te)} held-out 8×8 digits "
            f"after {config.epochs} epochs, because each filter is slid over every position "
            "and so learns a stroke detector that works anywhere in the image.")
    return DemoResult(
        demo="cnn",
        metrics={"test_accuracy": test_accuracy, "final_loss": history["loss"][-1],
                 "parameters": float(sum(p.numel() for p in model.parameters()))},
        figures=figures,
        explanation=what + " Lesson 12 (Convolutional neural networks) explains filters, "
        "stride and padding, max pooling and weight sharing.",
        lesson=LESSON,
        history=history,
    )
