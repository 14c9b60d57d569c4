import threading

import pytest

from studyhall.core.errors import Busy
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
