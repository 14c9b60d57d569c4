"""The tool's key pair: served as a JWKS, kept private on disk, the same after a restart."""

from __future__ import annotations

import stat

import jwt
from fastapi.testclient import TestClient

from api.lti import LtiService
from api.lti.keys import ToolKey
from tests.api.lti.conftest import tool_app


def test_jwks_endpoint_serves_the_public_key_only(client, service):
    keys = client.get("/lti/jwks").json()["keys"]

    assert len(keys) == 1
    [key] = keys
    assert key["kid"] == service.tool_key.kid
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


def test_jwks_verifies_what_the_tool_signs(client, service):
    token = service.tool_key.sign({"hello": "platform"})
    key = jwt.PyJWKSet.from_dict(client.get("/lti/jwks").json())[service.tool_key.kid]
    assert jwt.decode(token, key, algorithms=["RS256"])["hello"] == "platform"


def test_key_survives_a_restart_with_the_same_kid(tmp_path):
    data = tmp_path / "data"
    first = LtiService(data / "db.sqlite", data).tool_key.kid
    restarted = LtiService(data / "db.sqlite", data)

    with TestClient(tool_app(restarted)) as client:
        assert client.get("/lti/jwks").json()["keys"][0]["kid"] == first


def test_key_and_session_secret_are_readable_by_the_owner_only(tmp_path):
    service = LtiService(tmp_path / "db.sqlite", tmp_path)
    assert service.tool_key.kid and service.sessions.secret  # both made on first use

    for name in ("tool-key.pem", "session.secret"):
        mode = stat.S_IMODE((tmp_path / "lti" / name).stat().st_mode)
        assert mode == 0o600, f"{name}: {oct(mode)}"
    assert (tmp_path / "lti" / "tool-key.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")


def test_another_data_dir_gets_another_key(tmp_path):
    assert ToolKey(tmp_path / "a.pem").kid != ToolKey(tmp_path / "b.pem").kid
