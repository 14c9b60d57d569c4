"""Who may use the instructor endpoints: an LTI instructor of the course, or the admin.

Two kinds of credentials:

- an LTI launch session (the ``X-LTI-Session`` header or ``?lti=``, see
  :func:`api.lti.lti_session`) whose role is instructor and whose course is the one asked
  about;
- the server's admin token (``server.admin_token``), sent as ``Authorization: Bearer …``,
  good for every course.

No credentials, a wrong admin token, or a forged or expired session: 401. Credentials that
do not reach the course (a student's session, an instructor's of another course): 403.

A route with a ``{course}`` path parameter declares :data:`InstructorDep`; a route that
learns the course from its body declares :data:`CallerDep` and calls
``caller.require_instructor(course)`` once it has the body.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SettingsDep
from api.lti import LtiSession, LtiSessionDep

_bearer = HTTPBearer(
    auto_error=False, scheme_name="admin token",
    description="The server's admin token (STUDYHALL_SERVER__ADMIN_TOKEN).")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_HOW = ("open studyhall from your course in the LMS as an instructor (its session goes in the "
        "X-LTI-Session header or ?lti=), or send the admin token as 'Authorization: Bearer …'")


@dataclass(frozen=True)
class Caller:
    """Whoever sent the request: an LTI session, the admin, or both."""

    session: LtiSession | None
    admin: bool

    def require_instructor(self, course: str) -> None:
        """Return if the caller may act as an instructor of ``course``; 403 if not."""
        if self.admin:
            return
        session = self.session
        assert session is not None  # caller() lets nobody through without one or the other
        if session.role != "instructor":
            raise HTTPException(
                403, f"this needs an instructor of course {course!r}; the LTI session is a "
                f"{session.role}'s")
        if session.course != course:
            raise HTTPException(
                403, f"this LTI session is for course {session.course!r}, not {course!r}")


def caller(settings: SettingsDep, session: LtiSessionDep,
           bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The request's credentials, checked: 401 if there are none, or a token is wrong."""
    admin_token: str | None = settings.server.admin_token
    if bearer is not None:
        if admin_token is None:
            raise HTTPException(
                401, "this server has no admin token (set STUDYHALL_SERVER__ADMIN_TOKEN); "
                "open studyhall from your course in the LMS instead", headers=_CHALLENGE)
        if not hmac.compare_digest(bearer.credentials.encode(), admin_token.encode()):
            raise HTTPException(401, "wrong admin token", headers=_CHALLENGE)
        return Caller(session, admin=True)
    if session is None:
        raise HTTPException(401, f"instructor sign-in needed: {_HOW}", headers=_CHALLENGE)
    return Caller(session, admin=False)


CallerDep = Annotated[Caller, Depends(caller)]


def require_instructor(course: str, caller: CallerDep) -> Caller:
    """The caller, if they may act as an instructor of ``course`` (the path parameter)."""
    caller.require_instructor(course)
    return caller


InstructorDep = Annotated[Caller, Depends(require_instructor)]
