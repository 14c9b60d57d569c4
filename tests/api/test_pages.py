"""The chat page, its assets and the widget loader: what they serve, with which headers,
and guards on the page's markup and script (landmarks, labels, no HTML from the server)."""

import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages import STATIC_DIR, frame_ancestors
from api.routes import pages
from studyhall.core.settings import ServerSettings


@pytest.fixture
def app(settings):
    app = create_app(settings.model_copy(update={"server": ServerSettings(warm_up=False)}))
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        app.include_router(pages.router)  # until api/app.py includes it
    return app


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


def allow_embedding(app, origins: dict[str, list[str]]) -> None:
    app.state.services.settings.embed.origins = origins


def test_the_page_is_html_with_the_landmarks_and_labels_the_script_relies_on(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = BeautifulSoup(response.text, "html.parser")
    assert page.html["lang"] == "en"
    assert page.find("main") is not None
    log = page.find(id="messages")
    assert log["role"] == "log" and log["aria-live"] == "polite" and log.get("aria-label")
    for control in ("course", "question", "send", "new-conversation", "source-close"):
        assert page.find(id=control).get("aria-label"), control
    dialog = page.find("dialog", id="source-dialog")
    assert page.find(id=dialog["aria-labelledby"]) is not None
    assert page.find("script", src="static/chat.js")["type"] == "module"
    assert not page.find("script", src=False), "inline scripts would break the page's CSP"


def test_every_element_the_script_looks_up_is_on_the_page(client):
    ids = {tag["id"] for tag in BeautifulSoup(client.get("/").text, "html.parser")
           .find_all(id=True)}
    looked_up = set(re.findall(r'\$\("([\w-]+)"\)', (STATIC_DIR / "chat.js").read_text()))
    assert looked_up and looked_up <= ids, looked_up - ids


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/chat.js", "application/javascript; charset=utf-8"),
        ("/static/chat.css", "text/css; charset=utf-8"),
        ("/static/embed.js", "application/javascript; charset=utf-8"),
        ("/embed.js", "application/javascript; charset=utf-8"),
    ],
)
def test_assets_are_served_with_their_content_type(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (STATIC_DIR / path.rsplit("/", 1)[1]).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/nope.js",
        "/static/index.html",  # the page only with its frame-ancestors policy, at /
        "/static/..%2Froutes%2Fpages.py",
        "/static/%2e%2e%2fapp.py",
        "/static/../app.py",
        "/static/",
    ],
)
def test_unknown_or_traversing_static_paths_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"import" not in response.content


def test_the_widget_loader_opens_the_page_in_embed_mode_from_its_own_origin():
    script = (STATIC_DIR / "embed.js").read_text()
    assert "document.currentScript" in script
    assert '"embed", "1"' in script and "dataset.course" in script
    assert "aria-label" in script and "aria-expanded" in script


@pytest.mark.parametrize("name", ["chat.js", "common.js", "embed.js", "instructor.js",
                                  "launch.js", "submit.js"])
def test_the_scripts_never_parse_text_as_html(name):
    script = (STATIC_DIR / name).read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "createContextualFragment", "DOMParser"):
        assert sink not in script, sink


def test_frame_ancestors_is_self_only_without_origins():
    assert frame_ancestors([]) == "frame-ancestors 'self'"


def test_frame_ancestors_names_the_origins_once_and_drops_non_origins():
    origins = ["https://lms.example.edu/", "https://lms.example.edu", "https://*.example.org:8443",
               "https://x.test; script-src *", "javascript:alert(1)", "'unsafe-inline'"]
    assert frame_ancestors(origins) == (
        "frame-ancestors 'self' https://lms.example.edu https://*.example.org:8443")


def test_the_course_page_may_be_framed_by_the_lms_platforms_that_launch_it(app, client):
    from api.lti import add_platform

    add_platform(app.state.services.settings.database, issuer="https://canvas.example.edu",
                 client_id="c1", deployment_ids=["d1"], auth_login_url="https://sso.example.edu/a",
                 jwks_url="https://sso.example.edu/jwks", context_courses={"42": "genai-basics"},
                 page_origins=["https://school.example.edu"])
    policy = client.get("/?course=genai-basics&embed=1").headers["content-security-policy"]
    assert policy.endswith("frame-ancestors 'self' https://school.example.edu")
    assert client.get("/?course=other").headers["content-security-policy"].endswith(
        "frame-ancestors 'self'")


def test_the_page_for_a_course_may_be_framed_by_that_course_origins_only(app, client):
    allow_embedding(app, {"genai-basics": ["https://lms.example.edu"]})
    policy = client.get("/?course=genai-basics&embed=1").headers["content-security-policy"]
    assert "frame-ancestors 'self' https://lms.example.edu" in policy
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    other = client.get("/?course=other").headers["content-security-policy"]
    assert other.endswith("frame-ancestors 'self'")


def test_without_embed_settings_the_page_may_be_framed_by_itself_only(client):
    policy = client.get("/?course=genai-basics").headers["content-security-policy"]
    assert policy.endswith("frame-ancestors 'self'")
