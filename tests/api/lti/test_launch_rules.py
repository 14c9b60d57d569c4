"""The launches an LMS sends that used to go wrong: roles from other enrolments, launches in
the LMS's iframe, a key rotated just before a launch; and the rules around them (an
unmapped context, deep linking, target_link_uri, when the nonce is spent, key types)."""

from __future__ import annotations

import json
import logging

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from api.lti import claims as c
from api.lti.keys import KeyUnavailable, PlatformKeys
from tests.api.lti.conftest import INSTRUCTOR, STUDENT, TOOL_URL, landing, start_login
from tests.api.lti.test_launch import assert_refused, launch

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
CANVAS_TEACHER_ELSEWHERE = [f"{LIS}membership#Learner", f"{LIS}institution/person#Instructor",
                            f"{LIS}institution/person#Student", f"{LIS}system/person#User"]


@pytest.mark.parametrize(("roles", "expected"), [
    (CANVAS_TEACHER_ELSEWHERE, "student"),  # a student here who teaches another course
    ([f"{LIS}membership#Instructor", f"{LIS}institution/person#Student"], "instructor"),
    ([f"{LIS}institution/person#Instructor"], "instructor"),  # no membership role: fall back
    ([f"{LIS}system/person#Administrator"], "instructor"),
    ([f"{LIS}membership#Mentor", f"{LIS}institution/person#Administrator"], "student"),
    ([f"{LIS}membership/Instructor#TeachingAssistant"], "student"),  # a sub-role alone
    (["Instructor"], "instructor"), ([], "student"), (["urn:unknown"], "student"),
])
def test_membership_roles_decide_when_the_launch_carries_any(roles, expected):
    assert c.role_for(roles) == expected


def test_a_canvas_student_who_teaches_elsewhere_lands_as_a_student(client, platform):
    auth = start_login(client)
    response = launch(client, auth["state"],
                      platform.id_token(auth["nonce"], **{c.ROLES: CANVAS_TEACHER_ELSEWHERE}))
    path, _, token = landing(response)
    assert path == "/"
    assert client.get("/whoami", headers={"X-LTI-Session": token}).json()["session"][
        "role"] == "student"


def test_an_unmapped_context_never_makes_an_instructor_of_the_default_course(client, platform):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], **{c.CONTEXT: {"id": "another-course"},
                                                c.ROLES: INSTRUCTOR})
    path, query, session = landing(launch(client, auth["state"], token))
    assert (path, query["course"]) == ("/", "general")
    assert client.get("/whoami", headers={"X-LTI-Session": session}).json()["session"][
        "role"] == "student"


def deep_link_token(platform, nonce, **claims):
    return platform.id_token(nonce, **{
        c.MESSAGE_TYPE: c.DEEP_LINKING_REQUEST, c.RESOURCE_LINK: None,
        c.DL_SETTINGS: {"deep_link_return_url": "https://lms.example.edu/return",
                        "accept_types": ["ltiResourceLink"]}} | claims)


@pytest.mark.parametrize(("claims", "reason"), [
    ({c.ROLES: STUDENT}, "deep linking is for instructors"),
    ({c.ROLES: INSTRUCTOR, c.CONTEXT: {"id": "unmapped"}}, "not mapped"),
])
def test_deep_linking_is_for_instructors_of_a_mapped_course(client, platform, caplog, claims,
                                                           reason):
    auth = start_login(client)
    with caplog.at_level(logging.WARNING):
        response = launch(client, auth["state"], deep_link_token(platform, auth["nonce"], **claims))
    assert_refused(response, caplog, reason)


@pytest.mark.parametrize("target", ["https://evil.example/lti/launch",
                                    "http://studyhall.example.edu/lti/launch", "not a url", 7])
def test_a_launch_for_another_tool_is_refused(client, platform, caplog, target):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], **{c.TARGET_LINK_URI: target})
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, auth["state"], token), caplog, "target_link_uri")


def test_a_launch_targeting_this_tool_is_accepted(client, platform):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], **{c.TARGET_LINK_URI: TOOL_URL + "/lti/launch"})
    assert landing(launch(client, auth["state"], token))[0] == "/"


def test_a_forged_token_does_not_burn_the_login(client, platform, rsa_keys, caplog):
    auth = start_login(client)
    forged = platform.id_token(auth["nonce"], key=rsa_keys["attacker"])
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, auth["state"], forged), caplog, "signature")
    # the state and nonce are still good for the platform's own token
    assert landing(launch(client, auth["state"], platform.id_token(auth["nonce"])))[0] == "/"
    with caplog.at_level(logging.WARNING):  # and now they are spent
        assert_refused(launch(client, auth["state"], platform.id_token(auth["nonce"])), caplog,
                       "state already used")


def test_the_launch_page_may_be_framed_by_the_platform_pages_only(client, platform, service):
    registered = service.platforms.get("https://lms.example.edu", "studyhall-client")
    service.platforms.add(registered.model_copy(
        update={"page_origins": ["https://school.lms.example.edu"]}))
    auth = start_login(client)
    response = launch(client, auth["state"], platform.id_token(auth["nonce"]))
    policy = response.headers["content-security-policy"]
    assert policy.endswith("frame-ancestors 'self' https://school.lms.example.edu")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "studyhall-lti" in response.text and "lti=" not in response.text


class Jwks:
    """A key set served by a stub opener, counting fetches."""

    def __init__(self, monkeypatch, keys: list[dict]):
        self.keys, self.fetches = keys, 0

        class Response:
            def __init__(inner, body: bytes) -> None:
                inner.body = body

            def read(inner, size=-1) -> bytes:
                return inner.body

            def __enter__(inner):
                return inner

            def __exit__(inner, *exc) -> None:
                pass

        def urlopen(url, timeout):
            self.fetches += 1
            return Response(json.dumps({"keys": self.keys}).encode())

        monkeypatch.setattr("api.lti.keys.urllib.request.urlopen", urlopen)


def rsa_jwk(private, kid: str, **extra) -> dict:
    return jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True) | {
        "kid": kid, **extra}


def test_a_key_rotated_right_after_the_first_fetch_is_still_found(monkeypatch, rsa_keys):
    jwks = Jwks(monkeypatch, [rsa_jwk(rsa_keys["platform"], "old")])
    keys = PlatformKeys(refresh_cooldown_s=60)
    assert keys.signing_key("https://lms/jwks", "old")
    jwks.keys.append(rsa_jwk(rsa_keys["rotated"], "new"))  # rotated a second later
    assert keys.signing_key("https://lms/jwks", "new")  # the cooldown has not started yet
    assert jwks.fetches == 2
    with pytest.raises(KeyUnavailable, match="no platform key"):
        keys.signing_key("https://lms/jwks", "made-up")  # within the cooldown: no fetch
    assert jwks.fetches == 2


def test_only_rsa_signing_keys_are_used(monkeypatch, rsa_keys):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    Jwks(monkeypatch, [
        jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True) | {"kid": "ec"},
        rsa_jwk(rsa_keys["platform"], "enc", use="enc"),
        rsa_jwk(rsa_keys["platform"], "ps", alg="PS256"),
        rsa_jwk(rsa_keys["platform"], "good", alg="RS256", use="sig"),
    ])
    keys = PlatformKeys(refresh_cooldown_s=0)
    assert keys.signing_key("https://lms/jwks", "good")
    for kid in ("ec", "enc", "ps"):
        with pytest.raises(KeyUnavailable):
            keys.signing_key("https://lms/jwks", kid)


def test_a_login_for_another_tool_is_refused(client):
    response = client.get("/lti/login", params={
        "iss": "https://lms.example.edu", "login_hint": "user-7", "client_id": "studyhall-client",
        "target_link_uri": "https://evil.example/lti/launch"})
    assert response.status_code == 400 and "target_link_uri" in response.json()["detail"]
