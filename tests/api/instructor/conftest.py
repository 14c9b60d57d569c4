"""An app over the small test course ("tiny"), with the fake embedder doing the ingesting,
an admin token, and small upload limits; and helpers to upload and to wait for a job."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from retriever.service import SearchService
from studyhall.core.settings import ServerSettings
from studyhall.services import build_services

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MAX_BODY = 2048  # JSON bodies
MAX_UPLOAD = 8192  # an upload's files together


@pytest.fixture
def app(settings, catalog, fake_embedder, ingestor, course_dir) -> FastAPI:
    ingestor.ingest(course_dir, "tiny")
    settings = settings.model_copy(update={"server": ServerSettings(
        warm_up=False, admin_token=ADMIN_TOKEN, max_body_bytes=MAX_BODY,
        max_upload_bytes=MAX_UPLOAD)})
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    return create_app(services=build_services(settings, search=search))


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


def lti_headers(app: FastAPI, role: str = "instructor", course: str = "tiny") -> dict[str, str]:
    """An LTI launch session, as the launch hands it to the page."""
    token = app.state.lti.sessions.issue(course=course, role=role, user="user-7",
                                         issuer="https://lms.example.edu", context_id="42")
    return {"X-LTI-Session": token}


def upload(client: TestClient, course: str, files: dict[str, bytes | str],
           headers: dict[str, str] = ADMIN):
    parts = [("files", (name, data.encode() if isinstance(data, str) else data))
             for name, data in files.items()]
    return client.post(f"/v1/courses/{course}/files", files=parts, headers=headers)


def wait_for_job(client: TestClient, job_id: str, headers: dict[str, str] = ADMIN,
                 timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/v1/ingest-jobs/{job_id}", headers=headers).json())[
            "status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def top_source(client: TestClient, query: str, course: str = "tiny") -> str:
    response = client.post("/v1/search", json={"query": query, "course": course, "k": 1})
    assert response.status_code == 200, response.text
    return response.json()["hits"][0]["source"]
