import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_search_service
from retriever.service import SearchService
from studyhall.core.settings import GeneratorSettings, ServerSettings


@pytest.fixture
def client(settings, catalog, fake_embedder, ingestor, course_dir):
    ingestor.ingest(course_dir, "tiny")
    settings = settings.model_copy(
        update={"server": ServerSettings(warm_up=False, max_body_bytes=64 * 1024)}
    )
    app = create_app(settings)
    service = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    app.dependency_overrides[get_search_service] = lambda: service
    with TestClient(app) as client:
        yield client


def test_healthz_reports_courses(client):
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "courses": ["tiny"], "embedder": "fake/hashing",
                    "model_servers": None}


def test_healthz_shows_the_admin_each_model_server_of_the_openai_backend(settings):
    token = "admin-token-for-tests-0123456789"
    settings = settings.model_copy(update={
        "server": ServerSettings(warm_up=False, admin_token=token),
        "generator": GeneratorSettings(backend="openai", model="m",
                                       base_url="http://127.0.0.1:9/v1, http://127.0.0.1:10/v1")})
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["model_servers"] is None  # not for everyone
        servers = client.get("/healthz", headers={"Authorization": f"Bearer {token}"}).json()
    assert [s["url"] for s in servers["model_servers"]] == ["http://127.0.0.1:9/v1",
                                                             "http://127.0.0.1:10/v1"]
    assert all(s["up"] and s["in_flight"] == 0 == s["failures"] for s in servers["model_servers"])


def test_courses_are_listed_with_their_size(client):
    [course] = client.get("/v1/courses").json()["courses"]
    assert course["id"] == "tiny" and course["title"] == "Tiny Course"
    assert course["files"] == 3 and course["chunks"] > 0
    assert course["embedder"] == "fake/hashing" and course["dimension"] == 128


def test_search_returns_ranked_hits_with_anchors(client):
    response = client.post("/v1/search", json={"query": "mode collapse", "course": "tiny", "k": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "hybrid" and body["k"] == 2
    top = body["hits"][0]
    assert top["source"] == "gans.md"
    assert top["anchor"] == {"kind": "section", "ref": "why-training-is-unstable",
                             "label": "Why training is unstable"}
    assert top["location"] == "gans.md#section=why-training-is-unstable"
    assert top["heading_path"] == ["Generative adversarial networks", "Why training is unstable"]
    assert "mode collapse" in top["text"]


def test_search_honours_mode_and_filters(client):
    body = client.post("/v1/search", json={
        "query": "noise encoder", "course": "tiny", "mode": "bm25", "documents": ["vaes.md"],
    }).json()
    assert body["mode"] == "bm25"
    assert {h["source"] for h in body["hits"]} == {"vaes.md"}


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"query": ""}, "query", "query must not be empty"),
        ({"k": 0}, "k", "k must be between 1 and 50, got 0"),
        ({"k": 500}, "k", "k must be between 1 and 50, got 500"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client, payload, field, message):
    response = client.post("/v1/search", json={"query": "gan", "course": "tiny"} | payload)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field] and error["msg"] == message


def test_wrong_types_get_fastapis_own_422(client):
    response = client.post("/v1/search", json={"query": "gan", "course": "tiny", "k": "many"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "k"]


def test_unknown_course_is_404_listing_known_courses(client):
    response = client.post("/v1/search", json={"query": "gan", "course": "nope"})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "unknown course 'nope'; known courses: tiny", "known_courses": ["tiny"],
    }


def test_a_long_question_is_413(client):
    response = client.post("/v1/search", json={"query": "x" * 3000, "course": "tiny"})
    assert response.status_code == 413
    assert "3,000 characters; the limit is 2,000" in response.json()["detail"]


def test_a_5mb_body_is_refused_before_it_is_read_and_the_service_keeps_serving(client):
    response = client.post(
        "/v1/search", content=b'{"query": "' + b"x" * 5_000_000 + b'", "course": "tiny"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "the limit is 65,536" in response.json()["detail"]
    assert client.post("/v1/search", json={"query": "gan", "course": "tiny"}).status_code == 200
