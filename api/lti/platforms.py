"""The LMS platforms this tool trusts, in the service's SQLite file (table ``lti_platforms``).

A platform is identified by ``(issuer, client_id)``: one LMS may register the tool more than
once. Each names the deployments it may launch from, its OIDC and key endpoints, and which
studyhall course each of its course contexts opens (``context_courses``, else
``default_course``).
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.catalog import validate_course_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lti_platforms (
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    deployment_ids TEXT NOT NULL,
    auth_login_url TEXT NOT NULL,
    auth_token_url TEXT,
    jwks_url TEXT NOT NULL,
    context_courses TEXT NOT NULL,
    default_course TEXT,
    PRIMARY KEY (issuer, client_id)
);
"""


class Platform(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, description="The platform's `iss`, exactly as it sends it.")
    client_id: str = Field(min_length=1, description="The tool's client id on that platform.")
    deployment_ids: list[str] = Field(
        min_length=1, description="Deployments allowed to launch the tool.")
    auth_login_url: str = Field(description="The platform's OIDC authorisation endpoint.")
    auth_token_url: str | None = Field(None, description="OAuth2 token endpoint (services).")
    jwks_url: str = Field(description="Where the platform publishes its public keys.")
    context_courses: dict[str, str] = Field(
        default_factory=dict, description="Platform context id → studyhall course id.")
    default_course: str | None = Field(
        None, description="The course for a context not in `context_courses`.")

    @field_validator("auth_login_url", "auth_token_url", "jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and (urlparse(url).scheme not in ("http", "https")
                                or not urlparse(url).netloc):
            raise ValueError(f"must be an http(s) URL, got {url!r}")
        return url

    @field_validator("context_courses")
    @classmethod
    def _course_ids(cls, mapping: dict[str, str]) -> dict[str, str]:
        for course in mapping.values():
            validate_course_id(course)
        return mapping

    @field_validator("default_course")
    @classmethod
    def _default_course_id(cls, course: str | None) -> str | None:
        return None if course is None else validate_course_id(course)

    def course_for(self, context_id: str | None) -> str | None:
        """The studyhall course a launch from ``context_id`` opens, or None if unmapped."""
        if context_id is not None and context_id in self.context_courses:
            return self.context_courses[context_id]
        return self.default_course


class PlatformRegistry:
    def __init__(self, database: Path) -> None:
        self.path = Path(database)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            db.executescript(_SCHEMA)

    def add(self, platform: Platform) -> Platform:
        """Store ``platform``, replacing the one with the same (issuer, client_id)."""
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO lti_platforms VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (platform.issuer, platform.client_id, json.dumps(platform.deployment_ids),
                 platform.auth_login_url, platform.auth_token_url, platform.jwks_url,
                 json.dumps(platform.context_courses), platform.default_course),
            )
        return platform

    def get(self, issuer: str, client_id: str) -> Platform | None:
        rows = self._select("WHERE issuer = ? AND client_id = ?", (issuer, client_id))
        return rows[0] if rows else None

    def for_issuer(self, issuer: str) -> list[Platform]:
        return self._select("WHERE issuer = ?", (issuer,))

    def list(self) -> list[Platform]:
        return self._select("", ())

    def _select(self, where: str, args: tuple) -> list[Platform]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            rows = db.execute(
                f"SELECT * FROM lti_platforms {where} ORDER BY issuer, client_id", args
            ).fetchall()
        return [
            Platform(issuer=issuer, client_id=client_id, deployment_ids=json.loads(deployments),
                     auth_login_url=login, auth_token_url=token, jwks_url=jwks,
                     context_courses=json.loads(courses), default_course=default)
            for issuer, client_id, deployments, login, token, jwks, courses, default in rows
        ]


def add_platform(
    database: Path,
    *,
    issuer: str,
    client_id: str,
    deployment_ids: list[str],
    auth_login_url: str,
    jwks_url: str,
    auth_token_url: str | None = None,
    context_courses: dict[str, str] | None = None,
    default_course: str | None = None,
) -> Platform:
    """Register (or replace) a platform; for ``studyhall lti add-platform``.

    Raises ``pydantic.ValidationError`` (a ``ValueError``) naming the bad field.
    """
    platform = Platform(
        issuer=issuer, client_id=client_id, deployment_ids=deployment_ids,
        auth_login_url=auth_login_url, auth_token_url=auth_token_url, jwks_url=jwks_url,
        context_courses=context_courses or {}, default_course=default_course,
    )
    return PlatformRegistry(database).add(platform)


def load_platforms_file(path: Path) -> list[Platform]:
    """Read and validate platforms from a ``.json`` or ``.toml`` file (nothing is stored).

    JSON: ``{"platforms": [{...}, ...]}`` or a bare list. TOML: ``[[platforms]]`` tables,
    each with the fields of :class:`Platform`.
    """
    path = Path(path)
    if path.suffix == ".toml":
        data = tomllib.loads(path.read_text())
    elif path.suffix == ".json":
        data = json.loads(path.read_text())
    else:
        raise ValueError(f"platforms file must end in .json or .toml, got {path.name!r}")
    entries = data.get("platforms") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: expected a list of platforms under 'platforms'")
    return [Platform.model_validate(entry) for entry in entries]
