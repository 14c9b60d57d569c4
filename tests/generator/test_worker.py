"""The model's worker thread: it computes what the caller iterates, at a lower priority
than the caller (and so do the threads it starts, as llama.cpp's OpenMP pool), stops at a
cancel or when the caller stops, and hands errors back."""

from __future__ import annotations

import os
import threading

import pytest

from generator.backends.worker import PriorityWorker


def nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class Source:
    """Counts up, and remembers whether it was closed and which thread ran it."""

    def __init__(self, n: int = 5) -> None:
        self.n, self.closed, self.thread_nice, self.child_nice = n, False, None, None

    def __iter__(self):
        self.thread_nice = nice_of_this_thread()
        seen = []
        child = threading.Thread(target=lambda: seen.append(nice_of_this_thread()))
        child.start()
        child.join()
        self.child_nice = seen[0]
        yield from range(self.n)

    def close(self) -> None:
        self.closed = True


def test_the_worker_computes_below_the_callers_priority_and_its_threads_do_too():
    worker, source = PriorityWorker(nice=5), Source()
    before = nice_of_this_thread()
    assert list(worker.iterate(lambda: iter(source))) == [0, 1, 2, 3, 4]
    assert nice_of_this_thread() == before  # the caller is never reniced
    assert source.thread_nice == min(19, before + 5) == worker.thread_nice
    assert source.child_nice == source.thread_nice  # inherited, as OpenMP's pool inherits it


def test_a_cancel_stops_the_work_at_its_next_item_and_closes_the_source():
    worker, cancel, taken = PriorityWorker(nice=0), threading.Event(), threading.Semaphore(0)
    made = []

    class Counting:  # makes item n only after the caller took item n-1
        closed = False

        def __iter__(self):
            for n in range(1000):
                if n and not taken.acquire(timeout=2):
                    return
                made.append(n)
                yield n

        def close(self):
            Counting.closed = True

    source = Counting()
    got = []
    for item in worker.iterate(lambda: source, cancel):
        got.append(item)
        if item == 2:
            cancel.set()
        taken.release()
    assert got == [0, 1, 2] and made == [0, 1, 2, 3] and Counting.closed


def test_a_caller_that_stops_early_frees_the_worker_for_the_next():
    worker = PriorityWorker(nice=0)
    first = worker.iterate(lambda: iter(range(10**9)))
    assert next(first) == 0
    first.close()  # as a generator whose consumer went away
    assert list(worker.iterate(lambda: iter("abc"))) == ["a", "b", "c"]


def test_an_error_on_the_worker_is_raised_to_the_caller():
    def broken():
        yield "fine"
        raise ValueError("the prompt is longer than the context")

    worker = PriorityWorker(nice=0)
    stream = worker.iterate(broken)
    assert next(stream) == "fine"
    with pytest.raises(ValueError, match="longer than the context"):
        next(stream)
    assert list(worker.iterate(lambda: iter([1]))) == [1]  # and it keeps serving
