"""`studyhall serve` as a real process over real HTTP, on the bundled course."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(process: subprocess.Popen, base: str, log: Path,
                       seconds: float = 300) -> None:
    """Until ``base`` answers /healthz (start-up loads the embedder and the model)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"server did not become healthy in {seconds:g} s")


@pytest.fixture(scope="module")
def server(bundled_service, bundled_settings):
    port = free_port()
    env = os.environ | {"STUDYHALL_DATA_DIR": str(bundled_settings.data_dir),
                        "STUDYHALL_MODELS_DIR": str(bundled_settings.model_store)}
    # as `make run` does: the bundled course is public (new courses default to lms)
    subprocess.run([sys.executable, "-m", "studyhall.cli", "course", "visibility",
                    "genai-basics", "public"], env=env, check=True, capture_output=True)
    log = bundled_settings.data_dir / "serve.log"  # a file: an unread pipe blocks the server
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, base, log)
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_health_and_courses_over_http(server):
    assert httpx.get(f"{server}/healthz").json()["courses"] == ["genai-basics"]
    [course] = httpx.get(f"{server}/v1/courses").json()["courses"]
    assert course["title"] == "GenAI – The Basics"
    assert course["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert course["dimension"] == 384 and course["files"] == 26


def test_search_over_http_cites_the_right_section(server):
    response = httpx.post(f"{server}/v1/search", json={
        "query": "Why is it so hard to train a GAN?", "course": "genai-basics", "k": 5,
    })
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert any(
        h["location"] == "lessons/16-generative-adversarial-networks.md"
                         "#section=why-gan-training-is-unstable"
        for h in hits[:3]
    )


def test_notebook_hits_carry_cell_anchors(server):
    hits = httpx.post(f"{server}/v1/search", json={
        "query": "compare my attention with scaled_dot_product_attention from torch",
        "course": "genai-basics", "k": 5,
    }).json()["hits"]
    notebook_hits = [h for h in hits if h["source"].endswith(".ipynb")]
    assert notebook_hits and all(h["anchor"]["kind"] == "cell" for h in notebook_hits)


def test_bad_requests_over_http_and_the_server_keeps_serving(server):
    assert httpx.post(f"{server}/v1/search", json={"query": "", "course": "genai-basics"}).status_code == 422
    assert httpx.post(f"{server}/v1/search", json={"query": "x", "course": "nope"}).status_code == 404
    big = httpx.post(f"{server}/v1/search", content=b"x" * (5 << 20),
                     headers={"content-type": "application/json"})
    assert big.status_code == 413
    ok = httpx.post(f"{server}/v1/search", json={"query": "what is a VAE", "course": "genai-basics"})
    assert ok.status_code == 200 and ok.json()["hits"]


def test_ask_streams_a_cited_answer_from_the_real_model(server):
    with httpx.stream("POST", f"{server}/v1/ask", timeout=120, json={
        "question": "Who proposed the LSTM and when?", "course": "genai-basics", "stream": True,
    }) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith(("event:", "data:"))]
    events = [line[7:] for line in lines if line.startswith("event:")]
    assert events.count("token") >= 2 and events[-1] == "done"
    import json

    done = json.loads(lines[-1][6:])
    assert "1997" in done["answer"] and done["citations"] and not done["refused"]
    assert done["timings"]["first_token_ms"] > 0


def test_openai_client_against_the_real_server(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused", timeout=120)
    assert "studyhall/genai-basics" in [m.id for m in client.models.list()]
    completion = client.chat.completions.create(
        model="studyhall/genai-basics",
        messages=[{"role": "user", "content": "How many credits is this course worth?"}],
    )
    assert completion.model_extra["studyhall"]["refused"] is True
