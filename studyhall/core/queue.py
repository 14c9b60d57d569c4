"""Admission to one worker (the model, the demo runner): ``slots`` requests work at once
(one, unless the model decodes several sequences together), a bounded number wait, the
rest are turned away at once with an estimate of when to retry (HTTP 503 + Retry-After),
instead of piling up without bound.

Waiters are served in the order they were admitted, first come first served: a request
that holds the model more than once (a follow-up's rewrite, then its answer) keeps its
place, so requests finish in the order they came, and nobody waits behind later arrivals.
A waiter whose caller went away leaves the queue without ever taking the model.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable

from studyhall.core.errors import Busy, Cancelled

_POLL_S = 0.2  # how often a waiter looks at its cancel switch


class ModelQueue:
    def __init__(self, max_waiting: int, slots: int | Callable[[], int] = 1) -> None:
        self.max_waiting = max_waiting
        self._slots = slots  # or how to ask: a backend knows only once its model is loaded
        self._state = threading.Condition()
        self._holders: set[Ticket] = set()
        self._waiting: list[tuple[int, Ticket]] = []  # a heap, by admission order
        self._order = itertools.count()
        self._inside = 0  # holding + waiting
        self._mean_seconds = 10.0  # moving average of one request's time on the model

    @property
    def slots(self) -> int:
        """How many hold the model at once."""
        return self._slots() if callable(self._slots) else self._slots

    @property
    def inside(self) -> int:
        return self._inside

    def enter(self) -> Ticket:
        """Join the queue now, or raise :class:`Busy` if it is full."""
        with self._state:
            if self._inside >= self.slots + self.max_waiting:
                raise Busy(self.retry_after())
            self._inside += 1
            return Ticket(self, next(self._order))

    def retry_after(self) -> int:
        """Seconds until a new arrival would reach the model: everyone inside, one after
        another, at the measured time each takes."""
        return max(1, math.ceil(self._inside / self.slots * self._mean_seconds))

    def _acquire(self, ticket: Ticket) -> None:
        with self._state:
            heapq.heappush(self._waiting, (ticket.order, ticket))
            try:
                while len(self._holders) >= self.slots or self._waiting[0][1] is not ticket:
                    if ticket.cancel is not None and ticket.cancel.is_set():
                        raise Cancelled("the request was cancelled while it waited")
                    self._state.wait(_POLL_S)
            except BaseException:
                self._waiting.remove((ticket.order, ticket))
                heapq.heapify(self._waiting)
                self._state.notify_all()
                raise
            heapq.heappop(self._waiting)
            self._holders.add(ticket)
            self._state.notify_all()  # the next in line may take a free slot too

    def _release(self, ticket: Ticket) -> None:
        with self._state:
            self._holders.discard(ticket)
            self._state.notify_all()

    def _leave(self, seconds: float | None) -> None:
        with self._state:
            self._inside -= 1
            if seconds is not None:
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * seconds


class Ticket:
    """A place in the queue. ``with ticket:`` waits for the model and holds it (a request
    may do so more than once, keeping its place); :meth:`leave` gives the place up, once,
    at the end. With :attr:`cancel` set, a ticket still waiting gives up when it fires."""

    def __init__(self, queue: ModelQueue, order: int) -> None:
        self.queue = queue
        self.order = order
        self.cancel: threading.Event | None = None
        self._held_since = 0.0
        self._held_seconds: float | None = None
        self._left = False

    def __lt__(self, other: Ticket) -> bool:  # heap ties never happen: orders are unique
        return self.order < other.order

    def __enter__(self) -> Ticket:
        self.queue._acquire(self)
        self._held_since = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self._held_seconds = (self._held_seconds or 0.0) + time.monotonic() - self._held_since
        self.queue._release(self)

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self.queue._leave(self._held_seconds)
