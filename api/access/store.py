"""What access is stored: each course's visibility, and the API keys (SQLite, in the
service's database file, tables ``course_access`` and ``api_keys``).

An API key is ``sh-<id>-<secret>``. Only the secret's SHA-256 is kept (the secret is 256
random bits, so a fast hash is enough), the whole key is shown once, when it is made, and
each use records when it was last used. A revoked key stays listed, marked revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from api.access.policy import KeyGrant, Scope
from ingest.catalog import validate_course_id
from studyhall.core.errors import InvalidRequest, NotFound, StudyhallError
from studyhall.core.settings import Visibility

KEY_PREFIX = "sh-"
_TOUCH_EVERY_S = 60  # last-used time is written at most once a minute per key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS course_access (
    course TEXT PRIMARY KEY,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'lms', 'private')),
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    courses TEXT NOT NULL,             -- JSON list of course ids
    scope TEXT NOT NULL CHECK (scope IN ('read', 'instruct')),
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at REAL,
    revoked_at REAL
);
"""


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
    def __init__(self, database: Path, *, default_visibility: Visibility = "lms") -> None:
        self.path = Path(database)
        self.default_visibility = default_visibility
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    # --- course visibility ---------------------------------------------------------

    def visibility(self, course: str) -> Visibility:
        with closing(self._connect()) as db:
            row = db.execute("SELECT visibility FROM course_access WHERE course = ?",
                             (course,)).fetchone()
        return row[0] if row else self.default_visibility

    def set_visibility(self, course: str, visibility: str) -> Visibility:
        validate_course_id(course)
        if visibility not in get_args(Visibility):
            raise InvalidRequest("visibility", f"visibility must be one of "
                                 f"{', '.join(get_args(Visibility))}, got {visibility!r}")
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO course_access VALUES (?, ?, ?)",
                       (course, visibility, time.time()))
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
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO api_keys (id, secret_sha256, name, courses, scope, "
                       "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key.id, _digest(secret), key.name, json.dumps(list(key.courses)),
                        key.scope, key.created_at, created_by))
        return NewKey(key=key, token=f"{KEY_PREFIX}{key_id}-{secret}")

    def verify(self, token: str) -> ApiKey:
        """The live key ``token`` is, or :class:`InvalidKey` saying why it is not."""
        key_id, _, secret = token.removeprefix(KEY_PREFIX).partition("-")
        row = self._row(key_id) if key_id and secret else None
        if row is None or not hmac.compare_digest(row[1], _digest(secret)):
            raise InvalidKey("unknown API key")
        key = _key(row)
        if key.revoked_at is not None:
            raise InvalidKey(f"API key {key.id} was revoked")
        if key.last_used_at is None or time.time() - key.last_used_at > _TOUCH_EVERY_S:
            with closing(self._connect()) as db, db:
                db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?",
                           (time.time(), key.id))
        return key

    def revoke(self, key_id: str) -> ApiKey:
        key = self.key(key_id)
        if key.revoked_at is None:
            with closing(self._connect()) as db, db:
                db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?",
                           (time.time(), key_id))
        return self.key(key_id)

    def key(self, key_id: str) -> ApiKey:
        row = self._row(key_id)
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return _key(row)

    def keys(self, course: str | None = None) -> list[ApiKey]:
        """Every key, newest first; with ``course``, the keys that reach it."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM api_keys ORDER BY created_at DESC").fetchall()
        found = [_key(row) for row in rows]
        return [k for k in found if course is None or course in k.courses]

    def _row(self, key_id: str):
        with closing(self._connect()) as db:
            return db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row) -> ApiKey:
    key_id, _, name, courses, scope, created, created_by, used, revoked = row
    return ApiKey(id=key_id, name=name, courses=tuple(json.loads(courses)), scope=scope,
                  created_at=created, created_by=created_by, last_used_at=used,
                  revoked_at=revoked)
