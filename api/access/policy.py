"""Who may read which course, and who may act as its instructor: pure decisions over plain
values, tested as a table (``tests/api/access/test_policy.py``).

A course is ``public`` (anyone), ``lms`` (a valid LTI session of that course, or an API
key scoped to it) or ``private`` (its instructors and the admin). A caller is anonymous,
an LTI launch session (one course, a role), an API key (its courses, a scope: ``read``
or ``instruct``) or the admin token; a request may carry a session and a key at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from studyhall.core.settings import Visibility

Scope = Literal["read", "instruct"]


@dataclass(frozen=True)
class SessionGrant:
    """What an LTI launch session grants: one course, as a student or an instructor."""

    course: str
    instructor: bool


@dataclass(frozen=True)
class KeyGrant:
    """What an API key grants: its courses, read only or as their instructor."""

    courses: frozenset[str]
    scope: Scope


@dataclass(frozen=True)
class Grants:
    session: SessionGrant | None = None
    key: KeyGrant | None = None
    admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.session is None and self.key is None and not self.admin


def may_instruct(grants: Grants, course: str) -> bool:
    """Upload to it, run and read its evals, manage its keys and visibility."""
    session, key = grants.session, grants.key
    return (grants.admin
            or (session is not None and session.instructor and session.course == course)
            or (key is not None and key.scope == "instruct" and course in key.courses))


def may_read(grants: Grants, course: str, visibility: Visibility) -> bool:
    """Search it, ask it, see that it exists."""
    if visibility == "public" or may_instruct(grants, course):
        return True
    if visibility == "private":
        return False
    session, key = grants.session, grants.key
    return ((session is not None and session.course == course)
            or (key is not None and course in key.courses))
