"""Any OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama, …) by base URL:
the way a school runs generation on a serving engine while studyhall does retrieval.

Several servers share the load (:mod:`generator.backends.servers`: least busy first,
``server_limit`` requests each). A request that fails before its first token (no
connection, a timeout, 5xx, 429) is sent to another server, up to ``retries`` more times;
once text has been streamed nothing is retried, so an answer is never written twice.
Setting ``cancel`` ends the stream at once, even while the server is still reading the
prompt; the connection is closed at the server's next byte, which stops it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from generator.backends.servers import ServerPool
from generator.base import ChatMessage, GenerationParams
from generator.guard import defuse_control_tokens
from studyhall.core.errors import Unavailable


class OpenAIGenerator:
    def __init__(self, base_url: str | list[str], model: str, *, api_key: str = "not-needed",
                 context_window: int = 8192, timeout: float = 120.0,
                 connect_timeout: float = 5.0, retries: int = 2, server_limit: int = 4) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.pool = ServerPool(urls, limit=server_limit, wait_s=timeout)
        self.name = model
        self.context_window = context_window
        self.api_key = api_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.parallel = self.pool.capacity  # the model queue lets this many run at once
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        try:
            import openai  # noqa: F401
        except ImportError:
            raise ImportError(
                "the openai backend needs the openai package: pip install openai"
            ) from None
        self._loaded = True

    def _client(self, server: int):
        """A client of its own per request, so that closing it (on cancel) ends only that
        request, even one still waiting for the server's first byte."""
        from openai import OpenAI, Timeout

        # retries are this backend's (to another server), not the client's (to the same)
        return OpenAI(base_url=self.pool.states[server].url, api_key=self.api_key,
                      timeout=Timeout(self.timeout, connect=self.connect_timeout),
                      max_retries=0)

    def count_tokens(self, text: str) -> int:
        # No tokenizer on this side of the wire: a conservative estimate (≈ 3.5 chars/token).
        return max(1, int(len(text) / 3.5) + 1)

    def stream(self, messages: list[ChatMessage], params: GenerationParams,
               cancel: threading.Event | None = None) -> Iterator[str]:
        import openai

        self.load()
        cancel = cancel or threading.Event()
        request = dict(
            # the server renders its chat template with special tokens: defuse the markup
            model=self.name, messages=[{"role": m.role,
                                        "content": defuse_control_tokens(m.content)}
                                       for m in messages],
            max_tokens=params.max_tokens, temperature=params.temperature,
            stop=list(params.stop) or None, stream=True,
        )
        retryable = (openai.APIConnectionError, openai.InternalServerError,
                     openai.RateLimitError, _Truncated)
        tried: set[int] = set()
        failures: list[str] = []
        while len(tried) <= self.retries and not cancel.is_set():
            server = self.pool.acquire(exclude=frozenset(tried))
            tried.add(server)
            url, streamed = self.pool.states[server].url, False
            stop = threading.Event()  # set when this attempt is over, however it ends
            reading = _Reading(self._client(server), request, cancel, stop,
                               lambda ok, server=server: self.pool.release(server, ok=ok))
            try:
                for piece in reading.pieces():
                    streamed = True
                    yield piece
                return
            except retryable as exc:
                if streamed:
                    raise Unavailable(f"the model server {url} stopped mid-answer: "
                                      f"{_reason(exc)}") from None
                failures.append(f"{url}: {_reason(exc)}")
                cancel.wait(min(0.2 * len(tried), 1.0))
            finally:
                stop.set()
        if failures and not cancel.is_set():
            raise Unavailable("no model server answered (" + "; ".join(failures) + ")")

    def servers(self) -> list[dict[str, object]]:
        """Each server's URL, load and health, as the pool sees them now."""
        return self.pool.snapshot()


class _Truncated(Exception):
    """A stream that stopped without its last chunk (the one with a finish reason)."""


def _reason(exc: Exception) -> str:
    if isinstance(exc, _Truncated):
        return str(exc)
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__.removeprefix("API")
    return f"HTTP {status}" if status else name


_END = object()


class _Reading:
    """One request, read on a thread of its own and handed over piece by piece, so the
    caller stops waiting the moment ``cancel`` is set, even before the server has sent its
    headers (llama.cpp's server reads the whole prompt first). The thread closes the
    connection at the next thing the server sends, which tells the server to stop, and
    only then gives the server's place back (``release``: True after a whole answer,
    False when the server failed, None when it was stopped or refused the request)."""

    def __init__(self, client, request: dict, cancel: threading.Event, stop: threading.Event,
                 release) -> None:
        self.pieces_ = queue.Queue()
        self.cancel, self.stop = cancel, stop
        threading.Thread(target=self._read, args=(client, request, release), daemon=True,
                         name="openai-stream").start()

    def _over(self) -> bool:
        return self.cancel.is_set() or self.stop.is_set()

    def _read(self, client, request: dict, release) -> None:
        import openai

        ok = None
        try:
            finished = False
            for chunk in client.chat.completions.create(**request):
                if self._over():
                    break
                if not chunk.choices:
                    continue
                finished = finished or chunk.choices[0].finish_reason is not None
                if chunk.choices[0].delta.content:
                    self.pieces_.put(chunk.choices[0].delta.content)
            if not self._over():
                if not finished:  # the connection ended before the server said it was done
                    raise _Truncated("the stream ended without a finish reason")
                ok = True
            self.pieces_.put(_END)
        except Exception as exc:  # handed to the caller, who decides on a retry
            failed = (openai.APIConnectionError, openai.InternalServerError, _Truncated)
            ok = False if isinstance(exc, failed) else None  # a 429 is busy, not broken
            self.pieces_.put(exc)
        finally:
            client.close()
            release(ok)

    def pieces(self) -> Iterator[str]:
        while not self.cancel.is_set():
            try:
                item = self.pieces_.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
