"""Several OpenAI-compatible model servers behind one backend: which one takes a request.

A school that outgrows one machine runs its model on a serving engine (vLLM, llama.cpp's
server, Ollama), often more than one. :class:`ServerPool` sends each request to the least
busy server that is up and has room (``limit`` requests at once each); ties go round the
servers in turn, so an idle pool is plain round-robin. A server that fails to connect,
times out or answers 5xx is left out for a while that doubles with each failure in a row
(1 s, 2 s, 4 s … at most 30 s) and is tried again after it; when every server is out, the
one out longest is tried rather than none. :func:`pick` is the decision, pure.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from studyhall.core.errors import Unavailable

MAX_BACKOFF_S = 30.0


@dataclass
class ServerState:
    url: str
    in_flight: int = 0  # requests it is serving now
    failures: int = 0  # failures in a row
    down_until: float = 0.0  # monotonic time before which it is left out
    served: int = 0  # requests it finished well


def pick(states: list[ServerState], now: float, limit: int, cursor: int,
         exclude: frozenset[int] = frozenset()) -> int | None:
    """The server for the next request: the least busy of those up and under ``limit``,
    ties broken by the turn (the first at or after ``cursor``); if every one with room is
    down, the one whose time out ends first. None when none has room."""
    room = [i for i, s in enumerate(states) if s.in_flight < limit and i not in exclude]
    if not room:
        return None
    up = [i for i in room if states[i].down_until <= now]
    if not up:
        return min(room, key=lambda i: states[i].down_until)
    return min(up, key=lambda i: (states[i].in_flight, (i - cursor) % len(states)))


def backoff(failures: int) -> float:
    """Seconds a server is left out after ``failures`` failures in a row."""
    return min(MAX_BACKOFF_S, 2.0 ** max(0, failures - 1))


class ServerPool:
    """The servers' states under one lock; a request waits (up to ``wait_s``) while every
    server is at its limit."""

    def __init__(self, urls: list[str], *, limit: int = 4, wait_s: float = 60.0) -> None:
        if not urls:
            raise ValueError("a server pool needs at least one URL")
        self.states = [ServerState(url) for url in urls]
        self.limit = limit
        self.wait_s = wait_s
        self._cursor = 0
        self._room = threading.Condition()

    @property
    def capacity(self) -> int:
        """Requests the pool serves at once."""
        return self.limit * len(self.states)

    def acquire(self, exclude: frozenset[int] = frozenset()) -> int:
        """Take a place on a server (not one in ``exclude`` while another has room)."""
        deadline = time.monotonic() + self.wait_s
        with self._room:
            while True:
                now = time.monotonic()
                chosen = pick(self.states, now, self.limit, self._cursor, exclude)
                if chosen is None and exclude:
                    chosen = pick(self.states, now, self.limit, self._cursor)
                if chosen is not None:
                    self.states[chosen].in_flight += 1
                    self._cursor = (chosen + 1) % len(self.states)
                    return chosen
                if now >= deadline or not self._room.wait(deadline - now):
                    raise Unavailable(
                        f"every model server is busy ({self.capacity} answers at once); "
                        "try again shortly")

    def release(self, index: int, *, ok: bool | None) -> None:
        """Give the place back: ``ok`` True after a good answer, False after the server
        failed (it is left out for a while), None when the caller stopped it."""
        with self._room:
            state = self.states[index]
            state.in_flight -= 1
            if ok:
                state.failures, state.down_until = 0, 0.0
                state.served += 1
            elif ok is False:
                state.failures += 1
                state.down_until = time.monotonic() + backoff(state.failures)
            self._room.notify()

    def snapshot(self) -> list[dict[str, object]]:
        """Each server's URL, load and health (what the backend's ``servers()`` shows)."""
        now = time.monotonic()
        with self._room:
            return [{"url": s.url, "in_flight": s.in_flight, "served": s.served,
                     "up": s.down_until <= now, "failures": s.failures} for s in self.states]
