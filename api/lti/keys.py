"""Keys: the tool's own RSA key pair, and a cache of each platform's public keys.

The tool key lives in ``<data_dir>/lti/tool-key.pem`` (mode 0600), made on first use. Its
``kid`` is the key's RFC 7638 thumbprint, so it is the same after every restart and
changes only if the key file does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def read_or_create_private_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The bytes in ``path``; if it does not exist, write ``make()`` there first, mode 0600.

    Written to a private temporary file and linked into place, so a reader never sees half
    a file and, when two processes race, both end up with the winner's content.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(make())
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its file
            os.link(temporary, path)
    finally:
        temporary.unlink()
    return path.read_bytes()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ToolKey:
    """The tool's RS256 signing key and the public JWKS the platform verifies it with."""

    def __init__(self, path: Path) -> None:
        pem = read_or_create_private_file(Path(path), _new_private_pem)
        self.private_key = serialization.load_pem_private_key(pem, password=None)
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        # RFC 7638: SHA-256 over the required members, sorted, no whitespace.
        canonical = json.dumps({k: public[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())
        self.public_jwk = public | {"kid": self.kid, "alg": "RS256", "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256",
                          headers={"kid": self.kid, "typ": "JWT"})


def _new_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class PlatformKeys:
    """Each platform's JWKS, fetched over HTTP and cached ``lifespan_s`` seconds.

    A ``kid`` not in the cached set refetches the set once (a platform rotated its key),
    but not within ``refresh_cooldown_s`` of the last fetch, so a stream of made-up kids
    cannot turn into a stream of requests to the platform.
    """

    def __init__(self, lifespan_s: float = 300, refresh_cooldown_s: float = 5,
                 timeout_s: float = 5) -> None:
        self.lifespan_s = lifespan_s
        self.refresh_cooldown_s = refresh_cooldown_s
        self.timeout_s = timeout_s
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def signing_key(self, jwks_url: str, kid: str) -> jwt.PyJWK:
        """The key ``kid`` from ``jwks_url``. Raises ``jwt.PyJWKClientConnectionError`` when
        the set cannot be fetched, ``jwt.PyJWKClientError`` when ``kid`` is not in it."""
        with self._lock:
            client = self._clients.get(jwks_url)
            if client is None:
                client = self._clients[jwks_url] = jwt.PyJWKClient(
                    jwks_url, lifespan=self.lifespan_s, timeout=self.timeout_s,
                    cooldown_duration=self.refresh_cooldown_s)
        return client.get_signing_key(kid)
