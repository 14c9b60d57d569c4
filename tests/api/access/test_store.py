"""Course visibility and API keys, on both engines: keys are hashed, shown once,
revocable, and record when they were last used."""

import pytest
import sqlalchemy as sa

from api.access.store import KEY_PREFIX, AccessStore, InvalidKey
from studyhall.core.errors import NotFound, UsageError


@pytest.fixture
def store(database) -> AccessStore:
    return AccessStore(database)


def test_a_course_without_a_setting_has_the_default_visibility(tmp_path, store):
    assert store.visibility("gan") == "lms"
    store.set_visibility("gan", "public")  # set twice: the second replaces the first
    assert AccessStore(tmp_path / "other.sqlite", default_visibility="public").visibility(
        "gan") == "public"
    store.set_visibility("gan", "private")
    assert store.visibility("gan") == "private" and store.visibility("vae") == "lms"


@pytest.mark.parametrize(("course", "visibility", "message"), [
    ("gan", "secret", "visibility must be one of public, lms, private"),
    ("../etc", "public", "course id must be"),
])
def test_a_bad_visibility_or_course_is_refused(store, course, visibility, message):
    with pytest.raises(ValueError, match=message):
        store.set_visibility(course, visibility)


def test_a_key_is_shown_once_and_stored_hashed(database, store):
    made = store.create_key(name="course site", courses=["gan"], scope="read", created_by="cli")
    assert made.token.startswith(f"{KEY_PREFIX}{made.key.id}-")
    secret = made.token.rsplit("-", 1)[1]
    with database.connect() as db:
        stored = db.execute(sa.text("SELECT * FROM api_keys")).all()
    assert secret not in repr(stored) and made.token not in repr(stored)
    assert store.verify(made.token).id == made.key.id
    assert store.key(made.key.id).last_used_at is not None


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # a wrong secret
    lambda t: KEY_PREFIX + "000000000000-" + t.rsplit("-", 1)[1],  # another id
    lambda t: KEY_PREFIX, lambda t: KEY_PREFIX + "abc", lambda t: t.rsplit("-", 1)[0] + "-",
])
def test_a_forged_key_is_refused(store, tamper):
    made = store.create_key(name="x", courses=["gan"], scope="read", created_by="cli")
    with pytest.raises(InvalidKey, match="unknown API key"):
        store.verify(tamper(made.token))


def test_a_revoked_key_is_refused_and_listed_as_revoked(store):
    made = store.create_key(name="x", courses=["gan", "vae"], scope="instruct", created_by="cli")
    store.revoke(made.key.id)
    with pytest.raises(InvalidKey, match="revoked"):
        store.verify(made.token)
    [listed] = store.keys("vae")
    assert listed.revoked_at is not None and store.keys("other") == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"courses": []}, "at least one course"),
    ({"courses": ["Bad Id"]}, "course id must be"),
    ({"scope": "admin"}, "scope must be read or instruct"),
])
def test_a_bad_key_request_is_refused_naming_the_field(store, kwargs, message):
    with pytest.raises(UsageError, match=message):
        store.create_key(**({"name": "x", "courses": ["gan"], "scope": "read",
                             "created_by": "cli"} | kwargs))


def test_revoking_an_unknown_key_is_not_found(store):
    with pytest.raises(NotFound):
        store.revoke("nope")
