"""Who may read which course and act as its instructor, for every route and MCP tool.

Start at :mod:`api.access.policy` (the decisions, pure), then :mod:`api.access.callers`
(who sent a request, from its headers) and :mod:`api.access.store` (course visibility
and API keys, in SQLite). Routes declare :data:`CallerDep` and ask the caller:

    caller.require_read(course, access.visibility(course))   # 401 / 403 otherwise
    caller.require_instructor(course)

A route with a ``{course}`` path parameter that needs an instructor declares
:data:`InstructorDep` instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.access.callers import Caller, resolve_caller
from api.access.ratelimit import RateLimits
from api.access.store import AccessStore
from api.deps import SettingsDep
from ingest.catalog import Catalog, UnknownCourse

# Declared so /openapi.json names both ways to sign in (and a fuzzer can send them); the
# values are read in resolve_caller, from the headers, like every other credential.
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="An API key (sh-…) or the admin token.")
_session = APIKeyHeader(name="X-LTI-Session", auto_error=False, scheme_name="lti-session",
                        description="The session an LTI launch handed the page.")


def get_access(request: Request) -> AccessStore:
    return request.app.state.access


AccessDep = Annotated[AccessStore, Depends(get_access)]


def get_caller(request: Request, settings: SettingsDep, access: AccessDep,
               _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
               _session: Annotated[str | None, Depends(_session)]) -> Caller:
    return resolve_caller(request.headers, request.client.host if request.client else "",
                          access=access, lti=request.app.state.lti,
                          admin_token=settings.server.admin_token)


def get_client_caller(request: Request, settings: SettingsDep, access: AccessDep,
                      _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                      _session: Annotated[str | None, Depends(_session)]) -> Caller:
    """The caller of a route that OpenAI clients call: they must send some api_key, so a
    bearer that is not ours leaves the caller anonymous instead of refusing them."""
    return resolve_caller(request.headers, request.client.host if request.client else "",
                          access=access, lti=request.app.state.lti,
                          admin_token=settings.server.admin_token, foreign="ignore")


CallerDep = Annotated[Caller, Depends(get_caller)]
ClientCallerDep = Annotated[Caller, Depends(get_client_caller)]


def require_instructor(course: str, caller: CallerDep) -> Caller:
    """The caller, if they may act as an instructor of ``course`` (the path parameter)."""
    caller.require_instructor(course)
    return caller


InstructorDep = Annotated[Caller, Depends(require_instructor)]


def get_limits(request: Request) -> RateLimits:
    return request.app.state.limits


LimitsDep = Annotated[RateLimits, Depends(get_limits)]


def readable_courses(caller: Caller, access: AccessStore, course_ids: list[str]) -> list[str]:
    """The courses of ``course_ids`` the caller may read (and so may know exist)."""
    return [c for c in course_ids if caller.may_read(c, access.visibility(c))]


def require_reader(caller: Caller, access: AccessStore, catalog: Catalog, course: str) -> None:
    """Return if the caller may read ``course``. An unknown course is a 404 that lists the
    courses the caller may read; a course they may not read, 401 or 403."""
    known = catalog.course_ids()
    if course not in known:
        raise UnknownCourse(course, readable_courses(caller, access, known))
    caller.require_read(course, access.visibility(course))


__all__ = ["AccessDep", "AccessStore", "Caller", "CallerDep", "ClientCallerDep", "InstructorDep",
           "LimitsDep",
           "readable_courses", "require_instructor", "require_reader"]
