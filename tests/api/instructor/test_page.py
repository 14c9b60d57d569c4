"""The instructor page: served with the chat page's CSP, labelled controls, no HTML from
the server, and the LTI session sent with every API call."""

import re

import pytest
from bs4 import BeautifulSoup

from api.pages import STATIC_DIR

SCRIPT = (STATIC_DIR / "instructor.js").read_text()


def test_the_page_is_served_with_its_content_security_policy(client):
    response = client.get("/instructor", params={"course": "tiny", "lti": "token"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'self'" in policy
    assert response.headers["referrer-policy"] == "no-referrer"  # the URL holds the token


def test_the_page_may_be_framed_by_the_course_lms(app, client):
    app.state.services.settings.embed.origins = {"tiny": ["https://lms.example.edu"]}
    policy = client.get("/instructor?course=tiny").headers["content-security-policy"]
    assert "frame-ancestors 'self' https://lms.example.edu" in policy


def test_the_controls_are_labelled_and_the_script_is_a_module(client):
    page = BeautifulSoup(client.get("/instructor").text, "html.parser")
    assert page.html["lang"] == "en" and page.find("main") is not None
    files = page.find("input", id="files")
    assert files["type"] == "file" and files.has_attr("multiple")
    for control in ("files", "eval-limit", "upload-progress", "eval-progress"):
        assert page.find("label", attrs={"for": control}), control
    assert page.find("fieldset").find("legend")
    assert page.find("script", src="static/instructor.js")["type"] == "module"
    assert not page.find("script", src=False), "inline scripts would break the page's CSP"
    assert not page.find(style=True), "inline styles would break the page's CSP"
    assert {link["href"] for link in page.find_all("link")} == {
        "static/chat.css", "static/instructor.css"}


def test_every_element_the_script_looks_up_is_on_the_page(client):
    ids = {tag["id"] for tag in BeautifulSoup(client.get("/instructor").text, "html.parser")
           .find_all(id=True)}
    looked_up = set(re.findall(r'\$\("([\w-]+)"\)', SCRIPT))
    assert looked_up and looked_up <= ids, looked_up - ids


@pytest.mark.parametrize(("name", "content_type"), [
    ("instructor.js", "application/javascript; charset=utf-8"),
    ("instructor.css", "text/css; charset=utf-8"),
])
def test_the_assets_are_served(client, name, content_type):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200 and response.headers["content-type"] == content_type


def test_the_script_never_parses_text_as_html():
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "createContextualFragment", "DOMParser"):
        assert sink not in SCRIPT, sink


def test_the_script_sends_the_lti_session_and_calls_the_instructor_api():
    assert "ltiSession()" in SCRIPT and "apiHeaders(" in SCRIPT
    assert 'params.get("lti")' not in SCRIPT  # the session never rides in an address
    common = (STATIC_DIR / "common.js").read_text()
    assert '"X-LTI-Session"' in common and "sessionStorage" in common
    for path in ("v1/courses/", "/files", "v1/ingest-jobs/", "v1/evals"):
        assert path in SCRIPT, path
