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
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
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


class KeyUnavailable(Exception):
    """No usable platform key for a launch; the message says why (safe to show)."""


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float
    refetched_at: float = float("-inf")  # last refetch for an unknown kid


class PlatformKeys:
    """Each platform's JWKS, fetched over HTTP and cached ``lifespan_s`` seconds.

    A ``kid`` not in the cached set refetches it once (the platform rotated its key), then
    not again within ``refresh_cooldown_s``, so a stream of made-up kids cannot become a
    stream of requests to the platform. The cooldown counts from the last refetch for an
    unknown kid, not from the regular fetch: a launch right after a rotation, with the old
    set just cached, still gets the new key. Only RSA keys meant for signing are used
    (launches are RS256); a kid naming any other key is refused.
    """

    def __init__(self, lifespan_s: float = 300, refresh_cooldown_s: float = 5,
                 timeout_s: float = 5) -> None:
        self.lifespan_s = lifespan_s
        self.refresh_cooldown_s = refresh_cooldown_s
        self.timeout_s = timeout_s
        self._sets: dict[str, _KeySet] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def signing_key(self, jwks_url: str, kid: str) -> jwt.PyJWK:
        """The RSA key ``kid`` of ``jwks_url``, or :class:`KeyUnavailable`."""
        with self._lock:
            now = time.monotonic()
            cached = self._sets.get(jwks_url)
            if cached is None or now - cached.fetched_at > self.lifespan_s:
                cached = self._sets[jwks_url] = self._fetch(jwks_url, now)
            if kid not in cached.keys and now - cached.refetched_at >= self.refresh_cooldown_s:
                cached = self._sets[jwks_url] = self._fetch(jwks_url, now)
                cached.refetched_at = now
            key = cached.keys.get(kid)
        if key is None:
            raise KeyUnavailable(f"no platform key with kid {kid[:40]!r}")
        return key

    def _fetch(self, jwks_url: str, now: float) -> _KeySet:
        self.fetches += 1
        try:
            with urllib.request.urlopen(jwks_url, timeout=self.timeout_s) as response:
                document = json.loads(response.read(1 << 20))
        except (OSError, ValueError) as exc:
            raise KeyUnavailable("could not fetch the platform's keys") from exc
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig" or entry.get(
                    "alg", "RS256") != "RS256":
                continue  # launches are RS256: any other key cannot sign one
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError:
                continue
        return _KeySet(keys=keys, fetched_at=now)
