"""An instructor makes, lists and revokes the course's API keys, and sets who may read it,
from the instructor view's API; nobody else may."""

from fastapi.testclient import TestClient

from tests.api.instructor.conftest import ADMIN, lti_headers


def test_an_instructor_makes_a_key_that_reads_the_course(client, app):
    teacher = lti_headers(app)
    made = client.post("/v1/courses/tiny/keys", json={"name": "course site"}, headers=teacher)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"]["courses"] == ["tiny"] and body["key"]["scope"] == "read"
    assert body["key"]["created_by"] == "an LTI instructor of 'tiny'"
    client.put("/v1/courses/tiny/visibility", json={"visibility": "private"}, headers=teacher)
    bearer = {"Authorization": f"Bearer {body['token']}"}
    search = {"query": "what is mode collapse", "course": "tiny"}
    assert TestClient(app).post("/v1/search", json=search, headers=bearer).status_code == 403
    client.put("/v1/courses/tiny/visibility", json={"visibility": "lms"}, headers=teacher)
    assert TestClient(app).post("/v1/search", json=search, headers=bearer).status_code == 200

    [listed] = client.get("/v1/courses/tiny/keys", headers=teacher).json()["keys"]
    assert listed["id"] == body["key"]["id"] and "token" not in listed
    assert listed["last_used_at"] is not None
    revoked = client.delete(f"/v1/courses/tiny/keys/{listed['id']}", headers=teacher)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert TestClient(app).post("/v1/search", json=search, headers=bearer).status_code == 401


def test_an_instruct_key_may_do_what_an_instructor_does(client, app):
    token = client.post("/v1/courses/tiny/keys", json={"scope": "instruct"},
                        headers=ADMIN).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/courses/tiny/visibility", headers=bearer).json() == {
        "course": "tiny", "visibility": "public"}
    assert client.get("/v1/courses/other/keys", headers=bearer).status_code == 403


def test_students_and_strangers_may_not_manage_keys_or_visibility(client, app):
    student = lti_headers(app, role="student")
    for method, path, body in [("GET", "/v1/courses/tiny/keys", None),
                               ("POST", "/v1/courses/tiny/keys", {}),
                               ("PUT", "/v1/courses/tiny/visibility", {"visibility": "public"})]:
        assert client.request(method, path, json=body, headers=student).status_code == 403
        assert client.request(method, path, json=body, headers={}).status_code == 401


def test_a_key_of_two_courses_is_revoked_only_by_an_instructor_of_both(client, app):
    made = app.state.access.create_key(name="both", courses=["tiny", "other"], scope="read",
                                       created_by="admin")
    path = f"/v1/courses/tiny/keys/{made.key.id}"
    assert client.delete(path, headers=lti_headers(app)).status_code == 403
    assert client.delete(path, headers=ADMIN).status_code == 200


def test_bad_requests_name_the_field(client, app):
    teacher = lti_headers(app)
    bad = client.put("/v1/courses/tiny/visibility", json={"visibility": "secret"}, headers=teacher)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "visibility"
    assert client.post("/v1/courses/tiny/keys", json={"scope": "root"},
                       headers=teacher).status_code == 422
    assert client.delete("/v1/courses/tiny/keys/nope", headers=teacher).status_code == 404
