"""Who sent a request, from its headers: the one place credentials are read.

- ``X-LTI-Session: <token>``: the session an LTI launch handed the page;
- ``Authorization: Bearer <token>``: the admin token (``server.admin_token``) or an API key
  (``sh-…``; the official ``openai`` client sends its ``api_key`` this way). Any other
  bearer is a 401, except where OpenAI and MCP clients call (``foreign="ignore"``): they
  must send *some* key, so one that is not ours leaves the caller anonymous;
- ``X-Studyhall-Client``: a random id the chat page keeps, so an anonymous browser owns
  the conversations it starts (else the client's address stands in).

A token that is there but forged, expired or revoked is a 401 naming the problem, never
an anonymous caller: the page should ask the user to open the tool from the course again.
Session tokens are read from headers only, never from the query string (where they would
end up in access logs and browser history).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from api.access.policy import Grants, SessionGrant, may_instruct, may_read
from api.access.store import KEY_PREFIX, AccessStore, ApiKey, InvalidKey
from api.lti.service import LtiService
from api.lti.sessions import LtiSession
from studyhall.core.errors import Forbidden, Unauthorized
from studyhall.core.settings import Visibility

SESSION_HEADER = "x-lti-session"
CLIENT_HEADER = "x-studyhall-client"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
HOW_TO_SIGN_IN = ("open studyhall from your course in the LMS (its session goes in the "
                  "X-LTI-Session header), or send an API key or the admin token as "
                  "'Authorization: Bearer …'")


@dataclass(frozen=True)
class Caller:
    """Whoever sent the request: any of an LTI session, an API key, the admin."""

    session: LtiSession | None = None
    key: ApiKey | None = None
    admin: bool = False
    client: str = ""  # the anonymous browser's id, or the client's address
    address: str = ""  # the client's network address

    @property
    def grants(self) -> Grants:
        session = (SessionGrant(course=self.session.course,
                                instructor=self.session.role == "instructor")
                   if self.session is not None else None)
        return Grants(session=session, key=self.key.grant if self.key else None,
                      admin=self.admin)

    @property
    def owner(self) -> str:
        """Whose conversations these are: the LTI user, the key, the admin, or the browser."""
        if self.session is not None:
            return f"lti:{self.session.issuer}|{self.session.user}|{self.session.course}"
        if self.key is not None:
            return f"key:{self.key.id}"
        if self.admin:
            return "admin"
        return "anon:" + hashlib.sha256(self.client.encode()).hexdigest()[:32]

    @property
    def home_course(self) -> str | None:
        """The one course the caller's session, or single-course key, is for."""
        if self.session is not None:
            return self.session.course
        if self.key is not None and len(self.key.courses) == 1:
            return self.key.courses[0]
        return None

    @property
    def who(self) -> str:
        """The caller in a few words, for messages and logs (no secrets)."""
        if self.admin:
            return "the admin"
        if self.key is not None:
            return f"API key {self.key.id} ({self.key.scope})"
        if self.session is not None:
            return f"an LTI {self.session.role} of {self.session.course!r}"
        return "an anonymous caller"

    def may_read(self, course: str, visibility: Visibility) -> bool:
        return may_read(self.grants, course, visibility)

    def require_read(self, course: str, visibility: Visibility) -> None:
        if self.may_read(course, visibility):
            return
        if self.grants.anonymous:
            raise Unauthorized(f"course {course!r} is not public: {HOW_TO_SIGN_IN}")
        raise Forbidden(f"{self.who} may not read course {course!r}")

    def require_instructor(self, course: str) -> None:
        if may_instruct(self.grants, course):
            return
        if self.grants.anonymous:
            raise Unauthorized(f"this needs an instructor of course {course!r}: {HOW_TO_SIGN_IN}")
        raise Forbidden(f"this needs an instructor of course {course!r}; {self.who} is not one")


def resolve_caller(headers: Mapping[str, str], client_address: str, *, access: AccessStore,
                   lti: LtiService, admin_token: str | None,
                   foreign: Literal["refuse", "ignore"] = "refuse") -> Caller:
    """The caller the headers name (header names in any case). ``foreign``: what a bearer
    that is neither the admin token nor a studyhall key does."""
    lower = {name.lower(): value for name, value in headers.items()}
    session = None
    if token := lower.get(SESSION_HEADER, "").strip():
        session = lti.read_session(token)  # InvalidSession: 401
    key, admin = None, False
    scheme, _, bearer = lower.get("authorization", "").partition(" ")
    bearer = bearer.strip()
    if scheme.lower() == "bearer" and bearer:
        if admin_token is not None and hmac.compare_digest(bearer.encode(), admin_token.encode()):
            admin = True
        elif bearer.startswith(KEY_PREFIX):
            key = access.verify(bearer)  # InvalidKey: 401
        elif foreign == "refuse" and admin_token is None:
            raise Unauthorized("this server has no admin token (STUDYHALL_SERVER__ADMIN_TOKEN), "
                               "and the bearer is not a studyhall API key (sh-…)")
        elif foreign == "refuse":
            raise Unauthorized("wrong admin token, and not a studyhall API key (sh-…)")
    client = lower.get(CLIENT_HEADER, "")
    return Caller(session=session, key=key, admin=admin, address=client_address,
                  client=client if _CLIENT_ID.match(client) else client_address)


LOCAL_OPERATOR = Caller(admin=True, client="local")  # `studyhall mcp` over stdio

__all__ = ["Caller", "InvalidKey", "LOCAL_OPERATOR", "resolve_caller"]
