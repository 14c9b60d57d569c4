"""/openapi.json describes what every route returns: a schema for each JSON answer, the
media type of every other one."""

import pytest

from api.app import create_app
from studyhall.core.settings import ServerSettings


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    from studyhall.core.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("data"),
                        server=ServerSettings(warm_up=False))
    return create_app(settings).openapi()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_success_response_says_what_it_is(spec):
    vague = []
    for name, operation in operations(spec):
        for code, response in operation["responses"].items():
            if not code.startswith("2"):
                continue
            content = response.get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema == {} or (not content and code != "204"):
                vague.append(f"{name} {code}")
    assert vague == []


def test_the_main_routes_return_their_named_models(spec):
    def model(name: str) -> str:
        operation = dict(operations(spec))[name]
        success = next(r for c, r in operation["responses"].items() if c.startswith("2"))
        return success["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert model("POST /v1/search") == "SearchResponse"
    assert model("POST /v1/ask") == "AnswerOut"
    assert model("POST /v1/chat/completions") == "ChatCompletion"
    assert model("GET /v1/courses") == "CoursesResponse"
    assert model("POST /v1/tools/{name}") == "DemoRunOut"
    assert model("POST /v1/evals") == "EvalJobOut"
    assert model("POST /v1/courses/{course}/files") == "IngestJobOut"
    answer = spec["components"]["schemas"]["AnswerOut"]["properties"]
    assert {"answer", "citations", "refused", "suggestions", "timings"} <= set(answer)
