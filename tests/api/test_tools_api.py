import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_demo_runner
from demos.registry import DemoRunner
from studyhall.core.settings import ServerSettings
from tests.demos.test_registry import PERCEPTRON, SLOW


@pytest.fixture
def runner(tmp_path):
    return DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON, "slow": SLOW},
                      timeout_s=0.5)


@pytest.fixture
def client(settings, runner):
    settings = settings.model_copy(update={"server": ServerSettings(warm_up=False)})
    app = create_app(settings)
    app.dependency_overrides[get_demo_runner] = lambda: runner
    with TestClient(app) as client:
        yield client


def test_tools_are_listed_with_their_parameter_schema(client):
    tools = {t["name"]: t for t in client.get("/v1/tools").json()["tools"]}
    assert set(tools) == {"perceptron", "slow"}
    perceptron = tools["perceptron"]
    assert perceptron["lesson"] == "lessons/09-the-perceptron.md"
    assert perceptron["parameters"]["properties"]["epochs"]["maximum"] == 1000


def test_running_a_tool_returns_numbers_and_figure_urls_that_serve_png(client):
    response = client.post("/v1/tools/perceptron", json={"gate": "or", "epochs": 30})
    assert response.status_code == 200
    body = response.json()
    assert body["metrics"]["accuracy"] == 1.0 and body["params"]["gate"] == "or"
    assert not body["cached"] and "Lesson 9" in body["explanation"]
    figure = client.get(body["figures"][0]["url"])
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    assert figure.content.startswith(b"\x89PNG")
    again = client.post("/v1/tools/perceptron", json={"epochs": 30, "gate": "or"}).json()
    assert again["cached"] and again["run_id"] == body["run_id"]
    assert client.get(f"/v1/tools/runs/{body['run_id']}").json()["metrics"] == body["metrics"]


def test_no_body_runs_the_defaults(client):
    body = client.post("/v1/tools/perceptron").json()
    assert body["params"]["gate"] == "and" and body["params"]["epochs"] == 20


def test_bad_parameter_is_a_422_naming_the_field_and_range(client):
    response = client.post("/v1/tools/perceptron", json={"epochs": 5000})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "epochs"]
    assert error["msg"] == "epochs must be between 1 and 1000, got 5000"
    response = client.post("/v1/tools/perceptron", json={"epochs": "many"})
    assert response.status_code == 422 and "epochs" in response.json()["detail"][0]["msg"]


def test_unknown_tool_is_a_404_listing_the_tools(client):
    response = client.post("/v1/tools/resnet", json={})
    assert response.status_code == 404
    assert response.json()["known_tools"] == ["perceptron", "slow"]


def test_a_run_past_its_time_limit_is_a_504_and_the_service_keeps_serving(client):
    response = client.post("/v1/tools/slow", json={"steps": 10000})
    assert response.status_code == 504 and "0.5 s limit" in response.json()["detail"]
    assert client.post("/v1/tools/perceptron", json={}).status_code == 200


@pytest.mark.parametrize("path", [
    "/v1/tools/runs/0123456789abcdef/figures/errors.png",
    "/v1/tools/runs/..%2F..%2Fetc/figures/passwd.png",
    "/v1/tools/runs/nothex/figures/x.png",
])
def test_missing_or_malformed_figure_paths_are_404(client, path):
    assert client.get(path).status_code == 404
