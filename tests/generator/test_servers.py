"""Several model servers behind the openai backend: the choice (pure), the pool's places,
and failover against small HTTP servers that answer the way a broken one does. The same
behaviour against real llama.cpp servers is in test_servers_real.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from generator.backends.openai import OpenAIGenerator
from generator.backends.servers import ServerPool, ServerState, backoff, pick
from generator.base import ChatMessage, GenerationParams
from studyhall.core.errors import Unavailable


def states(*loads: int, down: tuple[int, ...] = ()) -> list[ServerState]:
    return [ServerState(f"http://s{i}", in_flight=n, down_until=100.0 if i in down else 0.0)
            for i, n in enumerate(loads)]


def test_the_least_busy_server_is_picked():
    assert pick(states(2, 0, 1), now=0.0, limit=4, cursor=0) == 1


def test_ties_go_round_the_servers_from_the_cursor():
    idle = states(0, 0, 0)
    assert [pick(idle, 0.0, 4, cursor) for cursor in (0, 1, 2, 3)] == [0, 1, 2, 0]


def test_a_server_at_its_limit_or_down_is_passed_over():
    assert pick(states(4, 3), now=0.0, limit=4, cursor=0) == 1
    assert pick(states(0, 3, down=(0,)), now=0.0, limit=4, cursor=0) == 1
    assert pick(states(4, 4), now=0.0, limit=4, cursor=0) is None


def test_when_every_server_is_down_the_one_back_soonest_is_tried():
    pool = states(0, 0)
    pool[0].down_until, pool[1].down_until = 50.0, 20.0
    assert pick(pool, now=0.0, limit=4, cursor=0) == 1
    assert pick(pool, now=60.0, limit=4, cursor=1) == 1  # both back: the turn decides


def test_excluded_servers_are_not_picked():
    assert pick(states(0, 1), now=0.0, limit=4, cursor=0, exclude=frozenset({0})) == 1
    assert pick(states(0), now=0.0, limit=4, cursor=0, exclude=frozenset({0})) is None


def test_backoff_doubles_and_stops_at_thirty_seconds():
    assert [backoff(n) for n in (1, 2, 3, 6, 20)] == [1.0, 2.0, 4.0, 30.0, 30.0]


def test_a_full_pool_makes_the_next_request_wait_then_refuses_it():
    pool = ServerPool(["http://a", "http://b"], limit=1, wait_s=0.2)
    first, second = pool.acquire(), pool.acquire()
    assert {first, second} == {0, 1}
    with pytest.raises(Unavailable, match="every model server is busy"):
        pool.acquire()
    threading.Timer(0.05, pool.release, (first,), {"ok": True}).start()
    assert pool.acquire() == first  # the place given back is taken by the waiting request


def test_a_failed_server_is_left_out_until_its_backoff_ends():
    pool = ServerPool(["http://a", "http://b"], limit=4)
    pool.release(pool.acquire(), ok=False)  # server 0 failed once: out for a second
    assert [pool.acquire() for _ in range(3)] == [1, 1, 1]
    assert pool.snapshot()[0]["up"] is False and pool.snapshot()[0]["failures"] == 1


# --- small OpenAI-style servers: one that answers, one that fails, one that dies mid-answer


def sse(pieces: list[str], finish: bool = True) -> bytes:
    deltas = [({"content": p}, None) for p in pieces] + ([({}, "stop")] if finish else [])
    events = [{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}
              for delta, reason in deltas]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return (body + ("data: [DONE]\n\n" if finish else "")).encode()


class Server:
    """``mode``: ok (streams three pieces), error (500), die (one piece, then the
    connection drops), slow (waits ``delay`` before its headers)."""

    def __init__(self, mode: str, delay: float = 0.0) -> None:
        self.mode, self.delay, self.requests, self.answered = mode, delay, 0, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                outer.requests += 1
                self.rfile.read(int(self.headers["Content-Length"]))
                if outer.mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "boom"}}')
                    return
                time.sleep(outer.delay)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if outer.mode == "die":
                    self.wfile.write(sse(["half "], finish=False))
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(sse(["an ", "answer ", f"from {outer.mode}"]))
                outer.answered += 1

        class Quiet(ThreadingHTTPServer):
            daemon_threads, block_on_close = True, False

            def handle_error(self, request, client_address) -> None:
                pass  # a client that left mid-answer (the cancel tests) is expected

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made: list[Server] = []

    def make(mode: str, delay: float = 0.0) -> Server:
        made.append(Server(mode, delay))
        return made[-1]

    yield make
    for server in made:
        server.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


ASK = [ChatMessage("user", "what does the discriminator do")]


def test_a_server_that_refuses_connections_is_passed_over_for_the_next(servers):
    good = servers("ok")
    backend = OpenAIGenerator([closed_port_url(), good.url], "m", retries=1)
    backend.pool._cursor = 0  # the refusing server first
    assert "".join(backend.stream(ASK, GenerationParams())) == "an answer from ok"
    assert [s["up"] for s in backend.servers()] == [False, True]
    assert backend.servers()[1]["served"] == 1


def test_a_server_answering_500_is_retried_elsewhere(servers):
    bad, good = servers("error"), servers("ok")
    backend = OpenAIGenerator([bad.url, good.url], "m", retries=1)
    assert "".join(backend.stream(ASK, GenerationParams())) == "an answer from ok"
    assert bad.requests == 1 and good.requests == 1


def test_when_every_server_fails_the_error_names_each(servers):
    bad = servers("error")
    backend = OpenAIGenerator([bad.url, closed_port_url()], "m", retries=1)
    with pytest.raises(Unavailable, match="no model server answered") as error:
        list(backend.stream(ASK, GenerationParams()))
    assert "HTTP 500" in str(error.value) and "ConnectionError" in str(error.value)


def test_an_answer_cut_mid_stream_is_not_retried(servers):
    dying, good = servers("die"), servers("ok")
    backend = OpenAIGenerator([dying.url, good.url], "m", retries=2)
    pieces: list[str] = []
    with pytest.raises(Unavailable, match="stopped mid-answer"):
        for piece in backend.stream(ASK, GenerationParams()):
            pieces.append(piece)
    assert pieces == ["half "] and good.requests == 0  # never written twice


def test_cancel_mid_answer_stops_the_stream_and_frees_the_place(servers):
    backend = OpenAIGenerator([servers("ok").url], "m")
    cancel = threading.Event()
    stream = backend.stream(ASK, GenerationParams(), cancel)
    assert next(stream) == "an "
    cancel.set()
    assert list(stream) == []
    assert wait_for(lambda: backend.servers()[0]["in_flight"] == 0)


def test_cancel_ends_a_request_the_server_is_still_reading(servers):
    """llama.cpp's server sends its headers only after the prompt is read: a student who
    leaves during those seconds must not hold the place until then."""
    slow = servers("ok", delay=1.5)
    backend = OpenAIGenerator([slow.url], "m")
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    assert list(backend.stream(ASK, GenerationParams(), cancel)) == []
    assert slow.answered == 0  # returned while the server was still "reading"
    # the place is the server's until it answers and sees the connection gone
    assert backend.servers()[0]["in_flight"] == 1
    assert wait_for(lambda: backend.servers()[0]["in_flight"] == 0)


def test_the_model_queue_admits_as_many_answers_as_the_servers_take(servers):
    backend = OpenAIGenerator([servers("ok").url, servers("ok").url], "m", server_limit=3)
    assert backend.parallel == 6
