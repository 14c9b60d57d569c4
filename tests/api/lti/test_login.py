"""OIDC login initiation: the redirect to the platform and the state cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.api.lti.conftest import CLIENT_ID, ISSUER, TOOL_URL, start_login


def test_login_redirects_to_the_platform_with_the_oidc_parameters(client, platform):
    response = client.get("/lti/login", params={
        "iss": ISSUER, "login_hint": "user-7", "lti_message_hint": "link-1",
        "target_link_uri": TOOL_URL + "/lti/launch", "client_id": CLIENT_ID})

    assert response.status_code == 302
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.auth_login_url
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query == {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": CLIENT_ID, "redirect_uri": TOOL_URL + "/lti/launch",
        "login_hint": "user-7", "lti_message_hint": "link-1",
        "state": query["state"], "nonce": query["nonce"]}
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["state"] != query["nonce"]


def test_login_sets_a_cross_site_state_cookie(client):
    response = client.get("/lti/login", params={"iss": ISSUER, "login_hint": "u",
                                                "client_id": CLIENT_ID})
    state = parse_qs(urlparse(response.headers["location"]).query)["state"][0]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"lti1p3-state-{state}={state};")
    for attribute in ("HttpOnly", "Secure", "SameSite=none", "Path=/lti/", "Partitioned"):
        assert attribute in cookie


def test_login_by_form_post_without_client_id_finds_the_issuers_only_platform(client):
    response = client.post("/lti/login", data={"iss": ISSUER, "login_hint": "user-7"})
    assert response.status_code == 302
    assert f"client_id={CLIENT_ID}" in response.headers["location"]


def test_each_login_gets_a_new_state_and_nonce(client):
    first, second = start_login(client), start_login(client)
    assert first["state"] != second["state"] and first["nonce"] != second["nonce"]


def test_login_from_an_unknown_platform_is_refused(client, caplog):
    response = client.get("/lti/login", params={"iss": "https://other.example",
                                                "login_hint": "u"})
    assert response.status_code == 400
    assert "unknown platform" in caplog.text


def test_login_for_an_unknown_deployment_is_refused(client):
    response = client.get("/lti/login", params={"iss": ISSUER, "login_hint": "u",
                                                "lti_deployment_id": "deployment-9"})
    assert response.status_code == 400


def test_login_without_login_hint_is_refused(client):
    assert client.get("/lti/login", params={"iss": ISSUER}).status_code == 400
