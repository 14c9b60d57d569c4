"""Launch: the happy path end to end, and each way a launch is refused (401 + a log line)."""

from __future__ import annotations

import logging
import time

import jwt
import pytest

from api.lti import claims as c
from tests.api.lti.conftest import CLIENT_ID, INSTRUCTOR, ISSUER, landing, start_login


def launch(client, state, id_token, cookie: str | None = None):
    headers = {"cookie": cookie} if cookie else {}
    return client.post("/lti/launch", data={"id_token": id_token, "state": state},
                       headers=headers)


def test_student_launch_opens_the_mapped_course_in_the_chat(client, platform):
    auth = start_login(client)
    response = launch(client, auth["state"], platform.id_token(auth["nonce"]))

    path, query, token = landing(response)
    assert path == "/"
    assert query == {"course": "genai-basics", "embed": "1"}  # no session in the address
    session = client.get("/whoami", headers={"X-LTI-Session": token}).json()["session"]
    assert session["role"] == "student" and session["course"] == "genai-basics"
    assert session["user"] == "user-7" and session["issuer"] == ISSUER


def test_instructor_launch_goes_to_the_instructor_page(client, platform):
    auth = start_login(client)
    response = launch(client, auth["state"],
                      platform.id_token(auth["nonce"], **{c.ROLES: INSTRUCTOR}))

    path, query, token = landing(response)
    assert path == "/instructor" and query == {"course": "genai-basics"}
    session = client.get("/whoami", headers={"X-LTI-Session": token}).json()["session"]
    assert session["role"] == "instructor"


def test_unmapped_context_opens_the_default_course(client, platform):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], **{c.CONTEXT: {"id": "another-course"}})
    assert landing(launch(client, auth["state"], token))[1]["course"] == "general"


def test_state_cookie_for_this_state_is_accepted(client, platform):
    auth = start_login(client)
    cookie = f"lti1p3-state-{auth['state']}={auth['state']}"
    assert launch(client, auth["state"], platform.id_token(auth["nonce"]), cookie).status_code == 200


def test_several_audiences_with_azp_are_accepted(client, platform):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], aud=[CLIENT_ID, "other-tool"], azp=CLIENT_ID)
    assert launch(client, auth["state"], token).status_code == 200


def test_rotated_platform_key_is_fetched_on_first_sight(client, platform, rsa_keys):
    auth = start_login(client)
    assert launch(client, auth["state"], platform.id_token(auth["nonce"])).status_code == 200
    platform.rotate(rsa_keys["rotated"], "platform-key-2")

    auth = start_login(client)
    assert launch(client, auth["state"], platform.id_token(auth["nonce"])).status_code == 200
    assert platform.jwks_fetches == 2  # the first launch, then one refresh for the new kid


# --- refusals ------------------------------------------------------------------------------

def assert_refused(response, caplog, reason: str, id_token: str = "") -> None:
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(reason in message for message in warnings), warnings
    assert "course" not in response.headers.get("location", "")
    if id_token:
        assert id_token not in caplog.text


@pytest.mark.parametrize("overrides, reason", [
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
    ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "issued in the future"),
    ({"aud": "some-other-tool"}, "audience"),
    ({"aud": [CLIENT_ID, "other-tool"]}, "azp"),
    ({"aud": [CLIENT_ID, "other-tool"], "azp": "other-tool"}, "azp"),
    ({"iss": "https://evil.example"}, "issuer"),
    ({c.DEPLOYMENT_ID: "deployment-9"}, "deployment_id"),
    ({c.MESSAGE_TYPE: "LtiSubmissionReviewRequest"}, "message_type"),
    ({c.VERSION: "1.1"}, "version"),
    ({c.CONTEXT: {"id": "elsewhere"}}, "no studyhall course"),
], ids=["expired", "future-iat", "wrong-audience", "audiences-without-azp", "wrong-azp",
        "wrong-issuer", "unknown-deployment", "wrong-message-type", "wrong-version",
        "unmapped-course"])
def test_bad_claims_are_refused(client, platform, service, caplog, overrides, reason):
    if reason == "no studyhall course":
        service.platforms.add(service.platforms.get(ISSUER, CLIENT_ID).model_copy(
            update={"default_course": None}))
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], **overrides)
    with caplog.at_level(logging.WARNING):
        response = launch(client, auth["state"], token)
    assert_refused(response, caplog, reason, token)


def test_signature_by_another_key_with_the_same_kid_is_refused(client, platform, rsa_keys,
                                                               caplog):
    auth = start_login(client)
    forged = platform.id_token(auth["nonce"], key=rsa_keys["attacker"])
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, auth["state"], forged), caplog, "signature", forged)


def test_unknown_kid_refreshes_the_jwks_once_then_is_refused(client, platform, rsa_keys, caplog):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], key=rsa_keys["attacker"], kid="attacker-key")
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, auth["state"], token), caplog, "no platform key", token)
    assert platform.jwks_fetches == 2  # the first fetch, and one refresh


def test_replayed_nonce_is_refused(client, platform, caplog):
    first = start_login(client)
    token = platform.id_token(first["nonce"])
    assert launch(client, first["state"], token).status_code == 200

    second = start_login(client)  # a fresh state, the old token
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, second["state"], token), caplog,
                       "nonce does not belong to this state")


def test_nonce_from_another_login_is_refused(client, platform, caplog):
    first, second = start_login(client), start_login(client)
    with caplog.at_level(logging.WARNING):
        response = launch(client, second["state"], platform.id_token(first["nonce"]))
    assert_refused(response, caplog, "nonce does not belong to this state")


def test_unknown_state_is_refused(client, platform, caplog):
    auth = start_login(client)
    with caplog.at_level(logging.WARNING):
        response = launch(client, "made-up-state", platform.id_token(auth["nonce"]))
    assert_refused(response, caplog, "unknown state")


def test_used_state_is_refused(client, platform, caplog):
    auth = start_login(client)
    assert launch(client, auth["state"], platform.id_token(auth["nonce"])).status_code == 200
    with caplog.at_level(logging.WARNING):
        response = launch(client, auth["state"], platform.id_token(auth["nonce"]))
    assert_refused(response, caplog, "state already used")


def test_expired_state_is_refused(client, platform, service, caplog):
    service.logins.ttl_s = 0.01
    auth = start_login(client)
    time.sleep(0.05)
    with caplog.at_level(logging.WARNING):
        response = launch(client, auth["state"], platform.id_token(auth["nonce"]))
    assert_refused(response, caplog, "state expired")


def test_state_cookie_for_another_state_is_refused(client, platform, caplog):
    auth = start_login(client)
    with caplog.at_level(logging.WARNING):
        response = launch(client, auth["state"], platform.id_token(auth["nonce"]),
                          cookie="lti1p3-state-other=other")
    assert_refused(response, caplog, "state cookie")


@pytest.mark.parametrize("token, reason", [
    ("", "not a JWT"),
    ("not-a-jwt", "not a JWT"),
    ("aaa.bbb.ccc", "malformed"),
    (jwt.encode({"nonce": "x"}, "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256",
                headers={"kid": "k"}), "alg must be RS256"),
], ids=["empty", "one-part", "garbage-parts", "hs256"])
def test_malformed_id_token_is_refused(client, caplog, token, reason):
    auth = start_login(client)
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, auth["state"], token), caplog, reason)


def test_token_without_kid_is_refused(client, platform, caplog):
    auth = start_login(client)
    token = jwt.encode(platform.claims(auth["nonce"]), platform.key, algorithm="RS256")
    with caplog.at_level(logging.WARNING):
        assert_refused(launch(client, auth["state"], token), caplog, "no kid", token)


def test_unreachable_platform_keys_refuse_the_launch(client, platform, service, caplog):
    registered = service.platforms.get(ISSUER, CLIENT_ID)
    service.platforms.add(registered.model_copy(update={"jwks_url": "http://127.0.0.1:9/jwks"}))
    auth = start_login(client)
    with caplog.at_level(logging.WARNING):
        response = launch(client, auth["state"], platform.id_token(auth["nonce"]))
    assert_refused(response, caplog, "could not fetch the platform's keys")
