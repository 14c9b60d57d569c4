"""A simulated LMS for the LTI tests: its own RSA keys, a JWKS served over real HTTP on
127.0.0.1, and id_tokens signed the way a platform signs them."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urljoin, urlparse

import jwt
import pytest
from bs4 import BeautifulSoup
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from api.access import AccessStore, CallerDep
from api.errors import install_error_handlers
from api.lti import LtiService, add_platform, lti_router
from api.lti import claims as c
from studyhall.core.settings import Settings
from studyhall.services import build_services
from tests.conftest import serving

ISSUER = "https://lms.example.edu"
CLIENT_ID = "studyhall-client"
DEPLOYMENT = "deployment-1"
CONTEXT = "lms-course-42"
STUDENT = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
INSTRUCTOR = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
TOOL_URL = "https://studyhall.example.edu"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_keys() -> dict[str, rsa.RSAPrivateKey]:
    """Keys made once per run (2048-bit generation is the slow part of these tests)."""
    return {"platform": new_key(), "rotated": new_key(), "attacker": new_key()}


class FakePlatform:
    """The LMS side: which keys it publishes, how many times its JWKS was fetched, and
    id_tokens signed with the key it currently uses."""

    def __init__(self, base_url: str, key: rsa.RSAPrivateKey, kid: str = "platform-key-1"):
        self.jwks_url = base_url + "/jwks"
        self.auth_login_url = base_url + "/auth"
        self.published: dict[str, rsa.RSAPrivateKey] = {kid: key}
        self.key, self.kid = key, kid
        self.jwks_fetches = 0

    def jwks(self) -> dict:
        self.jwks_fetches += 1
        return {"keys": [RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
                         | {"kid": kid, "alg": "RS256", "use": "sig"}
                         for kid, key in self.published.items()]}

    def rotate(self, key: rsa.RSAPrivateKey, kid: str) -> None:
        self.published[kid] = key
        self.key, self.kid = key, kid

    def claims(self, nonce: str, **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": CLIENT_ID, "sub": "user-7", "nonce": nonce,
            "iat": now, "exp": now + 300,
            c.DEPLOYMENT_ID: DEPLOYMENT,
            c.MESSAGE_TYPE: c.RESOURCE_LINK_REQUEST,
            c.VERSION: "1.3.0",
            c.CONTEXT: {"id": CONTEXT, "title": "Generative AI"},
            c.ROLES: STUDENT,
            c.RESOURCE_LINK: {"id": "link-1"},
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}  # None: leave the claim out

    def id_token(self, nonce: str, *, key=None, kid=None, **overrides) -> str:
        return jwt.encode(self.claims(nonce, **overrides), key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})


@pytest.fixture(scope="session")
def platform_server():
    """The simulated LMS's HTTP server; each test puts its own FakePlatform behind it."""
    current: dict[str, FakePlatform] = {}
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict:
        return current["platform"].jwks()

    with serving(app) as base_url:
        yield base_url, current


@pytest.fixture
def platform(platform_server, rsa_keys) -> FakePlatform:
    base_url, current = platform_server
    current["platform"] = FakePlatform(base_url, rsa_keys["platform"])
    return current["platform"]


@pytest.fixture
def service(tmp_path, platform) -> LtiService:
    database = tmp_path / "data" / "studyhall.sqlite"
    add_platform(database, issuer=ISSUER, client_id=CLIENT_ID, deployment_ids=[DEPLOYMENT],
                 auth_login_url=platform.auth_login_url, jwks_url=platform.jwks_url,
                 context_courses={CONTEXT: "genai-basics"}, default_course="general")
    return LtiService(database, tmp_path / "data", TOOL_URL, jwks_refresh_cooldown_s=0,
                      course_title={"genai-basics": "Generative AI Basics"}.get)


def tool_app(service: LtiService) -> FastAPI:
    """The LTI routes, and ``/whoami``: the session a request's headers carry."""
    app = FastAPI()
    app.state.lti = service
    app.state.access = AccessStore(service.platforms.db)
    app.state.services = build_services(Settings(data_dir=service.data_dir))
    install_error_handlers(app)
    app.include_router(lti_router)

    @app.get("/whoami")
    def whoami(caller: CallerDep) -> dict:
        return {"session": None if caller.session is None else caller.session.__dict__}

    return app


def landing(response) -> tuple[str, dict[str, str], str]:
    """Where a launch's page sends the browser (path and query), and the session it keeps
    in the tab's storage: read off the page, as launch.js reads it."""
    assert response.status_code == 200, response.text
    page = BeautifulSoup(response.text, "html.parser")
    target = urlparse(urljoin(TOOL_URL + "/lti/launch",
                              page.find("meta", attrs={"name": "studyhall-landing"})["content"]))
    session = page.find("meta", attrs={"name": "studyhall-lti"})["content"]
    return target.path, {k: v[0] for k, v in parse_qs(target.query).items()}, session


@pytest.fixture
def client(service) -> TestClient:
    with TestClient(tool_app(service), follow_redirects=False) as test_client:
        yield test_client


def start_login(client: TestClient, **params) -> dict[str, str]:
    """Play the browser through /lti/login; return the platform's auth request parameters."""
    query = {"iss": ISSUER, "login_hint": "user-7", "target_link_uri": TOOL_URL + "/lti/launch",
             "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT} | params
    response = client.get("/lti/login", params=query)
    assert response.status_code == 302, response.text
    client.cookies.clear()  # tests send the state cookie explicitly, or not at all
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["location"]).query).items()}
