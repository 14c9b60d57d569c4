"""Who may use the instructor endpoints: an LTI instructor of that course, or the admin."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from api.access import CallerDep
from api.errors import install_error_handlers
from studyhall.core.settings import ServerSettings
from tests.api.instructor.conftest import ADMIN, lti_headers, upload, wait_for_job

LESSON = {"extra.md": "# Extra\n\nAn extra lesson.\n"}


def test_no_credentials_is_a_401_that_says_how_to_sign_in(client):
    response = upload(client, "tiny", LESSON, headers={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    detail = response.json()["detail"]
    assert "X-LTI-Session" in detail and "Authorization: Bearer" in detail


def test_a_student_session_is_a_403(client, app):
    response = upload(client, "tiny", LESSON, headers=lti_headers(app, role="student"))
    assert response.status_code == 403 and "instructor" in response.json()["detail"]


def test_an_instructor_of_another_course_is_a_403(client, app):
    response = upload(client, "tiny", LESSON, headers=lti_headers(app, course="other"))
    assert response.status_code == 403 and "'other'" in response.json()["detail"]


def test_an_instructor_session_of_the_course_may_upload_and_follow_the_job(client, app):
    headers = lti_headers(app)
    response = upload(client, "tiny", LESSON, headers=headers)
    assert response.status_code == 202, response.text
    assert wait_for_job(client, response.json()["id"], headers=headers)["status"] == "done"


def test_a_session_in_the_query_string_is_not_read(client, app):
    """Tokens in addresses end up in access logs and browser history: headers only."""
    token = lti_headers(app)["X-LTI-Session"]
    response = client.post(f"/v1/courses/tiny/files?lti={token}",
                           files=[("files", ("extra.md", b"# Extra\n\ntext\n"))])
    assert response.status_code == 401, response.text


def test_a_forged_session_is_a_401(client, app):
    token = lti_headers(app)["X-LTI-Session"]
    response = upload(client, "tiny", LESSON, headers={"X-LTI-Session": token[:-4] + "AAAA"})
    assert response.status_code == 401


def test_the_admin_token_opens_every_course(client):
    assert upload(client, "tiny", LESSON).status_code == 202
    assert upload(client, "another", LESSON).status_code == 202


def test_a_wrong_admin_token_is_a_401(client, app):
    headers = {"Authorization": "Bearer not-the-admin-token"} | lti_headers(app)
    response = upload(client, "tiny", LESSON, headers=headers)
    assert response.status_code == 401 and "wrong admin token" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_bearer_token_when_the_server_has_none_is_a_401_that_says_so(client, app):
    app.state.services.settings = app.state.services.settings.model_copy(
        update={"server": ServerSettings(warm_up=False)})
    response = upload(client, "tiny", LESSON)
    assert response.status_code == 401 and "no admin token" in response.json()["detail"]


def test_a_job_is_only_shown_to_instructors_of_its_course(client, app):
    job_id = upload(client, "tiny", LESSON).json()["id"]
    assert client.get(f"/v1/ingest-jobs/{job_id}").status_code == 401
    other = lti_headers(app, course="other")
    assert client.get(f"/v1/ingest-jobs/{job_id}", headers=other).status_code == 403
    assert client.get(f"/v1/ingest-jobs/{job_id}", headers=lti_headers(app)).status_code == 200


def test_an_admin_token_shorter_than_16_characters_is_refused_at_start():
    with pytest.raises(ValidationError, match="admin_token"):
        ServerSettings(admin_token="short")


class Body(BaseModel):
    course: str


def test_a_route_that_reads_the_course_from_its_body_checks_it_with_the_caller(app):
    """The pattern POST /v1/evals uses: CallerDep, then require_instructor(body.course)."""
    bare = FastAPI()
    bare.state.services, bare.state.lti = app.state.services, app.state.lti
    bare.state.access = app.state.access
    install_error_handlers(bare)

    @bare.post("/start")
    def start(body: Body, caller: CallerDep) -> dict:
        caller.require_instructor(body.course)
        return {"ok": True}

    client = TestClient(bare)
    assert client.post("/start", json={"course": "tiny"}).status_code == 401
    assert client.post("/start", json={"course": "tiny"},
                       headers=lti_headers(app, role="student")).status_code == 403
    assert client.post("/start", json={"course": "tiny"},
                       headers=lti_headers(app)).status_code == 200
    assert client.post("/start", json={"course": "other"},
                       headers=lti_headers(app)).status_code == 403
    assert client.post("/start", json={"course": "other"}, headers=ADMIN).status_code == 200
