"""OIDC login state and nonces, kept server-side (table ``lti_logins``) with an expiry.

Each login initiation makes one row: a random ``state`` and ``nonce`` bound to the
platform it started with. At launch the state is used up first, then the id_token's nonce;
each works once. Rows are deleted a while after they expire, when new logins come in.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from studyhall.core.errors import StudyhallError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lti_logins (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL UNIQUE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    state_used INTEGER NOT NULL DEFAULT 0,
    nonce_used INTEGER NOT NULL DEFAULT 0
);
"""


class LoginError(StudyhallError):
    """The state or nonce is unknown, used or expired; the message says which."""

    kind = "unauthorized"


@dataclass(frozen=True)
class Login:
    state: str
    nonce: str
    issuer: str
    client_id: str
    expires_at: float


class LoginStore:
    def __init__(self, database: Path, ttl_s: float = 600) -> None:
        self.path = Path(database)
        self.ttl_s = ttl_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def start(self, issuer: str, client_id: str) -> Login:
        now = time.time()
        login = Login(secrets.token_urlsafe(32), secrets.token_urlsafe(32), issuer, client_id,
                      now + self.ttl_s)
        with closing(self._connect()) as db, db:
            # Keep expired rows one more lifetime, so a late replay says "expired", not "unknown".
            db.execute("DELETE FROM lti_logins WHERE expires_at < ?", (now - self.ttl_s,))
            db.execute(
                "INSERT INTO lti_logins (state, nonce, issuer, client_id, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (login.state, login.nonce, issuer, client_id, login.expires_at))
        return login

    def find_state(self, state: str) -> Login:
        """The login of an unused, unexpired ``state``, left unused; raises :class:`LoginError`.
        A launch looks its state up first and uses it up only once the id_token verifies, so
        a forged token cannot burn someone's login."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT state, nonce, issuer, client_id, expires_at, state_used FROM lti_logins "
                "WHERE state = ?", (state,)).fetchone()
        if row is None:
            raise LoginError("unknown state")
        if row[5]:
            raise LoginError("state already used")
        login = Login(*row[:5])
        if login.expires_at < time.time():
            raise LoginError("state expired")
        return login

    def use_state(self, state: str) -> Login:
        """Mark ``state`` used and return its login; raises :class:`LoginError`."""
        return self._use("state", state)

    def use_nonce(self, nonce: str) -> Login:
        """Mark ``nonce`` used and return its login; raises :class:`LoginError`."""
        return self._use("nonce", nonce)

    def _use(self, column: str, value: str) -> Login:
        with closing(self._connect()) as db, db:
            # One UPDATE, so of two requests racing with the same value only one wins.
            updated = db.execute(
                f"UPDATE lti_logins SET {column}_used = 1 WHERE {column} = ? AND {column}_used = 0",
                (value,)).rowcount
            row = db.execute(
                "SELECT state, nonce, issuer, client_id, expires_at FROM lti_logins "
                f"WHERE {column} = ?", (value,)).fetchone()
        if row is None:
            raise LoginError(f"unknown {column}")
        if not updated:
            raise LoginError(f"{column} already used")
        login = Login(*row)
        if login.expires_at < time.time():
            raise LoginError(f"{column} expired")
        return login
