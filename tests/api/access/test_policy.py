"""Who may read which course and instruct it, as a table."""

import pytest

from api.access.policy import Grants, KeyGrant, SessionGrant, may_instruct, may_read

ANYONE = Grants()
STUDENT = Grants(session=SessionGrant("gan", instructor=False))
TEACHER = Grants(session=SessionGrant("gan", instructor=True))
TEACHER_ELSEWHERE = Grants(session=SessionGrant("vae", instructor=True))
READ_KEY = Grants(key=KeyGrant(frozenset({"gan"}), "read"))
OTHER_KEY = Grants(key=KeyGrant(frozenset({"vae"}), "instruct"))
INSTRUCT_KEY = Grants(key=KeyGrant(frozenset({"gan", "vae"}), "instruct"))
ADMIN = Grants(admin=True)


@pytest.mark.parametrize(("grants", "public", "lms", "private", "instruct"), [
    (ANYONE, True, False, False, False),
    (STUDENT, True, True, False, False),
    (TEACHER, True, True, True, True),
    (TEACHER_ELSEWHERE, True, False, False, False),
    (READ_KEY, True, True, False, False),
    (OTHER_KEY, True, False, False, False),
    (INSTRUCT_KEY, True, True, True, True),
    (ADMIN, True, True, True, True),
    (Grants(session=SessionGrant("vae", instructor=False),
            key=KeyGrant(frozenset({"gan"}), "read")), True, True, False, False),
], ids=["anonymous", "student", "instructor", "instructor-elsewhere", "read-key",
        "other-course-key", "instruct-key", "admin", "session-and-key"])
def test_each_caller_on_the_course_gan(grants, public, lms, private, instruct):
    assert may_read(grants, "gan", "public") is public
    assert may_read(grants, "gan", "lms") is lms
    assert may_read(grants, "gan", "private") is private
    assert may_instruct(grants, "gan") is instruct


def test_anonymous_means_no_credentials_at_all():
    assert ANYONE.anonymous and not STUDENT.anonymous and not ADMIN.anonymous
