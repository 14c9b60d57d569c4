"""The thread a local model computes on, at a lower CPU priority than the rest.

Generation takes every core for seconds; a search takes a few milliseconds of them. With
both at the same priority, a search waits for the model's threads, and its latency under
load is the model's to decide. Run at a higher nice value (Linux: a per-thread attribute,
inherited by the threads it starts, so llama.cpp's OpenMP pool gets it too), the model
yields the cores whenever a request needs them and takes them back when it is done: alone,
it runs exactly as fast as before.

The worker is one long-lived thread (a raised nice value cannot be lowered again without
privilege, so no request thread is ever reniced) that runs one token iterator at a time;
the caller iterates what it produces through a queue.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def lower_priority(nice: int) -> int:
    """Raise the calling thread's nice value by ``nice``; its value afterwards."""
    tid = threading.get_native_id()
    if nice > 0:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
        except OSError as exc:  # not Linux, or a sandbox that forbids it: run as we are
            log.warning("could not lower the model thread's priority: %s", exc)
    return os.getpriority(os.PRIO_PROCESS, tid)


class PriorityWorker(Generic[T]):
    """One thread, at ``nice`` above the process, that runs token iterators one at a time."""

    def __init__(self, nice: int, name: str = "model") -> None:
        self.nice = nice
        self.name = name
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.thread_nice: int | None = None  # the worker's nice value, once it runs

    def _run(self) -> None:
        self.thread_nice = lower_priority(self.nice)
        while True:
            self._jobs.get()()

    def _ensure_thread(self) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def iterate(self, make: Callable[[], Iterator[T]],
                cancel: threading.Event | None = None) -> Iterator[T]:
        """What ``make()`` yields, computed on the worker. Setting ``cancel``, or closing
        the returned iterator, ends the work at its next item, and ``close()`` is called on
        what ``make`` returned; an error on the worker is raised here."""
        out: queue.Queue = queue.Queue()
        stop = threading.Event()  # the caller's ``cancel`` is theirs: never set here

        def job() -> None:
            try:
                items = make()
                try:
                    for item in items:
                        if stop.is_set() or (cancel is not None and cancel.is_set()):
                            break
                        out.put(item)
                finally:
                    close = getattr(items, "close", None)
                    if close is not None:
                        close()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                out.put(_Failed(exc))
            finally:
                out.put(_END)

        self._ensure_thread()
        self._jobs.put(job)
        try:
            while (item := out.get()) is not _END:
                if isinstance(item, _Failed):
                    raise item.error
                if cancel is not None and cancel.is_set():
                    break  # what the worker made ahead is not wanted either
                yield item
        finally:
            stop.set()
            while item is not _END:  # the next job must find the model free
                item = out.get()
