"""The platform registry on both engines, and platforms files in JSON or TOML."""

from __future__ import annotations

import json

import pytest

from api.lti import Platform, PlatformRegistry, add_platform, load_platforms_file

MOODLE = {
    "issuer": "https://moodle.example.edu", "client_id": "abc123",
    "deployment_ids": ["1", "2"],
    "auth_login_url": "https://moodle.example.edu/mod/lti/auth.php",
    "auth_token_url": "https://moodle.example.edu/mod/lti/token.php",
    "jwks_url": "https://moodle.example.edu/mod/lti/certs.php",
    "context_courses": {"17": "genai-basics"}, "default_course": "general",
}


def test_added_platform_is_found_by_issuer_and_client_id(database):
    added = add_platform(database, **MOODLE)

    registry = PlatformRegistry(database)
    assert registry.get(MOODLE["issuer"], "abc123") == added
    assert registry.get(MOODLE["issuer"], "someone-else") is None
    assert registry.list() == [added]


def test_adding_the_same_platform_again_replaces_it(database):
    add_platform(database, **MOODLE)
    add_platform(database, **MOODLE | {"deployment_ids": ["3"]})
    assert [p.deployment_ids for p in PlatformRegistry(database).list()] == [["3"]]


def test_one_issuer_may_hold_several_registrations(database):
    add_platform(database, **MOODLE)
    add_platform(database, **MOODLE | {"client_id": "def456"})
    assert len(PlatformRegistry(database).for_issuer(MOODLE["issuer"])) == 2


def test_http_is_allowed_on_localhost_only(tmp_path):
    local = add_platform(tmp_path / "studyhall.sqlite", **MOODLE | {
        "jwks_url": "http://127.0.0.1:8080/certs", "auth_login_url": "http://localhost/auth"})
    assert local.jwks_url.startswith("http://127.0.0.1")


def test_page_origins_default_to_the_auth_host_and_are_kept(database):
    assert add_platform(database, **MOODLE).page_origins == ["https://moodle.example.edu"]
    canvas = add_platform(database, **MOODLE | {
        "client_id": "canvas", "page_origins": ["https://school.instructure.com/"]})
    assert canvas.page_origins == ["https://school.instructure.com"]
    registry = PlatformRegistry(database)
    assert registry.get(MOODLE["issuer"], "canvas").page_origins == canvas.page_origins
    assert registry.page_origins("genai-basics") == ["https://moodle.example.edu",
                                                     "https://school.instructure.com"]
    assert registry.page_origins("another") == []


def test_a_database_from_before_page_origins_is_upgraded_in_place(tmp_path):
    import sqlite3

    database = tmp_path / "studyhall.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE lti_platforms (issuer TEXT NOT NULL, client_id TEXT NOT NULL, "
                   "deployment_ids TEXT NOT NULL, auth_login_url TEXT NOT NULL, auth_token_url "
                   "TEXT, jwks_url TEXT NOT NULL, context_courses TEXT NOT NULL, default_course "
                   "TEXT, PRIMARY KEY (issuer, client_id))")
        db.execute("INSERT INTO lti_platforms VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (MOODLE["issuer"], "abc123", '["1"]', MOODLE["auth_login_url"], None,
                    MOODLE["jwks_url"], '{"17": "genai-basics"}', None))
    [platform] = PlatformRegistry(database).list()
    assert platform.page_origins == [] and platform.course_for("17") == "genai-basics"


def test_course_for_a_context_falls_back_to_the_default(tmp_path):
    platform = Platform(**MOODLE)
    assert platform.course_for("17") == "genai-basics"
    assert platform.course_for("99") == "general"
    assert platform.model_copy(update={"default_course": None}).course_for("99") is None


@pytest.mark.parametrize("field, value, message", [
    ("jwks_url", "file:///etc/passwd", "https URL"),
    ("jwks_url", "http://moodle.example.edu/certs.php", "http only on localhost"),
    ("auth_login_url", "http://10.0.0.5/auth", "http only on localhost"),
    ("page_origins", ["https://school.instructure.com/courses/1"], "scheme://host"),
    ("deployment_ids", [], "at least 1"),
    ("default_course", "Not A Course!", "course id"),
    ("context_courses", {"17": "../escape"}, "course id"),
])
def test_bad_platform_is_refused_naming_the_value(tmp_path, field, value, message):
    with pytest.raises(ValueError, match=field) as error:
        add_platform(tmp_path / "studyhall.sqlite", **MOODLE | {field: value})
    assert message in str(error.value)


def test_platforms_file_in_json(tmp_path):
    path = tmp_path / "platforms.json"
    path.write_text(json.dumps({"platforms": [MOODLE]}))
    assert load_platforms_file(path) == [Platform(**MOODLE)]


def test_platforms_file_in_toml(tmp_path):
    path = tmp_path / "platforms.toml"
    path.write_text("""
[[platforms]]
issuer = "https://moodle.example.edu"
client_id = "abc123"
deployment_ids = ["1", "2"]
auth_login_url = "https://moodle.example.edu/mod/lti/auth.php"
auth_token_url = "https://moodle.example.edu/mod/lti/token.php"
jwks_url = "https://moodle.example.edu/mod/lti/certs.php"
default_course = "general"

[platforms.context_courses]
"17" = "genai-basics"
""")
    assert load_platforms_file(path) == [Platform(**MOODLE)]


def test_platforms_file_of_another_kind_is_refused(tmp_path):
    path = tmp_path / "platforms.yaml"
    path.write_text("platforms: []")
    with pytest.raises(ValueError, match=r"\.json or \.toml"):
        load_platforms_file(path)
