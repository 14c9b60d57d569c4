"""Every route and MCP tool that reads a course, and every instructor route, for each kind
of caller: anonymous, a key of another course, a student, an instructor of another course,
a key of the course (read, or instruct), an instructor of it, the admin. The allowed ones
succeed; the rest get 401 or 403 (an MCP error) with no course content in the body."""

from __future__ import annotations

import json
import time

import anyio
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from openai import AuthenticationError, OpenAI

from api.app import create_app
from generator.answer import AnswerService
from generator.conversations import ConversationStore
from retriever.service import SearchService
from studyhall.core.settings import AccessSettings, AnswerSettings, ServerSettings
from studyhall.services import build_services
from tests.conftest import LESSONS, ScriptedGenerator, serving

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
SECRET = "mode collapse happens when the generator produces only a few outputs"


@pytest.fixture
def app(settings, catalog, fake_embedder, ingestor, course_dir, tmp_path):
    for course in ("tiny", "other", "closed"):
        ingestor.ingest(course_dir, course)
    settings = settings.model_copy(update={
        "access": AccessSettings(default_visibility="lms"),
        "answer": AnswerSettings(min_confidence=0.3, judge=False),
        "server": ServerSettings(warm_up=False, admin_token=ADMIN_TOKEN)})
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    answers = AnswerService(settings, search, ScriptedGenerator(lambda m: "It collapses [1]."),
                            ConversationStore(tmp_path / "c.sqlite"))
    app = create_app(services=build_services(settings, search=search, answers=answers))
    app.state.access.set_visibility("closed", "private")
    return app


def session(app, course: str, role: str) -> dict[str, str]:
    token = app.state.lti.sessions.issue(course=course, role=role, user="u1",
                                         issuer="https://lms.example.edu", context_id="42")
    return {"X-LTI-Session": token}


def key(app, courses: list[str], scope: str = "read") -> dict[str, str]:
    made = app.state.access.create_key(name="t", courses=courses, scope=scope, created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def callers(app) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "key of another course": key(app, ["other"]),
        "student": session(app, "tiny", "student"),
        "instructor of another course": session(app, "other", "instructor"),
        "key of the course": key(app, ["tiny"]),
        "instructor": session(app, "tiny", "instructor"),
        "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    }


ALLOWED_ON_LMS = {"student", "key of the course", "instructor", "admin"}
ALLOWED_ON_PRIVATE = {"instructor", "admin"}
READS = [
    ("POST", "/v1/search", {"query": "what is mode collapse", "course": "{course}"}),
    ("POST", "/v1/ask", {"question": "what is mode collapse", "course": "{course}"}),
    ("POST", "/v1/chat/completions", {"model": "studyhall/{course}", "messages": [
        {"role": "user", "content": "what is mode collapse"}]}),
]


def fill(body, course: str):
    """``body`` with "{course}" replaced by ``course``, wherever it stands."""
    if isinstance(body, dict):
        return {k: fill(v, course) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, course) for v in body]
    return body.replace("{course}", course) if isinstance(body, str) else body


@pytest.mark.parametrize(("course", "allowed"), [("tiny", ALLOWED_ON_LMS),
                                                 ("closed", ALLOWED_ON_PRIVATE)])
@pytest.mark.parametrize(("method", "path", "body"), READS, ids=[r[1] for r in READS])
def test_reading_a_course(app, course, allowed, method, path, body):
    client = TestClient(app)
    people = callers(app)
    if course == "closed":  # the course's own student, instructor and key
        people |= {"instructor": session(app, "closed", "instructor"),
                   "student": session(app, "closed", "student"),
                   "key of the course": key(app, ["closed"])}
    for who, headers in people.items():
        response = client.request(method, path, json=fill(body, course), headers=headers)
        if who in allowed:
            assert response.status_code == 200, (who, response.text)
        else:
            expected = 401 if who == "anonymous" else 403
            assert response.status_code == expected, (who, response.status_code, response.text)
            assert SECRET not in response.text and "collapses" not in response.text


@pytest.mark.parametrize("path", ["/v1/courses", "/v1/models", "/healthz"])
def test_listings_name_only_the_courses_the_caller_may_read(app, path):
    client = TestClient(app)

    def listed(headers) -> set[str]:
        body = client.get(path, headers=headers).json()
        if path == "/v1/courses":
            return {c["id"] for c in body["courses"]}
        if path == "/v1/models":
            return {m["id"].removeprefix("studyhall/") for m in body["data"]}
        return set(body["courses"])

    people = callers(app)
    assert listed(people["anonymous"]) == set()
    assert listed(people["student"]) == {"tiny"}
    assert listed(people["key of another course"]) == {"other"}
    assert listed(people["instructor"]) == {"tiny"}
    assert listed(people["admin"]) == {"tiny", "other", "closed"}
    app.state.access.set_visibility("other", "public")
    assert listed(people["anonymous"]) == {"other"}


def test_an_unknown_course_lists_only_the_readable_ones(app):
    response = TestClient(app).post("/v1/search", json={"query": "x", "course": "nope"},
                                    headers=session(app, "tiny", "student"))
    assert response.status_code == 404 and response.json()["known_courses"] == ["tiny"]


def test_forged_and_revoked_keys_are_401_naming_the_problem(app):
    client = TestClient(app)
    good = key(app, ["tiny"])
    body = {"query": "mode collapse", "course": "tiny"}
    token = good["Authorization"].removeprefix("Bearer ")
    forged = client.post("/v1/search", json=body,
                         headers={"Authorization": f"Bearer {token[:-3]}xyz"})
    assert forged.status_code == 401 and forged.json()["detail"] == "unknown API key"
    app.state.access.revoke(token.split("-")[1])
    revoked = client.post("/v1/search", json=body, headers=good)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    stranger = client.post("/v1/search", json=body, headers={"Authorization": "Bearer guess"})
    assert stranger.status_code == 401 and "not a studyhall API key" in stranger.json()["detail"]


def test_the_official_openai_client_sends_its_key_as_the_bearer(app):
    with serving(app) as base:
        token = key(app, ["tiny"])["Authorization"].removeprefix("Bearer ")
        reply = OpenAI(base_url=f"{base}/v1", api_key=token).chat.completions.create(
            model="studyhall/tiny", messages=[{"role": "user", "content": "what is mode collapse"}])
        assert reply.choices[0].message.content and reply.model_extra["studyhall"]["citations"]
        with pytest.raises(AuthenticationError):  # a placeholder key reads no lms course
            OpenAI(base_url=f"{base}/v1", api_key="unused").chat.completions.create(
                model="studyhall/tiny", messages=[{"role": "user", "content": "hi"}])
        app.state.access.set_visibility("tiny", "public")  # … but a public one
        reply = OpenAI(base_url=f"{base}/v1", api_key="unused").chat.completions.create(
            model="studyhall/tiny", messages=[{"role": "user", "content": "what is mode collapse"}])
        assert reply.choices[0].message.content


def test_mcp_over_http_reads_a_course_as_the_caller_its_headers_name(app):
    def call(headers, course="tiny", tool="search_course"):
        arguments = ({"query": "mode collapse", "course": course, "k": 1}
                     if tool == "search_course" else
                     {"question": "what is mode collapse", "course": course})

        async def go():
            async with httpx2.AsyncClient(headers=headers) as http, Client(
                    streamable_http_client(f"{base}/mcp", http_client=http)) as client:
                return await client.call_tool(tool, arguments)
        return anyio.run(go)

    with serving(app) as base:
        refused = call({})
        assert refused.is_error and "not public" in refused.content[0].text
        assert SECRET not in refused.content[0].text
        allowed = call(key(app, ["tiny"]))
        assert not allowed.is_error
        assert allowed.structured_content["result"][0]["course"] == "tiny"
        assert call(key(app, ["tiny"]), course="closed").is_error
        for tool in ("search_course", "ask_course"):
            for who, headers in callers(app).items():
                result = call(headers, tool=tool)
                assert result.is_error == (who not in ALLOWED_ON_LMS), (tool, who)
                if result.is_error:
                    text = " ".join(part.text for part in result.content)
                    assert SECRET not in text and "collapses" not in text, (tool, who)


def test_the_lessons_hold_the_text_the_denials_must_not_show():
    assert SECRET in LESSONS["gans.md"].lower()


def test_each_caller_has_its_own_rate_and_over_it_gets_429_with_retry_after(app):
    from api.access.ratelimit import RateLimits
    from studyhall.core.settings import AccessSettings

    app.state.limits = RateLimits(AccessSettings(search_rate="3/minute"))
    client = TestClient(app)
    body = {"query": "mode collapse", "course": "tiny"}
    student, other = session(app, "tiny", "student"), key(app, ["tiny"])
    assert [client.post("/v1/search", json=body, headers=student).status_code
            for _ in range(3)] == [200, 200, 200]
    refused = client.post("/v1/search", json=body, headers=student)
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert "3/minute" in refused.json()["detail"]
    assert client.post("/v1/search", json=body, headers=other).status_code == 200  # its own
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert all(client.post("/v1/search", json=body, headers=admin).status_code == 200
               for _ in range(5))  # the admin has no rate


def test_dropping_the_session_id_does_not_reset_a_callers_rate(app):
    from api.access.ratelimit import RateLimits
    from studyhall.core.settings import AccessSettings

    app.state.limits = RateLimits(AccessSettings(answers_rate="2/minute"))
    client = TestClient(app)
    student = session(app, "tiny", "student")
    ask = {"question": "what is mode collapse", "course": "tiny"}
    first = client.post("/v1/ask", json=ask, headers=student).json()
    client.post("/v1/ask", json=ask | {"session_id": first["session_id"]}, headers=student)
    assert client.post("/v1/ask", json=ask, headers=student).status_code == 429  # a new one


def test_a_conversation_and_its_feedback_belong_to_who_started_it(app):
    client = TestClient(app)
    ask = {"question": "what is mode collapse", "course": "tiny"}
    alice, bob = session(app, "tiny", "student"), key(app, ["tiny"])
    first = client.post("/v1/ask", json=ask, headers=alice).json()
    stolen = client.post("/v1/ask", json=ask | {"session_id": first["session_id"]}, headers=bob)
    assert stolen.status_code == 404 and "unknown session" in stolen.json()["detail"]
    assert client.post("/v1/ask", json=ask | {"session_id": first["session_id"]},
                       headers=alice).status_code == 200
    vote = {"message_id": first["message_id"], "rating": 1}
    assert client.post("/v1/feedback", json=vote, headers=bob).status_code == 404
    assert client.post("/v1/feedback", json=vote, headers=alice).status_code == 201


def test_anonymous_browsers_own_their_own_conversations(app):
    app.state.access.set_visibility("tiny", "public")
    client = TestClient(app)
    ask = {"question": "what is mode collapse", "course": "tiny"}
    mine, theirs = ({"X-Studyhall-Client": c * 32} for c in "ab")
    first = client.post("/v1/ask", json=ask, headers=mine).json()
    again = ask | {"session_id": first["session_id"]}
    assert client.post("/v1/ask", json=again, headers=theirs).status_code == 404
    assert client.post("/v1/ask", json=again, headers=mine).status_code == 200


INSTRUCTORS = {"instructor", "instruct key of the course", "admin"}


def instructor_requests(client, app, course: str) -> list[tuple[str, str, dict]]:
    """Every instructor route of ``course``, as (method, path, request keywords); the jobs
    and key they name are made by the admin first."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    upload = {"files": [("files", ("extra.md", b"# Extra\n\nmore notes\n", "text/markdown"))]}
    job = client.post(f"/v1/courses/{course}/files", headers=admin, **upload).json()["id"]
    questions = app.state.services.settings.data_dir / "evals" / course / "questions.jsonl"
    questions.parent.mkdir(parents=True, exist_ok=True)
    questions.write_text(json.dumps({"id": "q1", "course": course, "question": "what is mode "
                                     "collapse", "gold": [{"source": "gans.md"}]}) + "\n")
    run = client.post("/v1/evals", headers=admin,
                      json={"course": course, "kind": "retrieval"}).json()["id"]
    deadline = time.monotonic() + 30
    while client.get(f"/v1/evals/{run}", headers=admin).json()["status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return [
        ("POST", f"/v1/courses/{course}/files", upload),
        ("GET", f"/v1/ingest-jobs/{job}", {}),
        ("POST", "/v1/evals", {"json": {"course": course, "kind": "retrieval"}}),
        ("GET", f"/v1/evals?course={course}", {}),
        ("GET", f"/v1/evals/{run}", {}),
        ("GET", f"/v1/evals/{run}/report.json", {}),
        ("GET", f"/v1/evals/{run}/report.html", {}),
        ("GET", f"/v1/courses/{course}/visibility", {}),
        ("PUT", f"/v1/courses/{course}/visibility", {"json": {"visibility": "lms"}}),
        ("GET", f"/v1/courses/{course}/keys", {}),
        ("POST", f"/v1/courses/{course}/keys", {"json": {"name": "n", "scope": "read"}}),
    ]


def test_every_instructor_route_opens_to_its_instructors_only(app):
    client = TestClient(app)
    people = callers(app) | {"instruct key of the course": key(app, ["tiny"], "instruct")}
    for method, path, keywords in instructor_requests(client, app, "tiny"):
        for who, headers in people.items():
            response = client.request(method, path, headers=headers, **keywords)
            if who in INSTRUCTORS:
                assert response.status_code in (200, 201, 202), (who, path, response.text)
            else:
                expected = 401 if who == "anonymous" else 403
                assert response.status_code == expected, (who, path, response.status_code)
                assert SECRET not in response.text and "collapses" not in response.text


def test_revoking_a_key_is_for_its_courses_instructors_only(app):
    client = TestClient(app)
    people = callers(app) | {"instruct key of the course": key(app, ["tiny"], "instruct")}
    for who, headers in people.items():
        victim = app.state.access.create_key(name="v", courses=["tiny"], scope="read",
                                             created_by="test").key.id
        response = client.delete(f"/v1/courses/tiny/keys/{victim}", headers=headers)
        if who in INSTRUCTORS:
            assert response.status_code == 200, (who, response.text)
        else:
            assert response.status_code == (401 if who == "anonymous" else 403), who
        assert (app.state.access.key(victim).revoked_at is not None) == (who in INSTRUCTORS)
