"""OIDC login state and nonces, kept server-side (table ``lti_logins``) with an expiry.

Each login initiation makes one row: a random ``state`` and ``nonce`` bound to the
platform it started with. At launch the state is used up first, then the id_token's nonce;
each works once. Rows are deleted a while after they expire, when new logins come in.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from studyhall.core.database import Database
from studyhall.core.errors import StudyhallError
from studyhall.core.schema import lti_logins

_LOGIN = (lti_logins.c.state, lti_logins.c.nonce, lti_logins.c.issuer, lti_logins.c.client_id,
          lti_logins.c.expires_at)


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
    """In the service's database, so that a login started on one replica is launched on
    another, and a state or nonce is used once across all of them."""

    def __init__(self, database: Database | Path | str, ttl_s: float = 600) -> None:
        self.db = Database.of(database)
        self.ttl_s = ttl_s

    def start(self, issuer: str, client_id: str) -> Login:
        now = time.time()
        login = Login(secrets.token_urlsafe(32), secrets.token_urlsafe(32), issuer, client_id,
                      now + self.ttl_s)
        with self.db.begin() as db:
            # Keep expired rows one more lifetime, so a late replay says "expired", not "unknown".
            db.execute(delete(lti_logins).where(lti_logins.c.expires_at < now - self.ttl_s))
            db.execute(insert(lti_logins).values(
                state=login.state, nonce=login.nonce, issuer=issuer, client_id=client_id,
                expires_at=login.expires_at))
        return login

    def find_state(self, state: str) -> Login:
        """The login of an unused, unexpired ``state``, left unused; raises :class:`LoginError`.
        A launch looks its state up first and uses it up only once the id_token verifies, so
        a forged token cannot burn someone's login."""
        with self.db.connect() as db:
            row = db.execute(select(*_LOGIN, lti_logins.c.state_used)
                             .where(lti_logins.c.state == state)).first()
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
        key, used = lti_logins.c[column], lti_logins.c[f"{column}_used"]
        with self.db.begin() as db:
            # One UPDATE, so of two requests racing with the same value only one wins,
            # on any replica: the database decides.
            updated = db.execute(update(lti_logins).where(key == value, used == 0)
                                 .values({used: 1})).rowcount
            row = db.execute(select(*_LOGIN).where(key == value)).first()
        if row is None:
            raise LoginError(f"unknown {column}")
        if not updated:
            raise LoginError(f"{column} already used")
        login = Login(*row)
        if login.expires_at < time.time():
            raise LoginError(f"{column} expired")
        return login
