"""Admission to one worker (the model, the demo runner): one request works, a bounded
number wait, the rest are turned away at once with an estimate of when to retry (HTTP 503
+ Retry-After), instead of piling up without bound."""

from __future__ import annotations

import math
import threading
import time

from studyhall.core.errors import Busy


class ModelQueue:
    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._model = threading.Lock()
        self._count = threading.Lock()
        self._inside = 0  # generating + waiting
        self._mean_seconds = 10.0  # moving average of one generation

    @property
    def inside(self) -> int:
        return self._inside

    def enter(self) -> Ticket:
        """Join the queue now, or raise :class:`Busy` if it is full."""
        with self._count:
            if self._inside >= 1 + self.max_waiting:
                raise Busy(max(1, math.ceil(self._inside * self._mean_seconds)))
            self._inside += 1
        return Ticket(self)

    def _leave(self, seconds: float | None) -> None:
        with self._count:
            self._inside -= 1
            if seconds is not None:
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * seconds


class Ticket:
    """A place in the queue. ``with ticket:`` waits for the model and holds it (a request
    may do so more than once); :meth:`leave` gives the place up, once, at the end."""

    def __init__(self, queue: ModelQueue) -> None:
        self.queue = queue
        self._held_since = 0.0
        self._held_seconds: float | None = None
        self._left = False

    def __enter__(self) -> Ticket:
        self.queue._model.acquire()
        self._held_since = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self._held_seconds = (self._held_seconds or 0.0) + time.monotonic() - self._held_since
        self.queue._model.release()

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self.queue._leave(self._held_seconds)
