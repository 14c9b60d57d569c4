"""The openai backend over real model servers (llama-cpp-python's OpenAI-compatible server,
a serving engine nobody here wrote): a grounded answer from the default model; and, on two
servers of the tiny model (quick), two students on two servers, a server killed, a student
who leaves during the prompt."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from generator.answer import AnswerService
from generator.backends.openai import OpenAIGenerator
from generator.base import ChatMessage, GenerationParams
from generator.models import resolve_model

pytestmark = pytest.mark.slow

SHORT = [ChatMessage("user", "Name one colour of the rainbow. One word.")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_path, port: int, alias: str = "default") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
         "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", "1", "--verbose", "false",
         "--interrupt_requests", "false"],  # queue a second request, do not cut the first
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the model server at {url} exited ({process.returncode})")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the model server at {url} did not start in {seconds:.0f} s")


@contextmanager
def servers(model_path, count: int, alias: str) -> Iterator[tuple[list[str], list]]:
    ports = [free_port() for _ in range(count)]
    processes = [start_server(model_path, port, alias) for port in ports]
    urls = [f"http://127.0.0.1:{port}/v1" for port in ports]
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_until_up(url, process)
        yield urls, processes
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


@pytest.fixture(scope="module")
def default_server(bundled_answers):
    with servers(bundled_answers.generator.model_path, 1, "default") as (urls, _):
        yield urls


@pytest.fixture(scope="module")
def model_servers(models_dir) -> Iterator[tuple[list[str], list[subprocess.Popen]]]:
    """Two servers of the tiny model, for what does not need a good answer."""
    with servers(resolve_model("tiny", models_dir), 2, "default") as found:
        yield found


def test_a_grounded_answer_from_a_model_server(default_server, bundled_answers):
    backend = OpenAIGenerator(default_server, "default", context_window=4096)
    service = AnswerService(bundled_answers.settings, bundled_answers.search, backend)
    answer = service.ask("What does the discriminator do in a GAN?", "genai-basics",
                         history=[])
    assert not answer.refused, answer.text
    assert answer.citations and "[1]" in answer.text
    assert "real" in answer.text.lower() or "fake" in answer.text.lower()
    assert sum(s["served"] for s in backend.servers()) == 1


def test_two_students_at_once_are_served_by_the_two_servers(model_servers):
    urls, _ = model_servers
    backend = OpenAIGenerator(urls, "default")
    answers: list[str] = []

    def ask() -> None:
        answers.append("".join(backend.stream(SHORT, GenerationParams(max_tokens=8))))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(answers) == 2 and all(a.strip() for a in answers)
    assert [s["served"] for s in backend.servers()] == [1, 1]  # one each, not both on one


def test_a_student_who_leaves_during_the_prompt_frees_the_server(model_servers):
    urls, _ = model_servers
    backend = OpenAIGenerator(urls[:1], "default")
    long_prompt = [ChatMessage("user", "Summarise: " + "the generator makes images. " * 120)]
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    assert list(backend.stream(long_prompt, GenerationParams(max_tokens=200), cancel)) == []
    deadline = time.monotonic() + 240
    while backend.servers()[0]["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert backend.servers()[0]["in_flight"] == 0
    # the server is not left writing 200 tokens for nobody: the next student is served
    assert "".join(backend.stream(SHORT, GenerationParams(max_tokens=8))).strip()


def test_a_killed_server_is_passed_over_and_the_answer_still_comes(model_servers):
    urls, processes = model_servers
    backend = OpenAIGenerator(urls, "default", retries=1)
    os.killpg(processes[0].pid, signal.SIGKILL)
    processes[0].wait(timeout=30)
    backend.pool._cursor = 0  # the dead server's turn first
    assert "".join(backend.stream(SHORT, GenerationParams(max_tokens=8))).strip()
    first, second = backend.servers()
    assert first["up"] is False and first["failures"] == 1
    assert second["served"] == 1
