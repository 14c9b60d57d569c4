"""End to end in a real browser: Debian's headless Chromium, driven by Playwright's sync
API, against the real app under uvicorn on 127.0.0.1 (a scripted generator that streams
slowly enough to watch, the fake embedder, the tiny course ingested).

Besides studyhall, two more local servers play the outside world, each on its own port
(so its own origin): a simulated LMS (JWKS, an OIDC auth endpoint that posts a freshly
signed id_token back through the browser, a deep-linking return URL) and a page on
another site that embeds the widget.

Chromium comes from the system (``make browser`` installs Debian's package); Playwright
never downloads one. Without it these tests fail, they do not skip.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import expect, sync_playwright

from api.app import create_app
from api.deps import get_answer_service, get_demo_runner, get_search_service
from api.lti import add_platform
from api.lti import claims as c
from demos.registry import DemoRunner
from generator.answer import AnswerService
from generator.conversations import ConversationStore
from generator.prompts import NOT_COVERED
from retriever.service import SearchService
from studyhall.core.settings import AnswerSettings, EmbedSettings, ServerSettings
from tests.api.lti.conftest import (
    CLIENT_ID,
    CONTEXT,
    DEPLOYMENT,
    INSTRUCTOR,
    ISSUER,
    FakePlatform,
    new_key,
)
from tests.conftest import ScriptedGenerator, serving
from tests.demos.test_registry import PERCEPTRON

pytestmark = [pytest.mark.browser]

TIMEOUT_MS = 15_000  # one wait, at most; the machine is small and shared
TOKEN_DELAY_S = 0.04  # between streamed words: slow enough to see the text grow
ANSWER = ("The discriminator is a classifier that tells real samples from the fake ones "
          "the generator makes [1].")
CITED = "gans.md#section=the-discriminator"
UNCOVERED = "Quarterly tax filing deadline?"  # scores below the gate with the fake embedder
BLOCKED_FOR = "https://lms.example.edu"  # the only origin course "other" may be framed by


MARKDOWN = ("A GAN has two parts:\n"
            "- **Discriminator**: a classifier that tells real samples from the fake ones "
            "the generator makes [1].\n"
            "- **Generator**: it makes the fake ones, scored by `D(x)`.\n\n"
            "Not markup: <img src=x onerror=alert(1)>")


def reply(messages) -> str:
    if "standalone question" in messages[0].content:
        return "What does the discriminator of a GAN do?"
    if "in a list" in messages[-1].content:
        return MARKDOWN
    return ANSWER


# --- the browser ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("the browser tests need Debian's chromium on PATH and none was found: "
                    "run `make browser` (apt-get install chromium); Playwright must not "
                    "download its own", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile per test; JavaScript errors on any page are collected."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


# --- the simulated LMS ----------------------------------------------------------------

@dataclass
class Lms:
    """The platform's side of a launch: what it signs next, and what it was sent."""

    base: str
    platform: FakePlatform
    attacker_key: object
    tool: str = ""  # studyhall's base URL, as registered on the platform
    course_page: str = ""  # the LMS's course page body, at /course
    mode: str = "resource"  # resource | deep | forged
    auth_requests: list[dict] = field(default_factory=list)
    returned: list[dict] = field(default_factory=list)  # verified deep-linking responses

    @property
    def return_url(self) -> str:
        return self.base + "/deep_link_return?link=5"

    def id_token(self, nonce: str) -> str:
        if self.mode == "forged":  # the platform's kid, someone else's key
            return self.platform.id_token(nonce, key=self.attacker_key)
        if self.mode == "deep":
            return self.platform.id_token(nonce, **{
                c.MESSAGE_TYPE: c.DEEP_LINKING_REQUEST, c.ROLES: INSTRUCTOR,
                c.RESOURCE_LINK: None,
                c.DL_SETTINGS: {"deep_link_return_url": self.return_url,
                                "accept_types": ["ltiResourceLink"], "data": "opaque-7"}})
        return self.platform.id_token(nonce)


def auto_submit(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in fields.items())
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>LMS</title></head><body>'
            f'<form id="go" method="post" action="{html.escape(action)}">{inputs}</form>'
            f'<script>document.getElementById("go").submit();</script></body></html>')


@pytest.fixture(scope="module")
def lms_server():
    current: dict[str, Lms] = {}
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict:
        return current["lms"].platform.jwks()

    @app.get("/auth")
    def auth(request: Request) -> HTMLResponse:
        """OIDC authorisation: check the request as a platform would, then post a freshly
        signed id_token and the state back to the tool's redirect_uri, via the browser."""
        lms, query = current["lms"], dict(request.query_params)
        lms.auth_requests.append(query)
        if (query.get("client_id") != CLIENT_ID
                or query.get("redirect_uri") != lms.tool + "/lti/launch"
                or query.get("response_mode") != "form_post" or not query.get("nonce")):
            return HTMLResponse("bad authorisation request", status_code=400)
        return HTMLResponse(auto_submit(query["redirect_uri"], {
            "id_token": lms.id_token(query["nonce"]), "state": query.get("state", "")}))

    @app.get("/course")
    def course_page() -> HTMLResponse:
        """The LMS's course page, where the tool is placed (in an iframe, as Canvas does)."""
        return HTMLResponse(f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                            f"<title>LMS course</title></head><body><h1>Generative AI</h1>"
                            f"{current['lms'].course_page}</body></html>")

    @app.post("/deep_link_return")
    def deep_link_return(JWT: str = Form()) -> HTMLResponse:  # noqa: N803 (the spec's name)
        """Verify the tool's deep-linking response against the tool's published keys."""
        lms = current["lms"]
        keys = jwt.PyJWKSet.from_dict(httpx.get(lms.tool + "/lti/jwks").json())
        kid = jwt.get_unverified_header(JWT)["kid"]
        claims = jwt.decode(JWT, keys[kid], algorithms=["RS256"], audience=ISSUER,
                            issuer=CLIENT_ID)
        lms.returned.append(claims)
        titles = "".join(f"<li>{html.escape(item['title'])}</li>"
                         for item in claims[c.DL_CONTENT_ITEMS])
        return HTMLResponse(f"<!doctype html><title>LMS</title><h1>Link added</h1>"
                            f"<ul id='items'>{titles}</ul>")

    with serving(app) as base:
        yield base, current


@pytest.fixture(scope="module")
def lms_keys():
    return {"platform": new_key(), "attacker": new_key()}


@pytest.fixture
def lms(lms_server, lms_keys) -> Lms:
    base, current = lms_server
    current["lms"] = Lms(base, FakePlatform(base, lms_keys["platform"]), lms_keys["attacker"])
    return current["lms"]


# --- a page on another site that embeds the widget ------------------------------------

@pytest.fixture(scope="module")
def host_site():
    """Another origin (its own port): ``/course/ID`` is a page with the widget for ID."""
    target = {"studyhall": ""}
    app = FastAPI()

    @app.get("/course/{course}")
    def host_page(course: str) -> HTMLResponse:
        return HTMLResponse(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Host site</title></head><body><h1>Some other site</h1>"
            f'<script src="{target["studyhall"]}/embed.js" data-course="{course}"></script>'
            f"</body></html>")

    with serving(app) as base:
        yield base, target


# --- studyhall itself -----------------------------------------------------------------

@pytest.fixture
def studyhall(settings, catalog, fake_embedder, ingestor, course_dir, tmp_path, lms, host_site):
    """The real app on its own port: courses "tiny" (frameable by the host site) and
    "other" (frameable only by BLOCKED_FOR), the LMS registered as a platform."""
    host, host_target = host_site
    ingestor.ingest(course_dir, "tiny")
    ingestor.ingest(course_dir, "other", title="Other Course")
    settings = settings.model_copy(update={
        "server": ServerSettings(warm_up=False),
        "answer": AnswerSettings(min_confidence=0.3, max_waiting=1, judge=False),
        "embed": EmbedSettings(origins={"tiny": [host], "other": [BLOCKED_FOR]}),
    })
    app = create_app(settings)
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    generator = ScriptedGenerator(reply, delay=TOKEN_DELAY_S)
    demos = DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON})
    answers = AnswerService(settings, search, generator,
                            ConversationStore(tmp_path / "c.sqlite"), demos=demos)
    app.dependency_overrides[get_search_service] = lambda: search
    app.dependency_overrides[get_demo_runner] = lambda: demos
    app.dependency_overrides[get_answer_service] = lambda: answers
    add_platform(settings.database, issuer=ISSUER, client_id=CLIENT_ID,
                 deployment_ids=[DEPLOYMENT], auth_login_url=lms.platform.auth_login_url,
                 jwks_url=lms.platform.jwks_url, context_courses={CONTEXT: "tiny"})
    with serving(app) as base:
        lms.tool = host_target["studyhall"] = base
        yield SimpleNamespace(base=base, app=app, answers=answers, generator=generator,
                              host=host)


def answer_in(page):
    """The newest answer bubble."""
    return page.locator(".msg-assistant").last


def ask(page, question: str) -> None:
    """Type a question and press Enter, once the course list has loaded."""
    expect(page.locator("#course")).to_be_enabled()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


# --- 1-3: the chat page ----------------------------------------------------------------

WATCH_STREAM = """() => {
  window.seen = [];
  const log = document.getElementById("messages");
  new MutationObserver(() => {
    const text = log.querySelector(".msg-assistant .streaming");
    const reading = log.querySelector(".msg-assistant .reading");
    if (text) window.seen.push({text: text.textContent,
                                cited: log.querySelector(".msg-assistant .cite") !== null,
                                reading: reading ? reading.textContent : null});
  }).observe(log, {subtree: true, childList: true, characterData: true});
}"""


def test_a_streamed_answer_with_a_citation_and_feedback(studyhall, page):
    page.goto(studyhall.base + "/")
    picker = page.get_by_label("Course")
    expect(picker).to_be_enabled()
    picker.select_option(label="Tiny Course")
    expect(picker).to_have_value("tiny")
    page.evaluate(WATCH_STREAM)
    ask(page, "what does the discriminator do")

    answer = answer_in(page)
    cite = answer.locator("button.cite")
    expect(cite).to_have_text("[1]")  # the final answer replaced the streamed text
    expect(answer.locator(".streaming")).to_have_count(0)
    expect(answer).to_contain_text("The discriminator is a classifier that tells real")

    # streamed: the text grew word by word, before the final answer (and its [1] button)
    seen = page.evaluate("window.seen")
    texts = [s["text"] for s in seen if s["text"]]
    assert len(set(texts)) >= 5, texts
    assert all(a == b[:len(a)] for a, b in zip(texts, texts[1:], strict=False)), texts
    assert not any(s["cited"] for s in seen)
    assert texts[-1].split() == ANSWER.split()
    # while it was written, the sources it read were listed; the answer's own list replaced them
    assert all(s["reading"] and "[1] " in s["reading"] for s in seen), seen
    assert CITED in seen[-1]["reading"] or "The discriminator" in seen[-1]["reading"]
    expect(answer.locator(".reading")).to_have_count(0)

    # the citation opens the passage; Escape closes it and focus goes back to [1]
    cite.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#source-title")).to_have_text("Source [1]")
    expect(dialog.locator("#source-location")).to_have_text(CITED)
    expect(dialog.locator("#source-path")).to_contain_text("The discriminator")
    expect(dialog.locator("#source-text")).to_contain_text("tells real samples from generated")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(cite).to_be_focused()

    # thumbs up: both buttons disabled, and the rating is in the conversation store
    up = answer.get_by_role("button", name="Helpful answer", exact=True)
    down = answer.get_by_role("button", name="Unhelpful answer", exact=True)
    up.click()
    expect(answer.locator(".feedback-note")).to_have_text("Thanks for the feedback.")
    expect(up).to_be_disabled()
    expect(down).to_be_disabled()
    expect(up).to_have_attribute("aria-pressed", "true")
    assert studyhall.answers.store.feedback_counts() == {"up": 1, "down": 0}
    assert page.js_errors == []


def test_the_answer_s_lists_bold_and_code_are_rendered_and_nothing_as_html(studyhall, page):
    page.goto(studyhall.base + "/?course=tiny")
    ask(page, "what does the discriminator do, in a list")
    answer = answer_in(page)
    items = answer.locator("ul:not(.sources ul) > li")
    expect(items).to_have_count(2)
    expect(items.first.locator("strong")).to_have_text("Discriminator")
    expect(items.first.locator("button.cite")).to_have_text("[1]")
    expect(answer.locator("code")).to_have_text("D(x)")
    expect(answer.locator("p").last).to_contain_text("<img src=x onerror=alert(1)>")
    expect(answer.locator("img")).to_have_count(0)
    assert page.js_errors == []


def test_an_uncovered_question_is_shown_as_not_covered_with_suggestions(studyhall, page):
    page.goto(studyhall.base + "/?course=tiny")
    ask(page, UNCOVERED)

    answer = answer_in(page)
    expect(answer).to_have_class(re.compile(r"\bmsg-refused\b"))
    expect(answer.locator(".badge")).to_have_text("Not covered by the course")
    expect(answer).to_contain_text(NOT_COVERED[:40])
    suggestions = answer.get_by_role("region", name="Closest lessons").locator("li")
    expect(suggestions.first).to_be_visible()
    assert suggestions.count() >= 1
    expect(answer.locator("button.cite")).to_have_count(0)
    assert studyhall.generator.calls == []  # the model was never asked
    assert page.js_errors == []


def test_a_demo_in_the_chat_shows_its_metrics_and_a_loaded_figure(studyhall, page):
    page.goto(studyhall.base + "/?course=tiny")
    ask(page, "/demo perceptron gate=or")

    demo = answer_in(page).get_by_role("region", name="Demo: perceptron")
    expect(demo).to_be_visible(timeout=60_000)  # the first demo imports matplotlib
    metrics = demo.locator("dl.metrics")
    expect(metrics.locator("dt").first).to_be_visible()
    accuracy = metrics.locator("dt", has_text="accuracy")
    expect(accuracy).to_have_count(1)
    assert accuracy.evaluate("dt => dt.nextElementSibling.textContent") == "1"
    image = demo.locator("figure img").first
    image.scroll_into_view_if_needed()  # loading="lazy"
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") > 0
    assert image.get_attribute("src").startswith(studyhall.base + "/")
    assert studyhall.generator.calls == []
    assert page.js_errors == []


# --- 4-5: LTI launches through the browser ----------------------------------------------

def login_url(studyhall, lms) -> str:
    """What the LMS's launch link points the browser at: the tool's OIDC login."""
    query = httpx.QueryParams({
        "iss": ISSUER, "login_hint": "user-7", "target_link_uri": studyhall.base + "/lti/launch",
        "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT})
    return f"{studyhall.base}/lti/login?{query}"


def test_an_lti_launch_opens_the_mapped_course_for_a_student(studyhall, lms, page):
    studyhall.app.state.access.set_visibility("tiny", "lms")  # only the launch's session reads it
    with page.expect_response(lambda r: r.url == studyhall.base + "/lti/launch") as launched:
        page.goto(login_url(studyhall, lms))
    assert launched.value.status == 200
    page.wait_for_url(lambda url: urlparse(url).path == "/")

    [auth] = lms.auth_requests  # the platform saw a proper OIDC request
    assert auth["login_hint"] == "user-7" and auth["response_type"] == "id_token"
    assert auth["scope"] == "openid" and auth["prompt"] == "none"
    url = urlparse(page.url)
    assert url.netloc == urlparse(studyhall.base).netloc
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {"course": "tiny", "embed": "1"}  # no session in the address, or history
    history = page.evaluate("window.history.length")
    token = page.evaluate("sessionStorage.getItem('studyhall-lti')")
    session = studyhall.app.state.lti.read_session(token)
    assert session.role == "student" and session.course == "tiny" and session.user == "user-7"
    assert history <= 3 and token not in page.url

    expect(page.get_by_label("Course")).to_have_value("tiny")
    expect(page.locator("#picker")).to_be_hidden()  # embedded: the course is fixed
    ask(page, "what does the discriminator do")
    expect(answer_in(page).locator("button.cite")).to_have_text("[1]")
    expect(answer_in(page)).to_contain_text("tells real samples")
    assert page.js_errors == []


def test_an_lti_launch_in_the_lms_iframe_opens_a_working_chat(studyhall, lms, page):
    """Canvas and Moodle launch tools in an iframe: the login, the launch and the chat all
    run framed by the LMS's course page, whose origin the platform record names."""
    studyhall.app.state.access.set_visibility("tiny", "lms")
    lms.course_page = f'<iframe id="tool" src="{login_url(studyhall, lms)}"></iframe>'
    with page.expect_response(lambda r: r.url == studyhall.base + "/lti/launch") as launched:
        page.goto(lms.base + "/course")
    policy = launched.value.headers["content-security-policy"]
    assert policy.endswith(f"frame-ancestors 'self' {lms.base}")
    frame = page.frame_locator("#tool")
    expect(frame.get_by_label("Course")).to_have_value("tiny")
    chat = page.frame(url=lambda url: urlparse(url).path == "/")
    assert urlparse(chat.url).query == "course=tiny&embed=1"
    question = frame.get_by_label("Your question")
    expect(frame.get_by_label("Course")).to_be_enabled()
    question.fill("what does the discriminator do")
    question.press("Enter")
    expect(frame.locator(".msg-assistant button.cite").first).to_have_text("[1]")
    assert page.js_errors == []


def test_the_launched_page_refuses_to_be_framed_by_a_site_the_platform_does_not_name(
        studyhall, lms, page):
    registered = studyhall.app.state.lti.platforms.get(ISSUER, CLIENT_ID)
    studyhall.app.state.lti.platforms.add(registered.model_copy(
        update={"page_origins": [BLOCKED_FOR]}))
    lms.course_page = f'<iframe id="tool" src="{login_url(studyhall, lms)}"></iframe>'
    refused = lambda message: "frame-ancestors" in message.text  # noqa: E731
    with (page.expect_response(lambda r: r.url == studyhall.base + "/lti/launch") as launched,
          page.expect_console_message(refused)):
        page.goto(lms.base + "/course")
    assert launched.value.headers["content-security-policy"].endswith(
        f"frame-ancestors 'self' {BLOCKED_FOR}")
    expect(page.frame_locator("#tool").locator("#question")).to_have_count(0)


def test_a_deep_linking_launch_posts_a_signed_link_back_to_the_platform(studyhall, lms, page):
    lms.mode = "deep"
    page.goto(login_url(studyhall, lms))
    page.wait_for_url(lambda url: url.startswith(lms.base + "/deep_link_return"))
    expect(page.locator("#items li")).to_have_text(["studyhall: Tiny Course"])

    [claims] = lms.returned  # verified against the tool's /lti/jwks
    assert claims[c.MESSAGE_TYPE] == c.DEEP_LINKING_RESPONSE
    assert claims[c.DEPLOYMENT_ID] == DEPLOYMENT and claims[c.DL_DATA] == "opaque-7"
    assert claims[c.DL_CONTENT_ITEMS] == [{
        "type": "ltiResourceLink", "title": "studyhall: Tiny Course",
        "url": studyhall.base + "/lti/launch"}]


def test_a_forged_launch_ends_on_a_401_that_shows_nothing_of_the_course(studyhall, lms, page):
    lms.mode = "forged"
    with page.expect_response(lambda r: r.url == studyhall.base + "/lti/launch") as launched:
        page.goto(login_url(studyhall, lms))
    assert launched.value.status == 401
    page.wait_for_load_state()
    assert page.url == studyhall.base + "/lti/launch"  # no redirect into the chat
    body = page.locator("body")
    expect(body).to_contain_text("LTI launch rejected")
    expect(body).to_contain_text("signature")
    text = body.inner_text()
    assert "Tiny Course" not in text and "tiny" not in text
    expect(page.locator("#question")).to_have_count(0)
    expect(page.locator("#messages")).to_have_count(0)
    assert lms.auth_requests  # it did go through the platform


# --- 6: the widget on another site -------------------------------------------------------

def test_the_widget_on_an_allowed_origin_opens_a_working_chat(studyhall, page):
    page.goto(studyhall.host + "/course/tiny")
    launcher = page.get_by_role("button", name="Open course assistant")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(page.get_by_role("button", name="Close course assistant")).to_be_visible()

    frame = page.frame_locator("#studyhall-panel")
    question = frame.get_by_label("Your question")
    expect(question).to_be_visible()
    expect(frame.get_by_label("Course")).to_have_value("tiny")
    expect(frame.locator("#picker")).to_be_hidden()
    expect(frame.get_by_label("Course")).to_be_enabled()
    question.fill("what does the discriminator do")
    question.press("Enter")
    expect(frame.locator(".msg-assistant button.cite")).to_have_text("[1]")
    assert page.js_errors == []


def test_the_widget_on_an_origin_the_course_does_not_allow_is_blocked(studyhall, page):
    page.goto(studyhall.host + "/course/other")
    launcher = page.get_by_role("button", name="Open course assistant")
    expect(launcher).to_be_visible()
    refused = lambda message: "frame-ancestors" in message.text  # noqa: E731
    with (page.expect_response(lambda r: "course=other" in r.url) as framed,
          page.expect_console_message(refused) as console):
        launcher.click()

    # studyhall served the page, but only for BLOCKED_FOR to frame...
    policy = framed.value.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {BLOCKED_FOR}" in policy
    assert studyhall.host not in policy
    # ... so Chromium refused to render it here
    # (the wording varies by version: "Refused to frame …", "Framing … has been blocked")
    assert console.value.type == "error" and studyhall.base in console.value.text
    handle = page.locator("#studyhall-panel").element_handle()
    frame = handle.content_frame()
    frame.wait_for_url(lambda url: not url.startswith("about:"))  # the navigation settled
    assert not frame.url.startswith(studyhall.base), frame.url  # Chromium's error page
    assert 'id="question"' not in frame.content()
    assert frame.locator("#question").count() == 0
