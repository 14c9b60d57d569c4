"""What every demo shares: its result type, figure rendering, seeding and cancellation.

A demo module (``demos/gan.py`` …) reads top to bottom: a ``Config`` (a pydantic
dataclass, so its bounds are validated and become the tool's JSON Schema) → the
``nn.Module`` s → ``train()`` → ``run(config, cancel=None) -> DemoResult``. It also names
``LESSON`` (the course file it illustrates) and ``DESCRIPTION`` (one line for tool lists).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from studyhall.core.errors import Cancelled

CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class Figure:
    """One PNG image a demo produced."""

    name: str  # file-name stem, e.g. "decision_boundary"
    title: str  # a human caption
    png: bytes


@dataclass
class DemoResult:
    """What a demo run returns: numbers, pictures and a two-sentence explanation."""

    demo: str  # the demo's name, e.g. "gan"
    metrics: dict[str, float]  # final numbers, e.g. {"loss": 0.04, "accuracy": 1.0}
    figures: list[Figure]
    explanation: str  # two sentences, naming the lesson
    lesson: str  # course-relative path of the lesson it illustrates
    history: dict[str, list[float]] = field(default_factory=dict)  # per-step curves


def seeded(seed: int) -> torch.Generator:
    """Seed torch's global state and return a generator for explicit draws.

    Global seeding covers ``nn.Module`` initialisation; the returned generator is passed
    to every ``torch.randn``/``randint``/``randperm`` so one seed gives one set of numbers.
    """
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for the duration (restored after).

    The demos' models are tiny: on a 2-core machine already busy (the language model, a
    second process) two torch threads mostly wait on each other, and a run that takes 5 s
    alone can take 40. One thread gives the same numbers, steadily.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_cancel(cancel: CancelCheck | None) -> None:
    """Stop a training loop between steps when ``cancel()`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("the demo run was cancelled")


_plot_lock = threading.Lock()  # pyplot's state is global: one figure at a time


def render(draw: Callable[[object], None], *, name: str, title: str,
           size: tuple[float, float] = (4.5, 4.0)) -> Figure:
    """Draw with ``draw(fig)`` on a fresh headless matplotlib figure and return its PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with _plot_lock:
        fig = plt.figure(figsize=size, dpi=100)
        try:
            draw(fig)
            fig.suptitle(title, fontsize=10)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        finally:
            plt.close(fig)
    return Figure(name=name, title=title, png=buf.getvalue())
