"""/v1/ask, /v1/feedback and the OpenAI-compatible routes over real HTTP, with real
clients (httpx, the official openai client, LangChain's ChatOpenAI); a scripted
generator stands in for the model so these run in seconds."""

import json
import time

import httpx
import pytest

from api.app import create_app
from api.deps import get_answer_service, get_demo_runner, get_search_service
from demos.registry import DemoRunner
from generator.answer import AnswerService
from generator.conversations import ConversationStore
from generator.prompts import NOT_COVERED
from retriever.service import SearchService
from studyhall.core.settings import AnswerSettings, ServerSettings
from tests.conftest import ScriptedGenerator, serving
from tests.demos.test_registry import PERCEPTRON


def reply(messages):
    if "standalone question" in messages[0].content:
        return "What does the encoder of a variational autoencoder do?"
    return "The discriminator tells real from fake [1]. Unknown [7]."


@pytest.fixture
def running(settings, catalog, fake_embedder, ingestor, course_dir, tmp_path):
    ingestor.ingest(course_dir, "tiny")
    settings = settings.model_copy(update={
        "server": ServerSettings(warm_up=False),
        "answer": AnswerSettings(min_confidence=0.3, max_waiting=1, judge=False),
    })
    app = create_app(settings)
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    generator = ScriptedGenerator(reply, delay=0.002)
    demos = DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON})
    answers = AnswerService(settings, search, generator, ConversationStore(tmp_path / "c.sqlite"),
                            demos=demos)
    app.dependency_overrides[get_search_service] = lambda: search
    app.dependency_overrides[get_demo_runner] = lambda: demos
    app.dependency_overrides[get_answer_service] = lambda: answers
    with serving(app) as base:
        yield base, answers, generator


def sse_events(response) -> list[tuple[str, dict]]:
    events, event = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            events.append((event, json.loads(line[6:])))
    return events


def test_ask_returns_the_answer_with_cited_sources_only(running):
    base, _, _ = running
    body = httpx.post(f"{base}/v1/ask", json={
        "question": "what does the discriminator do", "course": "tiny",
    }).json()
    assert body["answer"] == "The discriminator tells real from fake [1]. Unknown."
    assert body["refused"] is False
    [citation] = body["citations"]
    assert citation["n"] == 1 and citation["anchor"]["kind"] == "section"
    assert citation["location"] == "gans.md#section=the-discriminator"
    assert {"retrieve_ms", "first_token_ms", "total_ms"} <= set(body["timings"])
    assert body["session_id"] and body["message_id"]


def test_ask_streams_the_sources_first_then_tokens_then_the_whole_answer(running):
    base, _, _ = running
    with httpx.stream("POST", f"{base}/v1/ask", json={
        "question": "what does the discriminator do", "course": "tiny", "stream": True,
    }) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    tokens = [data["text"] for kind, data in events if kind == "token"]
    kind, done = events[-1]
    assert kind == "done" and len(tokens) > 3
    kind, sources = events[0]
    assert kind == "sources" and sources["sources"][0]["n"] == 1
    assert sources["sources"][0]["location"] == done["citations"][0]["location"]
    assert "text" not in sources["sources"][0]  # where the sources are, not what they say
    assert "".join(tokens).strip() == "The discriminator tells real from fake [1]. Unknown ."
    assert done["answer"] == "The discriminator tells real from fake [1]. Unknown."


def test_an_uncovered_question_is_refused_with_suggestions(running):
    base, _, generator = running
    body = httpx.post(f"{base}/v1/ask", json={
        "question": "Quarterly tax filing deadline?", "course": "tiny",
    }).json()
    assert body["refused"] is True and body["answer"].startswith(NOT_COVERED)
    assert body["citations"] == [] and body["suggestions"]
    assert generator.calls == []


def test_follow_up_in_a_session_and_feedback(running):
    base, answers, _ = running
    first = httpx.post(f"{base}/v1/ask", json={"question": "what is a VAE", "course": "tiny"}).json()
    second = httpx.post(f"{base}/v1/ask", json={
        "question": "and its encoder?", "course": "tiny", "session_id": first["session_id"],
    }).json()
    assert second["standalone_question"] == "What does the encoder of a variational autoencoder do?"
    response = httpx.post(f"{base}/v1/feedback", json={"message_id": second["message_id"], "rating": -1})
    assert response.status_code == 201
    assert answers.store.feedback_counts() == {"up": 0, "down": 1}
    assert httpx.post(f"{base}/v1/feedback", json={"message_id": 9999, "rating": 1}).status_code == 404
    bad = httpx.post(f"{base}/v1/feedback", json={"message_id": second["message_id"], "rating": 5})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "rating"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"question": "", "course": "tiny"}, 422),
        ({"question": "x" * 3000, "course": "tiny"}, 413),
        ({"question": "gan", "course": "nope"}, 404),
        ({"question": "gan", "course": "tiny", "session_id": "nope"}, 404),
    ],
)
def test_bad_ask_requests(running, payload, status):
    base, _, _ = running
    assert httpx.post(f"{base}/v1/ask", json=payload).status_code == status


def test_a_full_queue_answers_503_with_retry_after(running):
    base, answers, _ = running
    held = [answers.queue.enter(), answers.queue.enter()]  # one generating, one waiting
    try:
        response = httpx.post(f"{base}/v1/ask", json={"question": "what is a GAN", "course": "tiny"})
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) >= 1
    finally:
        for ticket in held:
            ticket.leave()
    assert httpx.post(f"{base}/v1/ask", json={"question": "what is a GAN", "course": "tiny"}).status_code == 200


def test_a_client_that_disconnects_stops_its_generation(running):
    base, answers, generator = running
    generator.reply = lambda m: " ".join(["slow"] * 2000)
    generator.delay = 0.01
    with httpx.stream("POST", f"{base}/v1/ask", json={
        "question": "what is a GAN", "course": "tiny", "stream": True,
    }) as response:
        for line in response.iter_lines():
            if line.startswith("event: token"):
                break
    deadline = time.monotonic() + 10
    while (not generator.stopped_early or answers.queue.inside) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert generator.stopped_early and answers.queue.inside == 0
    # and the model is free again: the next request is answered, not stuck behind it
    generator.reply, generator.delay = reply, 0.0
    after = httpx.post(f"{base}/v1/ask", json={"question": "what is a GAN", "course": "tiny"},
                       timeout=5)
    assert after.status_code == 200


def test_the_official_openai_client_lists_courses_and_chats(running):
    from openai import OpenAI

    base, _, _ = running
    client = OpenAI(base_url=f"{base}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["studyhall/tiny"]
    completion = client.chat.completions.create(
        model="studyhall/tiny",
        messages=[{"role": "user", "content": "what does the discriminator do"}],
    )
    assert completion.choices[0].message.content.startswith("The discriminator tells")
    extra = completion.model_extra["studyhall"]
    assert extra["refused"] is False and extra["citations"][0]["source"] == "gans.md"

    stream = client.chat.completions.create(
        model="studyhall/tiny", stream=True,
        messages=[{"role": "user", "content": "what does the discriminator do"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "tells real from fake [1]" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["studyhall"]["citations"]
    first = next(c for c in chunks if c.model_extra.get("studyhall"))
    assert first.model_extra["studyhall"]["sources"][0]["source"] == "gans.md"
    assert chunks.index(first) < min(i for i, c in enumerate(chunks) if c.choices[0].delta.content)


def test_a_demo_request_in_the_chat_streams_its_result_and_serves_its_figure(running):
    base, _, generator = running
    with httpx.stream("POST", f"{base}/v1/ask", json={
        "question": "/demo perceptron gate=or", "course": "tiny", "stream": True,
    }) as response:
        events = sse_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and "token" in kinds
    demo = events[-1][1]["demo"]
    assert demo["tool"] == "perceptron" and demo["metrics"]["accuracy"] == 1.0
    figure = httpx.get(base + demo["figures"][0]["url"])
    assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")
    assert generator.calls == []
    bad = httpx.post(f"{base}/v1/ask", json={"question": "/demo perceptron epochs=0",
                                             "course": "tiny"})
    assert bad.status_code == 422 and "epochs must be between 1 and 1000" in bad.text


def test_the_openai_client_gets_a_demo_in_the_extra_field(running):
    from openai import OpenAI

    base, _, _ = running
    client = OpenAI(base_url=f"{base}/v1", api_key="unused")
    completion = client.chat.completions.create(
        model="studyhall/tiny",
        messages=[{"role": "user", "content": "show me a perceptron learning the OR gate"}],
    )
    demo = completion.model_extra["studyhall"]["demo"]
    assert demo["params"]["gate"] == "or"
    assert "accuracy 1" in completion.choices[0].message.content


def test_openai_history_is_used_for_follow_ups(running):
    from openai import OpenAI

    base, _, generator = running
    client = OpenAI(base_url=f"{base}/v1", api_key="unused")
    client.chat.completions.create(model="studyhall/tiny", messages=[
        {"role": "user", "content": "what is a variational autoencoder"},
        {"role": "assistant", "content": "A VAE compresses data [1]."},
        {"role": "user", "content": "and its encoder?"},
    ])
    rewrite, answer = generator.calls[-2:]
    assert "Student: what is a variational autoencoder" in rewrite[1].content
    assert "Question: What does the encoder of a variational autoencoder do?" in answer[1].content


def test_openai_errors_for_a_bad_model_or_no_user_message(running):
    from openai import BadRequestError, NotFoundError, OpenAI, UnprocessableEntityError

    base, _, _ = running
    client = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    with pytest.raises(UnprocessableEntityError):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(NotFoundError):
        client.chat.completions.create(model="studyhall/nope",
                                       messages=[{"role": "user", "content": "hi"}])
    with pytest.raises((UnprocessableEntityError, BadRequestError)):
        client.chat.completions.create(model="studyhall/tiny",
                                       messages=[{"role": "assistant", "content": "hi"}])


def test_langchain_chat_openai_talks_to_a_course(running):
    from langchain_openai import ChatOpenAI

    base, _, _ = running
    llm = ChatOpenAI(base_url=f"{base}/v1", api_key="unused", model="studyhall/tiny")
    message = llm.invoke("what does the discriminator do")
    assert message.content.startswith("The discriminator tells real from fake [1]")
    streamed = "".join(chunk.content for chunk in llm.stream("what does the discriminator do"))
    assert "real from fake [1]" in streamed


def test_the_openai_backend_streams_from_an_openai_compatible_server(running):
    """studyhall's own /v1/chat/completions is such a server: the backend must speak it."""
    from generator.backends.openai import OpenAIGenerator
    from generator.base import ChatMessage, GenerationParams

    base, _, _ = running
    backend = OpenAIGenerator(f"{base}/v1", "studyhall/tiny")
    pieces = list(backend.stream([ChatMessage("user", "what does the discriminator do")],
                                 GenerationParams(max_tokens=64)))
    assert len(pieces) > 3
    assert "".join(pieces).startswith("The discriminator tells real from fake [1]")


def test_a_conversation_past_its_message_limit_gets_429(running):
    base, answers, _ = running
    first = httpx.post(f"{base}/v1/ask", json={"question": "what does the discriminator do",
                                               "course": "tiny"}).json()
    session = first["session_id"]
    answers.settings.embed.max_session_messages = 2  # the app reads the same settings object
    ok = httpx.post(f"{base}/v1/ask", json={"question": "and the generator?", "course": "tiny",
                                            "session_id": session})
    assert ok.status_code == 200
    over = httpx.post(f"{base}/v1/ask", json={"question": "and then?", "course": "tiny",
                                              "session_id": session})
    assert over.status_code == 429 and "limit of 2 questions" in over.json()["detail"]
