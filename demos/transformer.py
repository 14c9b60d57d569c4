"""A tiny decoder-only transformer ("Attention Is All You Need", Vaswani et al., 2017; GPT).

Attention is written out: every position forms a query, a key and a value, scores each
earlier position by q · k / √d_k, turns the scores into weights with a softmax (a causal
mask M hides the future) and averages the values with them, softmax(QKᵀ/√d_k + M) V.
Several heads do this in parallel on slices of the embedding. Stacked in pre-norm blocks
with an MLP, over token plus position embeddings, they make a character-level GPT that
learns to continue this course's own lesson text, scored on a held-out tail (lesson 15).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass as plain_dataclass

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass
from torch import nn

from corpus import course_dir
from demos.base import CancelCheck, DemoResult, check_cancel, render, seeded

LESSON = "lessons/15-transformers.md"
DESCRIPTION = (
    "A tiny character-level GPT, attention written out, learns to continue the course's own text."
)

LESSONS_DIR = course_dir("genai-basics") / "lessons"
VAL_FRACTION = 0.1  # the last tenth of the slice is held out
N_EVALS = 10  # validation-loss measurements over a run (plus one before training)
PROMPT = "The "  # how the generated sample starts
WORK_LIMIT = 1.2e12  # ≈ 40 s on one busy CPU thread; the default config is ≈ 2.3e11


@dataclass(frozen=True)
class Config:
    n_chars: int = Field(40_000, ge=5_000, le=100_000,
                         description="characters of lesson text used (the last 10% held out)")
    block_size: int = Field(48, ge=8, le=128, description="context length T in characters")
    n_layer: int = Field(2, ge=1, le=4, description="transformer blocks")
    n_head: int = Field(4, ge=1, le=8, description="attention heads per block")
    n_embd: int = Field(48, ge=16, le=128, description="embedding width C (divisible by n_head)")
    steps: int = Field(300, ge=1, le=2000, description="AdamW steps (one batch each)")
    batch_size: int = Field(24, ge=1, le=64, description="sequences per batch")
    learning_rate: float = Field(3e-3, gt=0, le=0.03, description="AdamW step size")
    sample_chars: int = Field(300, ge=1, le=500, description="characters generated afterwards")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed for batches, weights, sample")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd must be divisible by n_head, "
                             f"got n_embd={self.n_embd}, n_head={self.n_head}")
        if self.work() > WORK_LIMIT:
            raise ValueError(f"this run would take too long (work {self.work():.1e} > "
                             f"{WORK_LIMIT:.1e}): reduce steps, batch_size, block_size, n_layer, "
                             f"n_embd or n_head")
        return self

    def work(self) -> float:
        """A rough cost of the run, fitted to CPU timings, so no legal run takes much past a
        minute: per token and block, the matrix products (12 C² multiply-adds) plus the
        memory-bound element-wise work on the h (T × T) attention maps and the activations."""
        per_token = 12 * self.n_embd**2 + 1000 * self.n_head * self.block_size + 2000 * self.n_embd
        tokens = (self.steps * self.batch_size * self.block_size  # training: forward + backward
                  + (N_EVALS + 1) * self.n_chars * VAL_FRACTION / 3  # evaluations: forward only
                  + self.sample_chars * self.block_size / 3)  # sampling: one forward a character
        return tokens * self.n_layer * per_token


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention: the output (..., T_q, d_v) and the weights (..., T_q, T_k).

    ``mask`` is boolean, True where a query may look at a key (``F.scaled_dot_product_attention``'s
    convention); ``causal`` also hides every key after the query's own position.
    """
    T_q, T_k, d_k = q.size(-2), k.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k): q_i · k_j / √d_k
    allowed = torch.ones(T_q, T_k, dtype=torch.bool, device=q.device)
    if causal:
        allowed = allowed.tril()  # position i sees keys j ≤ i only
    if mask is not None:
        allowed = allowed & mask
    scores = scores.masked_fill(~allowed, float("-inf"))  # + M, with M = −∞ where hidden
    weights = torch.softmax(scores, dim=-1)  # each row sums to 1 over the visible keys
    return weights @ v, weights  # (..., T_q, d_v): a weighted average of the values


class MultiHeadAttention(nn.Module):
    """Self-attention in h heads of width C/h; one (C → 3C) projection makes q, k, v at once.

    The layout (q, k, v stacked, then an output projection) is ``nn.MultiheadAttention``'s,
    so its ``in_proj_weight`` / ``out_proj`` can be copied in.
    """

    def __init__(self, n_embd: int, n_head: int, causal: bool = True):
        super().__init__()
        self.n_head, self.causal = n_head, causal
        self.qkv = nn.Linear(n_embd, 3 * n_embd)  # W_Q, W_K, W_V stacked: (3C, C)
        self.proj = nn.Linear(n_embd, n_embd)  # W_O: mixes the concatenated heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, C = x.shape  # batch, time, channels
        q, k, v = self.qkv(x).split(C, dim=-1)  # (B, T, C) each
        # (B, T, C) → (B, h, T, C/h): each head attends over its own slice of the channels
        q, k, v = (z.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))
        y, weights = attention(q, k, v, causal=self.causal)  # (B, h, T, C/h), (B, h, T, T)
        y = y.transpose(1, 2).reshape(B, T, C)  # concatenate the heads again
        return self.proj(y), weights


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = MultiHeadAttention(n_embd, n_head)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(  # position-wise: the same MLP on every token
            nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, weights = self.attn(self.ln1(x))
        x = x + a  # residual: tokens gather information from earlier tokens
        x = x + self.mlp(self.ln2(x))  # residual: each token processes what it gathered
        return x, weights


class GPT(nn.Module):
    """Token + position embeddings → blocks → LayerNorm → logits over the vocabulary."""

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int,
                 n_embd: int, generator: torch.Generator | None = None):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embd)  # what each character is
        self.pos_emb = nn.Embedding(block_size, n_embd)  # where it is (learned positions)
        self.blocks = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size)
        for m in self.modules():  # small normal weights (GPT-2), drawn from our generator
            if isinstance(m, nn.Linear | nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02, generator=generator)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, T, V) for the next character at every position, and each block's
        attention weights (B, h, T, T)."""
        B, T = idx.shape  # batch, time
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T))  # (B, T, C)
        maps = []
        for block in self.blocks:
            x, weights = block(x)
            maps.append(weights)
        return self.head(self.ln_f(x)), maps

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """Append n characters to idx (1, T0), each sampled from p(next | last block_size)."""
        for _ in range(n):
            logits, _ = self(idx[:, -self.block_size:])  # (1, T, V)
            probs = torch.softmax(logits[:, -1], dim=-1)  # (1, V) for the next character
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)], dim=1)
        return idx


def load_text(n_chars: int) -> str:
    """The first n_chars characters of the lessons, in file order (a deterministic slice)."""
    files = sorted(LESSONS_DIR.glob("*.md"))
    if not files:
        raise FileNotFoundError(f"no lesson files in {LESSONS_DIR}")
    return "\n\n".join(f.read_text(encoding="utf-8") for f in files)[:n_chars]


@plain_dataclass
class Trained:
    model: GPT
    chars: list[str]  # the vocabulary: id → character
    val: torch.Tensor  # (N_val,) held-out character ids
    train_losses: list[float]  # per step
    eval_steps: list[float]  # when the validation loss was measured (0 = before training)
    val_losses: list[float]
    sample: str  # generated text, PROMPT included


def encode(text: str, chars: list[str]) -> torch.Tensor:
    stoi = {c: i for i, c in enumerate(chars)}
    return torch.tensor([stoi[c] for c in text], dtype=torch.long)


@torch.no_grad()
def evaluate(model: GPT, data: torch.Tensor, block_size: int) -> float:
    """Mean next-character cross-entropy (nats) over consecutive windows covering ``data``."""
    n = (len(data) - 1) // block_size  # whole windows that fit
    x = data[:n * block_size].view(n, block_size)  # (n, T)
    y = data[1:n * block_size + 1].view(n, block_size)  # (n, T): each next character
    logits, _ = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten()).item()


def train(config: Config, cancel: CancelCheck | None = None) -> Trained:
    gen = seeded(config.seed)
    text = load_text(config.n_chars)
    chars = sorted(set(text))
    data = encode(text, chars)  # (N,)
    n_val = int(len(data) * VAL_FRACTION)
    train_data, val = data[:-n_val], data[-n_val:]  # the held-out tail comes last
    T = config.block_size
    model = GPT(len(chars), T, config.n_layer, config.n_head, config.n_embd, generator=gen)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    every = max(1, config.steps // N_EVALS)
    train_losses: list[float] = []
    eval_steps, val_losses = [0.0], [evaluate(model, val, T)]
    for step in range(1, config.steps + 1):
        check_cancel(cancel)
        starts = torch.randint(0, len(train_data) - T, (config.batch_size,), generator=gen)
        idx = starts[:, None] + torch.arange(T + 1)  # (B, T + 1) positions in the text
        x, y = train_data[idx[:, :-1]], train_data[idx[:, 1:]]  # y is x shifted by one
        logits, _ = model(x)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())  # −log p(next char)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        train_losses.append(loss.item())
        if step % every == 0 or step == config.steps:
            eval_steps.append(float(step))
            val_losses.append(evaluate(model, val, T))
    prompt = PROMPT if all(c in chars for c in PROMPT) else chars[0]
    out = model.generate(encode(prompt, chars)[None], config.sample_chars, gen)[0]
    sample = "".join(chars[i] for i in out.tolist())
    return Trained(model, chars, val, train_losses, eval_steps, val_losses, sample)


def run(config: Config, cancel: CancelCheck | None = None) -> DemoResult:
    out = train(config, cancel)
    V = len(out.chars)
    uniform = math.log(V)  # the loss of guessing uniformly: ln V nats per character
    val_loss = out.val_losses[-1]
    # One head of the last block, looking at the start of the held-out text.
    snippet = out.val[:min(32, config.block_size)]  # (T,)
    with torch.no_grad():
        _, maps = out.model(snippet[None])
    heat = maps[-1][0, 0].numpy()  # (T, T): query rows, key columns
    labels = ["␣" if c == " " else repr(c)[1:-1] for c in (out.chars[i] for i in snippet.tolist())]
    lines = [seg for para in out.sample.split("\n") for seg in textwrap.wrap(para, 72) or [""]]

    def draw_losses(fig):
        ax = fig.add_subplot()
        ax.plot(range(1, len(out.train_losses) + 1), out.train_losses, lw=1, alpha=0.6,
                label="training batch")
        ax.plot(out.eval_steps, out.val_losses, "o-", color="C3", label="held-out tail")
        ax.axhline(uniform, color="0.5", ls=":", lw=1, label=f"uniform guess, ln {V}")
        ax.set(xlabel="step", ylabel="cross-entropy (nats per character)")
        ax.legend(fontsize=7)

    def draw_attention(fig):
        ax = fig.add_subplot()
        ax.imshow(heat, cmap="Blues", vmin=0, vmax=1)
        ticks = range(len(labels))
        ax.set_xticks(ticks, labels, fontsize=7, family="monospace")
        ax.set_yticks(ticks, labels, fontsize=7, family="monospace")
        ax.set(xlabel="key (attended to)", ylabel="query (attending)")

    def draw_sample(fig):
        shown = "\n".join(lines[:30]).replace("$", r"\$")  # a lone $ would start mathtext
        fig.text(0.03, 1 - 0.45 / fig.get_figheight(), shown, family="monospace", fontsize=8,
                 va="top", ha="left", linespacing=1.3)

    figures = [
        render(draw_losses, name="loss", title="Next-character loss", size=(5.0, 4.0)),
        render(draw_attention, name="attention",
               title=f"Attention weights, block {config.n_layer}, head 1", size=(5.5, 5.5)),
        render(draw_sample, name="sample", title=f"Sampled from the model after {PROMPT!r}",
               size=(6.5, 0.7 + 0.15 * min(len(lines), 30))),
    ]
    what = (f"A {config.n_layer}-block, {config.n_head}-head character-level transformer "
            f"trained for {config.steps} steps on {config.n_chars:,} characters of this course "
            f"reaches a held-out loss of {val_loss:.2f} nats per character "
            f"({val_loss / math.log(2):.2f} bits), down from {out.val_losses[0]:.2f} before "
            f"training and {uniform:.2f} for a uniform guess over its {V} characters.")
    return DemoResult(
        demo="transformer",
        metrics={"val_loss": val_loss, "train_loss": out.train_losses[-1],
                 "bits_per_char": val_loss / math.log(2), "initial_val_loss": out.val_losses[0],
                 "uniform_loss": uniform, "vocab_size": float(V)},
        figures=figures,
        explanation=what + " Lesson 15 (Transformers) explains the scaled dot-product attention "
                           "softmax(QKᵀ/√d_k)V, the multiple heads and the position information it "
                           "is built from.",
        lesson=LESSON,
        history={"train_loss": out.train_losses, "val_loss": out.val_losses,
                 "val_step": out.eval_steps},
    )
