"""The short-lived session a launch hands to the chat page: an HS256 token, no cookie.

The token travels as ``?lti=<token>`` or the ``X-LTI-Session`` header, so a browser that
blocks third-party cookies in the LMS iframe still works. It is signed with a secret kept
in ``<data_dir>/lti/session.secret`` (mode 0600), so sessions survive a restart.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from api.lti.claims import Role
from api.lti.keys import read_or_create_private_file
from studyhall.core.errors import StudyhallError

_AUDIENCE = "studyhall:lti-session"


@dataclass(frozen=True)
class LtiSession:
    course: str
    role: Role
    user: str  # the platform's `sub`; "" for an anonymous launch
    issuer: str
    context_id: str | None
    expires_at: int


class InvalidSession(StudyhallError):
    """A session token that is forged, or has expired."""

    kind = "unauthorized"


class SessionSigner:
    def __init__(self, secret_path: Path, ttl_s: int = 3600) -> None:
        self.secret = read_or_create_private_file(Path(secret_path),
                                                  lambda: secrets.token_hex(32).encode())
        self.ttl_s = ttl_s

    def issue(self, *, course: str, role: Role, user: str, issuer: str,
              context_id: str | None) -> str:
        now = int(time.time())
        claims = {"aud": _AUDIENCE, "iat": now, "exp": now + self.ttl_s, "course": course,
                  "role": role, "sub": user, "platform": issuer, "context": context_id}
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def read(self, token: str) -> LtiSession:
        """The session in ``token``; raises :class:`InvalidSession` if forged or expired."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], audience=_AUDIENCE,
                                options={"require": ["exp", "iat", "aud"]})
        except jwt.ExpiredSignatureError as exc:
            raise InvalidSession("LTI session expired; open the tool from your course again") \
                from exc
        except jwt.PyJWTError as exc:
            raise InvalidSession("invalid LTI session") from exc
        return LtiSession(course=claims["course"], role=claims["role"], user=claims["sub"],
                          issuer=claims["platform"], context_id=claims["context"],
                          expires_at=claims["exp"])
