"""The MCP server, driven by the SDK's own client: in-process, over streamable HTTP
mounted in the API, and over stdio from `studyhall mcp`."""

import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from api.app import create_app
from api.mcp import build_mcp
from demos.registry import DemoRunner
from generator.answer import AnswerService
from generator.conversations import ConversationStore
from retriever.service import SearchService
from studyhall.core.settings import AnswerSettings, ServerSettings
from studyhall.services import build_services
from tests.conftest import ScriptedGenerator, serving
from tests.demos.test_registry import PERCEPTRON


@pytest.fixture
def state(settings, catalog, fake_embedder, ingestor, course_dir, tmp_path):
    ingestor.ingest(course_dir, "tiny")
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    settings = settings.model_copy(update={"answer": AnswerSettings(min_confidence=0.3,
                                                                    judge=False)})
    answers = AnswerService(settings, search, ScriptedGenerator(lambda m: "It judges [1]."),
                            ConversationStore(tmp_path / "c.sqlite"))
    runner = DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON})
    return build_services(settings, search=search, demos=runner, answers=answers)


def call(server, tool, args):
    async def go():
        async with Client(server) as client:
            return await client.call_tool(tool, args)
    return anyio.run(go)


def test_tools_are_listed_with_the_demo_parameters_as_schema(state):
    async def go():
        async with Client(build_mcp(state)) as client:
            return {t.name: t for t in (await client.list_tools()).tools}
    tools = anyio.run(go)
    assert set(tools) == {"search_course", "ask_course", "demo_perceptron"}
    schema = tools["demo_perceptron"].input_schema["properties"]
    assert schema["epochs"]["maximum"] == 1000 and schema["gate"]["enum"][0] == "and"
    assert "query" in tools["search_course"].input_schema["required"]


def test_search_course_returns_passages_with_locations(state):
    result = call(build_mcp(state), "search_course", {"query": "the KL term", "course": "tiny", "k": 2})
    assert not result.is_error
    hits = result.structured_content["result"]
    assert len(hits) == 2 and hits[0]["location"] == "vaes.md#section=the-kl-term"


def test_ask_course_answers_with_citations(state):
    result = call(build_mcp(state), "ask_course",
                  {"question": "what does the discriminator do", "course": "tiny"})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["answer"] == "It judges [1]." and answer["citations"][0]["n"] == 1


def test_a_demo_tool_returns_text_numbers_and_png_images(state):
    result = call(build_mcp(state), "demo_perceptron", {"gate": "or"})
    assert not result.is_error
    kinds = [block.type for block in result.content]
    assert kinds[0] == "text" and kinds.count("image") == 2
    assert result.content[1].mime_type == "image/png"
    assert result.structured_content["metrics"]["accuracy"] == 1.0


def test_bad_demo_parameters_are_a_tool_error_naming_the_field(state):
    result = call(build_mcp(state), "demo_perceptron", {"epochs": 0})
    assert result.is_error
    assert "epochs" in result.content[0].text


def test_mcp_over_streamable_http_in_the_api(state, settings):
    state.settings = settings.model_copy(update={"server": ServerSettings(warm_up=False)})
    app = create_app(services=state)
    with serving(app) as base:
        url = f"{base}/mcp"
        result = call(url, "search_course", {"query": "mode collapse", "course": "tiny", "k": 1})
        assert result.structured_content["result"][0]["source"] == "gans.md"
        result = call(url, "demo_perceptron", {"gate": "nand", "epochs": 40})
        assert result.structured_content["metrics"]["accuracy"] == 1.0


def test_studyhall_mcp_over_stdio(tmp_path):
    command = Path(sys.executable).with_name("studyhall")
    env = {**os.environ, "STUDYHALL_DATA_DIR": str(tmp_path / "data")}
    params = StdioServerParameters(command=str(command), args=["mcp"], env=env)
    result = call(params, "demo_perceptron", {"gate": "and"})
    assert result.structured_content["tool"] == "perceptron"
    assert result.structured_content["metrics"]["accuracy"] == 1.0


def initialize(client, host: str, origin: str | None = None):
    """An MCP initialize request over HTTP, with the given Host (and Origin)."""
    headers = {"Host": host, "Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    return client.post("/mcp", headers=headers, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}})


@pytest.mark.parametrize(("host", "public_url", "allowed", "refused"), [
    ("127.0.0.1", None, ["127.0.0.1:8000", "localhost:8000"], ["evil.example", "10.0.0.5:8000"]),
    ("0.0.0.0", "https://tutor.school.edu", ["tutor.school.edu", "127.0.0.1:8000"],
     ["evil.example", "tutor.school.edu.evil.example"]),
    ("10.0.0.5", None, ["10.0.0.5:8000"], ["evil.example"]),
])
def test_mcp_answers_only_the_hosts_it_is_served_at(state, host, public_url, allowed, refused):
    """DNS rebinding: a page on another site that resolves its name to this server must
    not reach MCP; the Host allow-list follows `serve --host` and server.public_url."""
    from fastapi.testclient import TestClient

    settings = state.settings.model_copy(update={"server": ServerSettings(
        warm_up=False, host=host, public_url=public_url)})
    app = create_app(services=build_services(settings, search=state.search, demos=state.demos,
                                             answers=state.answers))
    with TestClient(app) as client:
        for name in allowed:
            assert initialize(client, name).status_code == 200, name
        for name in refused:
            response = initialize(client, name)
            assert response.status_code in (400, 421), (name, response.status_code)
        assert initialize(client, allowed[0], origin="http://evil.example").status_code in (
            400, 403)


def test_idle_mcp_sessions_expire(state):
    """A session nobody uses ends after server.mcp_session_idle_s, so sessions cannot pile up."""
    import time

    from fastapi.testclient import TestClient

    settings = state.settings.model_copy(update={"server": ServerSettings(
        warm_up=False, mcp_session_idle_s=1)})
    app = create_app(services=build_services(settings, search=state.search, demos=state.demos,
                                             answers=state.answers))
    with TestClient(app) as client:
        opened = initialize(client, "127.0.0.1:8000")
        session = opened.headers["mcp-session-id"]
        headers = {"Host": "127.0.0.1:8000", "mcp-session-id": session,
                   "Accept": "application/json, text/event-stream",
                   "Content-Type": "application/json", "mcp-protocol-version": "2025-06-18"}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert client.post("/mcp", headers=headers, json=ping).status_code == 200
        time.sleep(2.5)
        assert client.post("/mcp", headers=headers, json=ping).status_code == 404
