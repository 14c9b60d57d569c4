"""The LMS platforms this tool trusts, in the service's database (table ``lti_platforms``).

A platform is identified by ``(issuer, client_id)``: one LMS may register the tool more than
once. Each names the deployments it may launch from, its OIDC and key endpoints, which
studyhall course each of its course contexts opens (``context_courses``, else
``default_course``, as a student only), and the origins of its course pages
(``page_origins``), which alone may frame the pages a launch opens (Canvas and Moodle
launch tools in an iframe; the platform's auth host is not always its pages' host).
Platform URLs must be https, except on localhost.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from ingest.catalog import validate_course_id
from studyhall.core.database import Database
from studyhall.core.schema import lti_platforms

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _secure_url(url: str) -> str:
    """``url`` if it is https, or http on localhost; else ValueError naming it."""
    parsed = urlparse(url)
    if not parsed.netloc or parsed.scheme not in ("http", "https"):
        raise ValueError(f"must be an https URL, got {url!r}")
    if parsed.scheme == "http" and parsed.hostname not in _LOCAL_HOSTS:
        raise ValueError(f"must be https (http only on localhost), got {url!r}")
    return url


def origin_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


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
        None, description="The course for a context not in `context_courses` (opened as a "
        "student: an unmapped context never makes anyone an instructor of it).")
    page_origins: list[str] = Field(
        default_factory=list, description="Origins of the platform's course pages, which may "
        "frame the pages a launch opens, e.g. https://school.instructure.com.")

    @field_validator("auth_login_url", "auth_token_url", "jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        return None if url is None else _secure_url(url)

    @field_validator("page_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        cleaned = []
        for entry in origins:
            origin = _secure_url(entry.strip().rstrip("/"))
            if origin != origin_of(origin):
                raise ValueError(f"a page origin is scheme://host[:port], got {entry!r}")
            cleaned.append(origin)
        return cleaned

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

    def maps(self, context_id: str | None) -> bool:
        """Whether ``context_id`` is one of the contexts the platform mapped to a course."""
        return context_id is not None and context_id in self.context_courses

    def course_for(self, context_id: str | None) -> str | None:
        """The studyhall course a launch from ``context_id`` opens, or None if unmapped."""
        if context_id is not None and context_id in self.context_courses:
            return self.context_courses[context_id]
        return self.default_course


class PlatformRegistry:
    def __init__(self, database: Database | Path | str) -> None:
        self.db = Database.of(database)

    def add(self, platform: Platform) -> Platform:
        """Store ``platform``, replacing the one with the same (issuer, client_id)."""
        row = {"issuer": platform.issuer, "client_id": platform.client_id,
               "deployment_ids": json.dumps(platform.deployment_ids),
               "auth_login_url": platform.auth_login_url,
               "auth_token_url": platform.auth_token_url, "jwks_url": platform.jwks_url,
               "context_courses": json.dumps(platform.context_courses),
               "default_course": platform.default_course,
               "page_origins": json.dumps(platform.page_origins)}
        with self.db.begin() as db:
            db.execute(self.db.upsert(lti_platforms, row, keys=["issuer", "client_id"]))
        return platform

    def get(self, issuer: str, client_id: str) -> Platform | None:
        rows = self._select(lti_platforms.c.issuer == issuer,
                            lti_platforms.c.client_id == client_id)
        return rows[0] if rows else None

    def for_issuer(self, issuer: str) -> list[Platform]:
        return self._select(lti_platforms.c.issuer == issuer)

    def list(self) -> list[Platform]:
        return self._select()

    def _select(self, *where) -> list[Platform]:
        table = lti_platforms
        with self.db.connect() as db:
            rows = db.execute(select(table).where(*where)
                              .order_by(table.c.issuer, table.c.client_id)).all()
        return [
            Platform(issuer=r.issuer, client_id=r.client_id,
                     deployment_ids=json.loads(r.deployment_ids),
                     auth_login_url=r.auth_login_url, auth_token_url=r.auth_token_url,
                     jwks_url=r.jwks_url, context_courses=json.loads(r.context_courses),
                     default_course=r.default_course, page_origins=json.loads(r.page_origins))
            for r in rows
        ]

    def page_origins(self, course: str) -> list[str]:
        """The page origins of every platform that can launch ``course``: who may frame it."""
        origins: list[str] = []
        for platform in self.list():
            if course in platform.context_courses.values() or course == platform.default_course:
                origins += [o for o in platform.page_origins if o not in origins]
        return origins


def add_platform(
    database: Database | Path | str,
    *,
    issuer: str,
    client_id: str,
    deployment_ids: list[str],
    auth_login_url: str,
    jwks_url: str,
    auth_token_url: str | None = None,
    context_courses: dict[str, str] | None = None,
    default_course: str | None = None,
    page_origins: list[str] | None = None,
) -> Platform:
    """Register (or replace) a platform; for ``studyhall lti add-platform``.

    Without ``page_origins``, the origin of the auth endpoint stands for the course pages
    (right for Moodle; Canvas serves its pages from each school's own host).

    Raises ``pydantic.ValidationError`` (a ``ValueError``) naming the bad field.
    """
    platform = Platform(
        issuer=issuer, client_id=client_id, deployment_ids=deployment_ids,
        auth_login_url=auth_login_url, auth_token_url=auth_token_url, jwks_url=jwks_url,
        context_courses=context_courses or {}, default_course=default_course,
        page_origins=page_origins or [origin_of(auth_login_url)],
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
