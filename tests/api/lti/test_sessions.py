"""The launch session other routes read from the X-LTI-Session header (api.access)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.lti import LtiService
from tests.api.lti.conftest import tool_app


def issue(service, role="student"):
    return service.sessions.issue(course="genai-basics", role=role, user="user-7",
                                  issuer="https://lms.example.edu", context_id="42")


def test_no_token_means_no_session(client):
    assert client.get("/whoami").json() == {"session": None}


def test_session_is_read_from_the_header_and_never_from_the_query(client, service):
    token = issue(service, role="instructor")
    by_header = client.get("/whoami", headers={"X-LTI-Session": token}).json()["session"]
    assert (by_header["course"], by_header["role"], by_header["context_id"]) == (
        "genai-basics", "instructor", "42")
    assert client.get("/whoami", params={"lti": token}).json() == {"session": None}


def test_tampered_session_is_refused(client, service):
    token = issue(service)
    header, payload, signature = token.split(".")
    response = client.get("/whoami", headers={"X-LTI-Session": f"{header}.{payload}.{signature[::-1]}"})
    assert response.status_code == 401


def test_expired_session_asks_for_a_new_launch(client, service):
    service.sessions.ttl_s = -1
    response = client.get("/whoami", headers={"X-LTI-Session": issue(service)})
    assert response.status_code == 401
    assert "again" in response.json()["detail"]


def test_session_survives_a_restart(client, service, tmp_path):
    token = issue(service)
    restarted = LtiService(tmp_path / "data" / "studyhall.sqlite", tmp_path / "data")
    with TestClient(tool_app(restarted)) as other:
        assert other.get("/whoami", headers={"X-LTI-Session": token}).json()["session"]
