"""Deep linking: the signed response goes back to the platform and verifies with our JWKS."""

from __future__ import annotations

import html
import re

import jwt

from api.lti import claims as c
from tests.api.lti.conftest import CLIENT_ID, DEPLOYMENT, INSTRUCTOR, ISSUER, TOOL_URL, start_login

RETURN_URL = "https://lms.example.edu/deep_links/return?id=5"


def deep_linking_launch(client, platform, **settings):
    auth = start_login(client)
    token = platform.id_token(auth["nonce"], **{
        c.MESSAGE_TYPE: c.DEEP_LINKING_REQUEST, c.ROLES: INSTRUCTOR, c.RESOURCE_LINK: None,
        c.DL_SETTINGS: {"deep_link_return_url": RETURN_URL,
                        "accept_types": ["ltiResourceLink"], **settings}})
    return client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})


def returned_form(page: str) -> tuple[str, str]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page).group(1)
    token = re.search(r'name="JWT" value="([^"]+)"', page).group(1)
    return html.unescape(action), html.unescape(token)


def test_deep_linking_posts_a_resource_link_back_to_the_platform(client, platform):
    response = deep_linking_launch(client, platform, data="opaque-platform-data")

    assert response.status_code == 200
    action, token = returned_form(response.text)
    assert action == RETURN_URL
    assert 'src="../static/submit.js"' in response.text  # submits itself, with no inline script
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "form-action 'self' https://lms.example.edu" in policy

    keys = jwt.PyJWKSet.from_dict(client.get("/lti/jwks").json())
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, keys[kid], algorithms=["RS256"], audience=ISSUER,
                        issuer=CLIENT_ID)
    assert claims[c.MESSAGE_TYPE] == "LtiDeepLinkingResponse"
    assert claims[c.VERSION] == "1.3.0"
    assert claims[c.DEPLOYMENT_ID] == DEPLOYMENT
    assert claims[c.DL_DATA] == "opaque-platform-data"
    assert claims["nonce"] and claims["exp"] > claims["iat"]
    assert claims[c.DL_CONTENT_ITEMS] == [{
        "type": "ltiResourceLink", "title": "studyhall: Generative AI Basics",
        "url": TOOL_URL + "/lti/launch"}]


def test_deep_linking_without_data_sends_none_back(client, platform):
    _, token = returned_form(deep_linking_launch(client, platform).text)
    assert c.DL_DATA not in jwt.decode(token, options={"verify_signature": False})


def test_deep_linking_refuses_a_platform_that_takes_no_resource_links(client, platform):
    response = deep_linking_launch(client, platform, accept_types=["file"])
    assert response.status_code == 401
    assert "resource links" in response.json()["detail"]
