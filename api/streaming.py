"""Run a blocking answer stream in a worker thread and hand its events to an async
response. When the client goes away, Starlette closes the response body; the body must
close this bridge with it (``async with aclosing(bridge(...))``: a nested async
generator is not closed with its parent), whose ``finally`` sets the cancel event, so
the generation stops at its next token and the model is freed. The connection is also
polled while waiting for a slow first token."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, closing

from api.errors import STATUS
from studyhall.core.errors import StudyhallError

log = logging.getLogger(__name__)
_END = object()
POLL_SECONDS = 0.5


async def bridge(start: Callable[[threading.Event], Iterator],
                 disconnected: Callable[[], Awaitable[bool]] | None = None) -> AsyncIterator:
    """Yield the items of ``start(cancel)``, produced in a thread; errors re-raise here.
    Stops early when ``disconnected()`` says the client has gone."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    cancel = threading.Event()

    def work() -> None:
        try:
            # closing(): leaving early must close the answer stream, which releases the
            # model and stops the backend, not leave it suspended until garbage collection
            with closing(start(cancel)) as items:
                for item in items:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                    if cancel.is_set():
                        break
        except BaseException as exc:  # handed to the async side
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=POLL_SECONDS)
            except TimeoutError:
                item = None
            if disconnected is not None and await disconnected():
                log.info("client disconnected; stopping the generation")
                return
            if item is None:
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancel.set()
        await asyncio.shield(worker) if worker.done() else None


def stream_error(exc: BaseException) -> dict[str, object]:
    """An error that ends a stream already under way, as its last event says it: a studyhall
    error's own message and kind; anything else only that it failed (the details go to the
    log, not to the client)."""
    if isinstance(exc, StudyhallError):
        return {"message": str(exc), "type": exc.kind, "code": STATUS[exc.kind]}
    log.error("an answer stream failed", exc_info=exc)
    return {"message": "the answer failed on the server; try again", "type": "failed",
            "code": 500}


def sse(event: str, data: dict | str) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n"


async def run_turn(turn, is_disconnected: Callable[[], Awaitable[bool]]):
    """A prepared turn run to its answer in a worker thread, for a JSON reply; None when the
    client went away first (its generation is stopped and its queue place freed, as for a
    stream)."""
    async for kind, payload in turn_events(turn, is_disconnected):
        if kind == "done":
            return payload
    return None


async def turn_events(turn, is_disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator:
    """The (kind, payload) events of a prepared answer turn, for a streaming response;
    its queue place is given up however the response ends (even if it never starts)."""
    try:
        async with aclosing(bridge(turn.stream, is_disconnected)) as events:
            async for event in events:
                yield event
    finally:
        turn.abandon()
