import threading
import time

import pytest

from studyhall.core.errors import Busy, Cancelled
from studyhall.core.queue import ModelQueue


def test_one_generates_the_configured_number_wait_and_the_next_is_refused():
    queue = ModelQueue(max_waiting=2)
    tickets = [queue.enter() for _ in range(3)]
    with pytest.raises(Busy) as busy:
        queue.enter()
    assert busy.value.retry_after >= 1
    tickets[0].leave()
    queue.enter()  # a place came free


def test_leaving_twice_counts_once():
    queue = ModelQueue(max_waiting=0)
    ticket = queue.enter()
    ticket.leave()
    ticket.leave()
    assert queue.inside == 0


def test_the_model_is_held_by_one_ticket_at_a_time():
    queue = ModelQueue(max_waiting=1)
    first, second = queue.enter(), queue.enter()
    order = []
    with first:
        waiter = threading.Thread(target=lambda: (second.__enter__(), order.append("second"),
                                                  second.__exit__(None, None, None)))
        waiter.start()
        waiter.join(timeout=0.2)
        assert waiter.is_alive()  # blocked while the first holds the model
        order.append("first")
    waiter.join(timeout=5)
    assert order == ["first", "second"]


def test_a_ticket_may_hold_the_model_twice_and_stays_counted_until_it_leaves():
    queue = ModelQueue(max_waiting=0)
    ticket = queue.enter()
    with ticket:
        pass
    with ticket:
        pass
    with pytest.raises(Busy):
        queue.enter()
    ticket.leave()
    assert queue.inside == 0


def _wait_for(ticket, order, started):
    def run():
        started.set()
        with ticket:
            order.append(ticket.order)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_waiters_are_served_in_the_order_they_were_admitted():
    queue = ModelQueue(max_waiting=5)
    first, *later = [queue.enter() for _ in range(5)]
    order, threads = [], []
    with first:
        for ticket in reversed(later):  # they start waiting in the opposite order
            started = threading.Event()
            threads.append(_wait_for(ticket, order, started))
            started.wait(5)
            time.sleep(0.05)
    for thread in threads:
        thread.join(5)
    assert order == [t.order for t in later]


def test_a_waiter_whose_caller_went_away_leaves_without_the_model():
    queue = ModelQueue(max_waiting=2)
    first, gone, next_one = queue.enter(), queue.enter(), queue.enter()
    gone.cancel = threading.Event()
    raised, order = [], []

    def wait_then_cancel():
        try:
            with gone:
                order.append("gone")
        except Cancelled:
            raised.append(True)

    with first:
        thread = threading.Thread(target=wait_then_cancel)
        thread.start()
        time.sleep(0.1)
        gone.cancel.set()
        thread.join(5)
    with next_one:
        order.append("next")
    assert raised == [True] and order == ["next"]


def test_retry_after_grows_with_the_queue():
    queue = ModelQueue(max_waiting=10)
    alone = queue.retry_after()
    for _ in range(4):
        queue.enter()
    assert queue.retry_after() > alone


def test_with_slots_that_many_hold_the_model_together_in_order_and_the_rest_wait():
    queue = ModelQueue(max_waiting=1, slots=2)
    tickets = [queue.enter() for _ in range(3)]
    with pytest.raises(Busy):
        queue.enter()  # two working and one waiting: full
    entered = []

    def hold(ticket, done):
        with ticket:
            entered.append(ticket.order)
            done.wait(5)

    done = threading.Event()
    threads = [threading.Thread(target=hold, args=(t, done)) for t in tickets]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    time.sleep(0.3)
    assert sorted(entered) == [tickets[0].order, tickets[1].order]  # the third waits
    done.set()
    for thread in threads:
        thread.join(timeout=5)
    assert entered[-1] == tickets[2].order


def test_slots_asked_of_the_backend_follow_what_it_says_once_loaded():
    backend = {"parallel": 2}  # as configured, before the model is loaded
    queue = ModelQueue(max_waiting=1, slots=lambda: backend["parallel"])
    assert queue.slots == 2
    backend["parallel"] = 1  # loaded: it writes one answer at a time
    first, second = queue.enter(), queue.enter()
    with pytest.raises(Busy):
        queue.enter()  # one working and one waiting: full
    assert queue.slots == 1 and {first.order, second.order} == {0, 1}
