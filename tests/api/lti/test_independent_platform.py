"""Launches from an LTI 1.3 platform nobody here wrote: the `lti1p3platform` package builds
the OIDC login request, checks our authentication request, signs the id_token with its
own code, and checks our deep linking reply against the JWKS it fetches from us, all over
real HTTP. Our simulator (conftest.py) shares our reading of the spec; this does not.

Roles are the set Canvas sends for a student of this course who teaches another one
(membership Learner, institution Instructor), and the launch asks for an iframe, as Canvas
and Moodle do by default."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from bs4 import BeautifulSoup
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

from api.lti import LtiService, add_platform
from tests.api.lti.conftest import CLIENT_ID, CONTEXT, DEPLOYMENT, ISSUER, TOOL_URL, tool_app
from tests.conftest import serving

CANVAS_PAGES = "https://canvas.school.edu"
STUDENT_WHO_TEACHES_ELSEWHERE = [
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
]
INSTRUCTOR = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
RETURN_URL = CANVAS_PAGES + "/courses/42/deep_linking_response"


def pem(key, private: bool) -> str:
    if private:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Platform(LTI1P3PlatformConfAbstract):
    """The package's platform, configured the way its README does: one registration."""

    def init_platform_config(self, **kwargs) -> None:
        self.settings = kwargs

    def get_registration_by_params(self, **kwargs) -> Registration:
        s = self.settings
        registration = (Registration().set_iss(ISSUER).set_client_id(CLIENT_ID)
                        .set_deployment_id(DEPLOYMENT)
                        .set_oidc_login_url(s["tool_base"] + "/lti/login")
                        .set_launch_url(TOOL_URL + "/lti/launch")
                        .set_tool_key_set_url(s["tool_base"] + "/lti/jwks")
                        .set_platform_public_key(pem(s["key"], private=False)))
        registration.set_platform_private_key(pem(s["key"], private=True))
        registration.set_deeplink_launch_url(TOOL_URL + "/lti/launch")
        return registration


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url  # the browser follows it: the test does


class Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data, **kwargs):
        return launch_data  # the auto-submitting form's fields


class Request:
    """The package's view of the browser's request to the platform's auth endpoint."""

    def __init__(self, query: dict[str, str]) -> None:
        self.get_data, self.form_data = query, {}


@pytest.fixture
def world(tmp_path, rsa_keys):
    key = rsa_keys["platform"]
    platform_app = FastAPI()
    published: dict[str, dict] = {}  # the keys the platform publishes: the package's JWKS

    @platform_app.get("/jwks")
    def jwks() -> dict:
        return published["jwks"]

    with serving(platform_app) as platform_base:
        database = tmp_path / "data" / "studyhall.sqlite"
        add_platform(database, issuer=ISSUER, client_id=CLIENT_ID, deployment_ids=[DEPLOYMENT],
                     auth_login_url=CANVAS_PAGES + "/api/lti/authorize_redirect",
                     jwks_url=platform_base + "/jwks", context_courses={CONTEXT: "genai-basics"},
                     page_origins=[CANVAS_PAGES])
        service = LtiService(database, tmp_path / "data", TOOL_URL, jwks_refresh_cooldown_s=0,
                             course_title={"genai-basics": "Generative AI Basics"}.get)
        with serving(tool_app(service)) as tool_base:
            platform = Platform(tool_base=tool_base, key=key)
            platform.get_registration()
            published["jwks"] = platform.get_jwks()
            yield platform, tool_base


def launch(platform: Platform, tool_base: str, roles: list[str], deep_linking: bool = False):
    """The whole browser round trip: platform → /lti/login → platform → /lti/launch."""
    login = Login(None, platform)
    login.set_lti_message_hint(hint="resource-link-1")
    preflight = login.initiate_login("canvas-user-17")
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        to_auth = browser.get(preflight.replace(TOOL_URL, tool_base))
        assert to_auth.status_code == 302, to_auth.text
        auth = urlparse(to_auth.headers["location"])
        assert f"{auth.scheme}://{auth.netloc}" == CANVAS_PAGES
        query = {k: v[0] for k, v in parse_qs(auth.query).items()}

        message = Launch(Request(query), platform)
        message.set_user_data("canvas-user-17", roles, full_name="Ada Student")
        message.set_resource_link_claim("resource-link-1", title="Course assistant")
        message.set_launch_context_claim(CONTEXT, context_title="Generative AI")
        message.set_launch_presentation_claim(document_target="iframe")
        if deep_linking:
            message.set_dl(RETURN_URL, title="Add studyhall", accept_types={"ltiResourceLink"})
        form = message.lti_launch()  # checks our auth request, signs the id_token

        target = urlparse(form["launch_url"])
        assert f"{target.scheme}://{target.netloc}" == TOOL_URL
        return browser.post(tool_base + target.path,
                            data={"id_token": form["id_token"], "state": form["state"]})


def test_a_canvas_student_who_teaches_elsewhere_launches_as_a_student(world):
    platform, tool_base = world
    response = launch(platform, tool_base, STUDENT_WHO_TEACHES_ELSEWHERE)
    assert response.status_code == 200, response.text
    page = BeautifulSoup(response.text, "html.parser")
    landing = page.find("meta", attrs={"name": "studyhall-landing"})["content"]
    assert urlparse(landing).path.endswith("/") and "course=genai-basics" in landing
    token = page.find("meta", attrs={"name": "studyhall-lti"})["content"]
    assert token not in landing  # the session never travels in an address

    # the LMS frames the page: its page origin may, nobody else may
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {CANVAS_PAGES}" in policy
    assert "x-frame-options" not in {k.lower() for k in response.headers}

    # the session is a student's of the mapped course: instructor routes refuse it
    headers = {"X-LTI-Session": token}
    whoami = httpx.get(f"{tool_base}/whoami", headers=headers).json()["session"]
    assert whoami["role"] == "student" and whoami["course"] == "genai-basics"
    assert whoami["user"] == "canvas-user-17"


def test_an_instructor_launch_from_the_package_reaches_the_instructor_page(world):
    platform, tool_base = world
    response = launch(platform, tool_base, INSTRUCTOR)
    assert response.status_code == 200, response.text
    page = BeautifulSoup(response.text, "html.parser")
    assert "/instructor" in page.find("meta", attrs={"name": "studyhall-landing"})["content"]


def test_a_deep_linking_reply_verifies_with_the_package_against_our_jwks(world):
    platform, tool_base = world
    response = launch(platform, tool_base, INSTRUCTOR, deep_linking=True)
    assert response.status_code == 200, response.text
    page = BeautifulSoup(response.text, "html.parser")
    form = page.find("form")
    assert form["action"] == RETURN_URL
    token = form.find("input", attrs={"name": "JWT"})["value"]

    items = platform.validate_deeplinking_resp({"JWT": token})  # fetches /lti/jwks itself
    assert items == [{"type": "ltiResourceLink", "title": "studyhall: Generative AI Basics",
                      "url": TOOL_URL + "/lti/launch"}]


@pytest.mark.parametrize("same_kid", [True, False], ids=["published-kid", "unknown-kid"])
def test_a_token_signed_with_a_key_the_platform_never_published_is_refused(world, rsa_keys,
                                                                          same_kid):
    platform, tool_base = world
    published_kid = platform.get_registration().get_kid()
    platform.settings["key"] = rsa_keys["attacker"]
    platform._registration = None
    if same_kid:  # a forger who copies the real key's id
        platform.get_registration().get_kid = lambda: published_kid
    response = launch(platform, tool_base, INSTRUCTOR)
    assert response.status_code == 401
    reason = response.json()["detail"].lower()
    assert ("signature" in reason) if same_kid else ("no platform key with kid" in reason)
