"""What access is stored: each course's visibility, and the API keys (tables
``course_access`` and ``api_keys`` of the service's database, shared by every replica).

An API key is ``sh-<id>-<secret>``. Only the secret's SHA-256 is kept (the secret is 256
random bits, so a fast hash is enough), the whole key is shown once, when it is made, and
each use records when it was last used. A revoked key stays listed, marked revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from sqlalchemy import insert, select, update

from api.access.policy import KeyGrant, Scope
from ingest.catalog import validate_course_id
from studyhall.core.database import Database
from studyhall.core.errors import InvalidRequest, NotFound, StudyhallError
from studyhall.core.schema import api_keys, course_access
from studyhall.core.settings import Visibility

KEY_PREFIX = "sh-"
_TOUCH_EVERY_S = 60  # last-used time is written at most once a minute per key



class InvalidKey(StudyhallError):
    """A bearer that looks like a studyhall API key but is not a live one."""

    kind = "unauthorized"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    courses: tuple[str, ...]
    scope: Scope
    created_at: float
    created_by: str
    last_used_at: float | None = None
    revoked_at: float | None = None

    @property
    def grant(self) -> KeyGrant:
        return KeyGrant(courses=frozenset(self.courses), scope=self.scope)


@dataclass(frozen=True)
class NewKey:
    """A key just made: the only time its secret is known."""

    key: ApiKey
    token: str


class AccessStore:
    def __init__(self, database: Database | Path | str, *,
                 default_visibility: Visibility = "lms") -> None:
        self.db = Database.of(database)
        self.default_visibility = default_visibility

    # --- course visibility ---------------------------------------------------------

    def visibility(self, course: str) -> Visibility:
        with self.db.connect() as db:
            found = db.execute(select(course_access.c.visibility)
                               .where(course_access.c.course == course)).scalar()
        return found or self.default_visibility

    def set_visibility(self, course: str, visibility: str) -> Visibility:
        validate_course_id(course)
        if visibility not in get_args(Visibility):
            raise InvalidRequest("visibility", f"visibility must be one of "
                                 f"{', '.join(get_args(Visibility))}, got {visibility!r}")
        row = {"course": course, "visibility": visibility, "updated_at": time.time()}
        with self.db.begin() as db:
            db.execute(self.db.upsert(course_access, row, keys=["course"]))
        return visibility  # type: ignore[return-value]

    # --- API keys -------------------------------------------------------------------

    def create_key(self, *, name: str, courses: list[str], scope: str,
                   created_by: str) -> NewKey:
        if not courses:
            raise InvalidRequest("courses", "a key needs at least one course")
        for course in courses:
            validate_course_id(course)
        if scope not in get_args(Scope):
            raise InvalidRequest("scope", f"scope must be read or instruct, got {scope!r}")
        name = " ".join(name.split())[:100] or "unnamed"
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(id=key_id, name=name, courses=tuple(dict.fromkeys(courses)),
                     scope=scope, created_at=time.time(),  # type: ignore[arg-type]
                     created_by=created_by)
        with self.db.begin() as db:
            db.execute(insert(api_keys).values(
                id=key.id, secret_sha256=_digest(secret), name=key.name,
                courses=json.dumps(list(key.courses)), scope=key.scope,
                created_at=key.created_at, created_by=created_by))
        return NewKey(key=key, token=f"{KEY_PREFIX}{key_id}-{secret}")

    def verify(self, token: str) -> ApiKey:
        """The live key ``token`` is, or :class:`InvalidKey` saying why it is not."""
        key_id, _, secret = token.removeprefix(KEY_PREFIX).partition("-")
        row = self._row(key_id) if key_id and secret else None
        if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            raise InvalidKey("unknown API key")
        key = _key(row)
        if key.revoked_at is not None:
            raise InvalidKey(f"API key {key.id} was revoked")
        if key.last_used_at is None or time.time() - key.last_used_at > _TOUCH_EVERY_S:
            with self.db.begin() as db:
                db.execute(update(api_keys).where(api_keys.c.id == key.id)
                           .values(last_used_at=time.time()))
        return key

    def revoke(self, key_id: str) -> ApiKey:
        key = self.key(key_id)
        if key.revoked_at is None:
            with self.db.begin() as db:
                db.execute(update(api_keys).where(api_keys.c.id == key_id)
                           .values(revoked_at=time.time()))
        return self.key(key_id)

    def key(self, key_id: str) -> ApiKey:
        row = self._row(key_id)
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return _key(row)

    def keys(self, course: str | None = None) -> list[ApiKey]:
        """Every key, newest first; with ``course``, the keys that reach it."""
        with self.db.connect() as db:
            rows = db.execute(select(api_keys).order_by(api_keys.c.created_at.desc())).all()
        found = [_key(row) for row in rows]
        return [k for k in found if course is None or course in k.courses]

    def _row(self, key_id: str):
        with self.db.connect() as db:
            return db.execute(select(api_keys).where(api_keys.c.id == key_id)).first()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row) -> ApiKey:
    return ApiKey(id=row.id, name=row.name, courses=tuple(json.loads(row.courses)),
                  scope=row.scope, created_at=row.created_at, created_by=row.created_by,
                  last_used_at=row.last_used_at, revoked_at=row.revoked_at)
