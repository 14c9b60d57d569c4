"""The platform registry in SQLite, and platforms files in JSON or TOML."""

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


def test_added_platform_is_found_by_issuer_and_client_id(tmp_path):
    database = tmp_path / "studyhall.sqlite"
    added = add_platform(database, **MOODLE)

    registry = PlatformRegistry(database)
    assert registry.get(MOODLE["issuer"], "abc123") == added
    assert registry.get(MOODLE["issuer"], "someone-else") is None
    assert registry.list() == [added]


def test_adding_the_same_platform_again_replaces_it(tmp_path):
    database = tmp_path / "studyhall.sqlite"
    add_platform(database, **MOODLE)
    add_platform(database, **MOODLE | {"deployment_ids": ["3"]})
    assert [p.deployment_ids for p in PlatformRegistry(database).list()] == [["3"]]


def test_one_issuer_may_hold_several_registrations(tmp_path):
    database = tmp_path / "studyhall.sqlite"
    add_platform(database, **MOODLE)
    add_platform(database, **MOODLE | {"client_id": "def456"})
    assert len(PlatformRegistry(database).for_issuer(MOODLE["issuer"])) == 2


def test_course_for_a_context_falls_back_to_the_default(tmp_path):
    platform = Platform(**MOODLE)
    assert platform.course_for("17") == "genai-basics"
    assert platform.course_for("99") == "general"
    assert platform.model_copy(update={"default_course": None}).course_for("99") is None


@pytest.mark.parametrize("field, value, message", [
    ("jwks_url", "file:///etc/passwd", "http(s) URL"),
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
