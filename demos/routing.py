"""Does a chat message ask to *see* a model learn, or ask *about* it?

"show me a GAN learning" or ``/demo gan steps=300`` runs the GAN demo; "what is a GAN?"
or "how does a GAN learn?" is a question for the course and runs nothing. The rule is
deliberately narrow: a demo needs a model the demos cover *and* a request to show, run,
train or demonstrate it. A question that only mentions training stays a question, and so
does a wh-question that mentions showing ("what does the GPT-4 demo show?", "who drew
the figure used to show GAN training?") unless it asks to be shown ("… show me").
Measured on ``eval/datasets/routing.jsonl`` (``studyhall eval routing``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Names a student uses for each demo's model, longest first where one contains another.
ALIASES: dict[str, tuple[str, ...]] = {
    "mlp": ("multi-layer perceptron", "multilayer perceptron", "mlp", "hidden layer",
            "feed-forward network", "feedforward network", "neural network", "neural net"),
    "perceptron": ("perceptron",),
    "cnn": ("convolutional neural network", "convolutional network", "convnet", "cnn"),
    "lstm": ("long short-term memory", "lstm"),
    "rnn": ("recurrent neural network", "recurrent network", "rnn"),
    "transformer": ("transformer", "self-attention", "attention", "gpt"),
    "gan": ("generative adversarial network", "gan"),
    "vae": ("variational autoencoder", "variational auto-encoder", "autoencoder", "vae"),
    "ddpm": ("diffusion model", "diffusion", "ddpm", "denoising"),
}

# A request to see something happen, anywhere in the message …
_SHOW = re.compile(
    r"\b(show (me|us)|let me see|let'?s see|can (i|we) see|"
    r"(i'?d like|i want) to (see|watch)|"
    r"demo(nstrate)?|visuali[sz]e|in action|watch)\b|^\s*show\b|\bshow (an?|the)\b", re.I)
# … or a command verb opening the message (after "please", "can you" and the like).
_COMMAND = re.compile(
    r"^\s*(please\s+|(can|could|would|will) you\s+|now\s+|ok(ay)?,?\s+)*"
    r"(run|train|simulate|plot|draw|fit|show|visuali[sz]e|demo(nstrate)?)\b", re.I)
# A wh-question asks about something; it asks to see it only in these words.
_WH_QUESTION = re.compile(r"^\s*(what|which|who|whom|whose|when|where|why|how)\b", re.I)
_ASKS_TO_SEE = re.compile(
    r"\b(show (me|us)|let me see|let'?s see|can (i|we) see|(i'?d like|i want) to (see|watch))\b",
    re.I)
_EXPLICIT = re.compile(r"^\s*/demo(?:\s+(?P<name>[\w-]+))?(?P<rest>.*)$", re.I | re.S)
_KEY_VALUE = re.compile(r"(\w+)\s*=\s*(\S+)")
_GATE = re.compile(r"\b(xor|nand|and|or)\b(?=\s+(gate|function|problem)|\s*[?.!]|\s*$)", re.I)


@dataclass(frozen=True)
class DemoRequest:
    tool: str
    params: dict[str, Any] = field(default_factory=dict)
    explicit: bool = False  # typed as /demo NAME


def _mentioned_model(text: str) -> str | None:
    """The demo whose model the message names first (longest name wins at a position)."""
    best: tuple[int, int, str] | None = None
    for tool, names in ALIASES.items():
        for name in names:
            match = re.search(rf"\b{re.escape(name)}s?\b", text, re.I)
            if match and (best is None or (match.start(), -len(name)) < best[:2]):
                best = (match.start(), -len(name), tool)
    return best[2] if best else None


def _value(raw: str) -> Any:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw.strip("'\"").lower()


def route(message: str) -> DemoRequest | None:
    """The demo a message asks for, or None for a question to answer from the course."""
    explicit = _EXPLICIT.match(message)
    if explicit:
        name = (explicit.group("name") or "").lower()
        params = {k: _value(v) for k, v in _KEY_VALUE.findall(explicit.group("rest"))}
        return DemoRequest(name, params, explicit=True)
    tool = _mentioned_model(message)
    if tool is None or not (_SHOW.search(message) or _COMMAND.search(message)):
        return None
    if _WH_QUESTION.match(message) and not _ASKS_TO_SEE.search(message):
        return None
    params: dict[str, Any] = {}
    if tool == "perceptron" and (gate := _GATE.search(message)):
        params["gate"] = gate.group(1).lower()
    return DemoRequest(tool, params)
