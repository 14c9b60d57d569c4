"""The generator interface every backend implements."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    # the content in pieces, when some are worth caching on their own: (text, reusable)
    # pairs whose texts join to ``content`` (a source's body is reusable: it reads the same
    # wherever it lands in a prompt); a backend that cannot use them reads ``content``
    parts: tuple[tuple[str, bool], ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 320
    temperature: float = 0.0  # greedy: the same question gets the same answer
    stop: tuple[str, ...] = field(default_factory=tuple)
    # where a backend may keep what it computes for the prompt's reusable parts on disk
    # (the course version's kv/ folder); a backend that keeps nothing ignores it
    kv_folder: Path | None = None


class Generator(Protocol):
    name: str
    context_window: int  # tokens of prompt + answer the model can hold

    def load(self) -> None:
        """Load the weights now (otherwise the first call does)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Yield the answer as text pieces; stop early when ``cancel`` is set."""
        ...
