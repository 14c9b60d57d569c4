"""Any OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama, …) by base URL:
the way a school runs generation on a GPU cluster while studyhall does retrieval."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from generator.base import ChatMessage, GenerationParams
from generator.guard import defuse_control_tokens


class OpenAIGenerator:
    def __init__(self, base_url: str, model: str, *, api_key: str = "not-needed",
                 context_window: int = 8192, timeout: float = 120.0) -> None:
        self.base_url = base_url
        self.name = model
        self.context_window = context_window
        self.api_key = api_key
        self.timeout = timeout
        self._client = None

    def load(self) -> None:
        if self._client is None:
            try:
                from openai import OpenAI
            except ImportError:
                raise ImportError(
                    "the openai backend needs the openai package: pip install openai"
                ) from None
            self._client = OpenAI(
                base_url=self.base_url, api_key=self.api_key, timeout=self.timeout
            )

    def count_tokens(self, text: str) -> int:
        # No tokenizer on this side of the wire: a conservative estimate (≈ 3.5 chars/token).
        return max(1, int(len(text) / 3.5) + 1)

    def stream(self, messages: list[ChatMessage], params: GenerationParams,
               cancel: threading.Event | None = None) -> Iterator[str]:
        self.load()
        response = self._client.chat.completions.create(
            # the server renders its chat template with special tokens: defuse the markup
            model=self.name, messages=[{"role": m.role,
                                        "content": defuse_control_tokens(m.content)}
                                       for m in messages],
            max_tokens=params.max_tokens, temperature=params.temperature,
            stop=list(params.stop) or None, stream=True,
        )
        try:
            for chunk in response:
                if cancel is not None and cancel.is_set():
                    break
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        finally:
            response.close()
